"""Say whether a trusted Authentication-Results header (RFC 8601) proves that a mail comes from one address."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import authres

__all__ = ["verified_sender_pass"]

# (method, the property that must name the agent's own address), strongest proof first. Domain-level evidence
# (DKIM's header.d, SPF for a bare domain or for another mailbox of it, a header.from anywhere) proves only that
# the agent's domain sent the mail, which every other mailbox of that domain can also make it do: it proves nothing
# about which person wrote it. A DKIM signature whose AUID (header.i, RFC 6376 §3.5) is the agent's address, or
# SPF's pass for the agent's own address as envelope sender, is the domain vouching for that one mailbox.
_PROOFS = (
    ("dkim", ("header", "i")),
    ("spf", ("smtp", "mailfrom")),
)


def verified_sender_pass(headers: Sequence[str], trusted_authserv_ids: Collection[str], address: str) -> str | None:
    """``"dkim"`` or ``"spf"``: the method by which a trusted header proves that ``address`` sent the mail, or None.

    ``headers`` are the values of every Authentication-Results field of the mail.  Only those whose
    authserv-id is in ``trusted_authserv_ids`` count (case-insensitive); a malformed one counts as absent.
    The trust is only as good as the border MTA: RFC 8601 §5 requires it to remove incoming copies that
    bear its own authserv-id, or a sender could write "dkim=pass" for us.
    """
    trusted = {server.lower() for server in trusted_authserv_ids}
    wanted = _bare_address(address)
    if "@" not in wanted or not trusted:
        return None
    results = [result for value in headers for result in _trusted_results(value, trusted)]
    for method, wanted_property in _PROOFS:
        for result in results:
            if result.method == method and result.result == "pass" and wanted in _addresses(result, wanted_property):
                return method
    return None


def _trusted_results(value: str, trusted: set[str]) -> list[Any]:
    """The result clauses of one header value, or none when it is malformed or from an untrusted server."""
    try:
        header = authres.parse_value(value)
    except Exception:  # authres raises its own SyntaxError and friends, and ValueError, on malformed values
        return []
    return list(header.results) if header.authserv_id in trusted else []


def _addresses(result: Any, wanted: tuple[str, str]) -> set[str]:
    """The addresses the result's `wanted` property names (a bare domain or "@domain" names no address)."""
    return {_bare_address(str(prop.value)) for prop in result.properties
            if (prop.type, prop.name) == wanted and prop.value}


def _bare_address(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    return f"{local.lower()}@{domain.rstrip('.').lower()}" if local else ""
