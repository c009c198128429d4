"""Say whether a trusted Authentication-Results header (RFC 8601) proves that a mail comes from a domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import authres

__all__ = ["from_domain_pass", "verified_domain_pass"]

# (method, the properties whose domain must equal the agent's), strongest proof first: a DKIM signature
# covers the content (RFC 6376, header.d is the signing domain); SPF only vouches for the sending host.
_PROOFS = (
    ("dkim", (("header", "d"),)),
    ("spf", (("smtp", "mailfrom"), ("header", "from"))),
)
# What shows that the From header's domain sent the mail (RFC 7489): DMARC passed for it, or a DKIM signature of
# that very domain (aligned). SPF alone says nothing of the From header.
_FROM_PROOFS = (
    ("dmarc", (("header", "from"),)),
    ("dkim", (("header", "d"),)),
)


def verified_domain_pass(headers: Sequence[str], trusted_authserv_ids: Collection[str], domain: str) -> str | None:
    """``"dkim"`` or ``"spf"``: the method by which a trusted header proves ``domain``, or None.

    ``headers`` are the values of every Authentication-Results field of the mail.  Only those whose
    authserv-id is in ``trusted_authserv_ids`` count (case-insensitive); a malformed one counts as absent.
    The trust is only as good as the border MTA: RFC 8601 §5 requires it to remove incoming copies that
    bear its own authserv-id, or a sender could write "dkim=pass" for us.
    """
    return _first_pass(headers, trusted_authserv_ids, domain, _PROOFS)


def from_domain_pass(headers: Sequence[str], trusted_authserv_ids: Collection[str], domain: str) -> str | None:
    """``"dmarc"`` or ``"dkim"`` when a trusted header shows that ``domain``, the From address's, sent the mail
    (DMARC pass, or a DKIM signature of that domain); None otherwise. Trusted as in `verified_domain_pass`."""
    return _first_pass(headers, trusted_authserv_ids, domain, _FROM_PROOFS)


def _first_pass(headers: Sequence[str], trusted_authserv_ids: Collection[str], domain: str,
                proofs: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str | None:
    """The first of `proofs` (method, properties naming the domain) that a trusted header passes for `domain`."""
    trusted = {server.lower() for server in trusted_authserv_ids}
    wanted = _bare_domain(domain)
    if not wanted or not trusted:
        return None
    results = [result for value in headers for result in _trusted_results(value, trusted)]
    for method, properties in proofs:
        for result in results:
            if result.method == method and result.result == "pass" and wanted in _domains(result, properties):
                return method
    return None


def _trusted_results(value: str, trusted: set[str]) -> list[Any]:
    """The result clauses of one header value, or none when it is malformed or from an untrusted server."""
    try:
        header = authres.parse_value(value)
    except Exception:  # authres raises its own SyntaxError and friends, and ValueError, on malformed values
        return []
    return list(header.results) if header.authserv_id in trusted else []


def _domains(result: Any, properties: Sequence[tuple[str, str]]) -> set[str]:
    """The domains a result's properties name; an address ("agent@example.com") counts by its domain."""
    return {
        _bare_domain(str(prop.value).rpartition("@")[2])
        for prop in result.properties
        if (prop.type, prop.name) in properties and prop.value
    }


def _bare_domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()
