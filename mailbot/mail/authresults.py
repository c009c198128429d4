"""Say what a trusted Authentication-Results header (RFC 8601) proves about a mail: that one address sent it (an
agent), or that the From header's domain did (a customer's Cc)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import authres

__all__ = ["from_domain_passes", "verified_sender_pass"]

# (method, the property that must name the agent's own address), strongest proof first. Domain-level evidence
# (DKIM's header.d, SPF for a bare domain or for another mailbox of it, a header.from anywhere) proves only that
# the agent's domain sent the mail, which every other mailbox of that domain can also make it do: it proves nothing
# about which person wrote it. A DKIM signature whose AUID (header.i, RFC 6376 §3.5) is the agent's address, or
# SPF's pass for the agent's own address as envelope sender, is the domain vouching for that one mailbox.
_SENDER_PROOFS = (
    ("dkim", ("header", "i")),
    ("spf", ("smtp", "mailfrom")),
)
# How a trusted header shows that the From header's domain sent the mail: a DKIM signature of that very domain
# (aligned, RFC 7489), SPF's pass for an envelope sender at that domain, DMARC's pass for it. What each proves
# differs (a signature covers only the headers it lists; DMARC does not say which of the two it passed on), so
# `from_domain_passes` gives them all and the caller decides.
_FROM_PROOFS = (
    ("dkim", ("header", "d")),
    ("spf", ("smtp", "mailfrom")),
    ("dmarc", ("header", "from")),
)


def verified_sender_pass(headers: Sequence[str], trusted_authserv_ids: Collection[str], address: str) -> str | None:
    """``"dkim"`` or ``"spf"``: the method by which a trusted header proves that ``address`` sent the mail, or None.

    ``headers`` are the values of every Authentication-Results field of the mail.  Only those whose
    authserv-id is in ``trusted_authserv_ids`` count (case-insensitive); a malformed one counts as absent.
    The trust is only as good as the border MTA: RFC 8601 §5 requires it to remove incoming copies that
    bear its own authserv-id, or a sender could write "dkim=pass" for us.
    """
    wanted = _bare_address(address)
    return _first_pass(headers, trusted_authserv_ids, wanted, _SENDER_PROOFS, _bare_address) if wanted else None


def from_domain_passes(headers: Sequence[str], trusted_authserv_ids: Collection[str], domain: str) -> frozenset[str]:
    """Every method ("dkim", "spf", "dmarc") by which a trusted header shows that ``domain``, the From address's,
    sent the mail; empty when none does. Trusted as in `verified_sender_pass`."""
    wanted = _bare_domain(domain)
    if not wanted:
        return frozenset()
    return frozenset(method for method, prop in _FROM_PROOFS
                     if _first_pass(headers, trusted_authserv_ids, wanted, ((method, prop),), _domain_of))


def _first_pass(headers: Sequence[str], trusted_authserv_ids: Collection[str], wanted: str,
                proofs: Sequence[tuple[str, tuple[str, str]]], normal: Callable[[str], str]) -> str | None:
    """The first of `proofs` (method, the property that must name `wanted` once `normal`ised) that a trusted header
    passes."""
    trusted = {server.lower() for server in trusted_authserv_ids}
    if not trusted:
        return None
    results = [result for value in headers for result in _trusted_results(value, trusted)]
    for method, wanted_property in proofs:
        for result in results:
            if result.method != method or result.result != "pass":
                continue
            named = {normal(str(prop.value)) for prop in result.properties
                     if (prop.type, prop.name) == wanted_property and prop.value}
            if wanted in named:
                return method
    return None


def _trusted_results(value: str, trusted: set[str]) -> list[Any]:
    """The result clauses of one header value, or none when it is malformed or from an untrusted server."""
    try:
        header = authres.parse_value(value)
    except Exception:  # authres raises its own SyntaxError and friends, and ValueError, on malformed values
        return []
    return list(header.results) if header.authserv_id in trusted else []


def _bare_address(address: str) -> str:
    """"local@domain" lower-cased without a root dot; "" for a bare domain or "@domain", which name no mailbox."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local.lower()}@{_bare_domain(domain)}" if local else ""


def _domain_of(value: str) -> str:
    """The domain a header.d or header.from value names (an address counts by its domain)."""
    return _bare_domain(value.rpartition("@")[2])


def _bare_domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()
