"""The mail for one outbox row, rendered when it is sent: templates, threading headers, and for a mail that carries
a temporary password, a new password and a new Message-ID on every attempt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from ..config import Config
from ..errors import first_line
from ..mail.compose import Envelope, compose
from ..mail.message_ids import new_message_id
from ..templates import TemplateError, Templates
from .accounts import mint_password
from .models import MailKind, utcnow
from .outbox_service import Claimed

log = logging.getLogger(__name__)


class RenderError(Exception):
    """A row could not be made into a mail. str() starts with what failed: "template: …", "queue: …", "compose: …"."""


@dataclass(frozen=True)
class OutgoingMail:
    kind: MailKind
    message: EmailMessage
    password: str | None  # a credentials mail's password: hashed and stored before the mail is sent
    stale: str | None = None  # why the last good version of a broken template was used, if it was


def render(config: Config, templates: Templates, row: Claimed) -> OutgoingMail:
    """The mail for one row, rendered now. A credentials mail gets a new password and a new Message-ID on every
    attempt (see outbox_service.store_credentials); any other mail keeps the Message-ID it was queued with."""
    context, password, message_id = dict(row.context), None, row.message_id
    if row.kind.carries_password:
        password = context["password"] = mint_password()
        message_id = new_message_id(config.desk.message_id_domain)
    try:
        queue = config.queue(row.queue)
    except KeyError:
        raise RenderError(f"queue: {row.queue!r} is not configured in {config.path}") from None
    try:
        rendered = templates.render(row.kind.value, row.language, context, queue=row.queue)
    except TemplateError as exc:
        raise RenderError(f"template: {exc}") from None
    envelope = Envelope(
        sender_name=config.smtp.from_name or queue.name,
        sender_address=queue.address,
        recipient=row.recipient,
        message_id=message_id,
        in_reply_to=row.in_reply_to,
        references=row.references,
        case_number=row.case_number,
        reply_to=queue.address,  # answers come back to the desk, even through an agents' list
        recipient_name=_name_of(context, row.recipient),
    )
    try:
        message = compose(envelope, rendered, utcnow())
    except Exception as exc:  # e.g. a header the email package refuses to write
        raise RenderError(f"compose: {type(exc).__name__}: {first_line(exc)}") from None
    if rendered.stale:
        log.warning("outbox row %s rendered with the last good version of a broken template: %s", row.id,
                    rendered.stale)
    return OutgoingMail(row.kind, message, password, rendered.stale)


def _name_of(context: dict[str, Any], recipient: str) -> str:
    """The display name for To:, when the mail goes to the case's contact (not to an agent about the contact)."""
    contact = context.get("contact")
    if isinstance(contact, dict) and str(contact.get("email", "")).lower() == recipient.lower():
        return str(contact.get("name") or "")
    return ""


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return body.get_content() if isinstance(body, EmailMessage) else ""
