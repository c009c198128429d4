"""Our Message-IDs: the one place that mints them and the one place that recognises them.

Threading (a customer's reply names one of ours), the own-loop rule (our mail came back) and the agents' signed
notification ids all ask this module, so the shapes are written down once: `<32 hex digits@domain>` for every mail,
and `<n.CS0000001.{nonce}.{mac}@domain>` for a notification to an agent, where the MAC binds the nonce, the case
and the agent, so a reply that references it proves that agent received that case's notification.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

# Set on every mail we send, so our own mail is recognised if it ever comes back to a desk mailbox.
MAILBOT_HEADER = "X-Mailbot-Case"
MAC_HEX = 32  # 128 bits of HMAC-SHA256: plenty against forgery, short enough to keep the header on one line
NONCE_HEX = 16
_PLAIN = r"[0-9a-f]{32}"
_SIGNED = re.compile(rf"<n\.([A-Z]{{1,8}}[0-9]{{7,}})\.([0-9a-f]{{{NONCE_HEX}}})\.([0-9a-f]{{{MAC_HEX}}})@([^<>@\s]+)>")


def new_message_id(domain: str) -> str:
    """A unique id short enough that the Message-ID line is never folded (make_msgid's often are)."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def signed_message_id(domain: str, case_number: str, agent: str, secret: bytes) -> str:
    """A notification's Message-ID signed for `agent` (an agent's or the agents' list's address) and the case."""
    nonce = secrets.token_hex(NONCE_HEX // 2)
    return f"<n.{case_number}.{nonce}.{_mac(secret, nonce, case_number, agent)}@{domain}>"


def signed_case(message_id: str, agent: str, secret: bytes) -> str | None:
    """The case number `message_id` was signed for `agent` with, or None when it is not such an id (forged, for
    another agent, or not a notification's). Compared in constant time."""
    match = _SIGNED.fullmatch(message_id.strip())
    if match is None:
        return None
    case_number, nonce, mac = match.group(1), match.group(2), match.group(3)
    return case_number if hmac.compare_digest(mac, _mac(secret, nonce, case_number, agent)) else None


def verify(message_id: str, case_number: str, agent: str, secret: bytes) -> bool:
    """Whether `message_id` is a notification id signed for `agent` about `case_number`."""
    return signed_case(message_id, agent, secret) == case_number


def is_ours(message_id: str | None, domain: str) -> bool:
    """Whether `message_id` has exactly a shape this module makes on `domain`: a colleague whose mail client uses
    the same domain does not match, because clients do not mint bare 32-hex local parts."""
    if not message_id:
        return False
    if re.fullmatch(rf"<{_PLAIN}@{re.escape(domain)}>", message_id, re.IGNORECASE) is not None:
        return True
    match = _SIGNED.fullmatch(message_id)
    return match is not None and match.group(4).lower() == domain.lower()


def _mac(secret: bytes, nonce: str, case_number: str, agent: str) -> str:
    message = f"{nonce}|{case_number}|{agent.strip().lower()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:MAC_HEX]
