"""Build the outgoing EmailMessage: threading headers, loop markers, a text and an HTML part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

from ..templates import Rendered
from .addresses import unquoted
from .message_ids import MAILBOT_HEADER
from .sanitize import one_line

MAX_NAME = 128  # a display name we write back: one line, short


class _Headers(HeaderRegistry):
    """The default policy's registry makes a new class with type() for every header it parses or sets (a third of
    compose's time); this one makes each header name's class once. Same classes, so the same bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(key)
        return made


# email.policy.default, but with the header classes kept.
POLICY = policy.default.clone(header_factory=_Headers())


@dataclass(frozen=True)
class Envelope:
    sender_name: str
    sender_address: str
    recipient: str
    message_id: str
    in_reply_to: str | None
    references: str
    case_number: str | None
    reply_to: str | None = None
    recipient_name: str = ""  # the customer's display name; "" for the desk's own people


def address(name: str, addr: str) -> Address:
    """A name and an address as one header value. Address quotes and encodes the name; one_line takes out any CR/LF
    a hostile name kept, and inert any it would decode, so it stays one header. Given in parts, a non-ASCII local
    part is written as is (for an SMTPUTF8 server), where addr_spec= would refuse it; a quoted one is given
    unquoted, since Address quotes it where needed and would otherwise quote its quotes (another mailbox)."""
    local, _, domain = addr.rpartition("@")
    return Address(display_name=inert(one_line(name, MAX_NAME)), username=unquoted(local), domain=domain)


def inert(text: str) -> str:
    """Text no header folding decodes again. A customer's name or subject arrives decoded once; a double-encoded
    one can still hold a literal RFC 2047 word ("=?utf-8?q?x=0D=0ABcc:...?="), which the email
    package would decode when it folds the header, writing its CR/LF as new header or body lines. "= ?" is no
    encoded word."""
    return text.replace("=?", "= ?")


def plain_ids(ids: str | None) -> str:
    """The customer's Message-IDs we may echo: one that holds an encoded word ("<a=?utf-8?q?=0D=0ABcc:...?=@x>"
    looks valid) is left out rather than rewritten, since a rewritten id would thread under nothing anyway."""
    return " ".join(one for one in (ids or "").split() if "=?" not in one)


def compose(envelope: Envelope, rendered: Rendered, date: datetime) -> EmailMessage:
    """An RFC 5322 mail that threads under the customer's message and declares itself automatic (RFC 3834)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = Address(display_name=envelope.sender_name, addr_spec=envelope.sender_address)
    message["To"] = address(envelope.recipient_name, envelope.recipient)
    message["Subject"] = inert(rendered.subject)
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to  # a list that munges Reply-To must not divert an agent's answer
    message["Date"] = format_datetime(date)
    message["Message-ID"] = envelope.message_id
    if in_reply_to := plain_ids(envelope.in_reply_to):
        message["In-Reply-To"] = in_reply_to
    if references := plain_ids(envelope.references):
        message["References"] = references
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"  # asks Exchange not to answer with out-of-office mail
    if envelope.case_number:
        message[MAILBOT_HEADER] = envelope.case_number
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    return message
