"""Our Message-IDs: the one place that mints them and the one place that recognises them.

Threading (a customer's reply names one of ours), the own-loop rule (our mail came back) and, later, the agents'
signed notification ids all ask this module, so the shape is written down once: `<32 hex digits@domain>`.
"""

from __future__ import annotations

import re
import uuid

# Set on every mail we send, so our own mail is recognised if it ever comes back to a desk mailbox.
MAILBOT_HEADER = "X-Mailbot-Case"


def new_message_id(domain: str) -> str:
    """A unique id short enough that the Message-ID line is never folded (make_msgid's often are)."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def is_ours(message_id: str | None, domain: str) -> bool:
    """Whether `message_id` has exactly the shape `new_message_id` makes on `domain`: a colleague whose mail client
    uses the same domain does not match, because clients do not mint bare 32-hex local parts."""
    if not message_id:
        return False
    return re.fullmatch(rf"<[0-9a-f]{{32}}@{re.escape(domain)}>", message_id, re.IGNORECASE) is not None
