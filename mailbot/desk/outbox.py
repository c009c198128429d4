"""Queue replies in the same transaction as the case change that causes them; one context function per mail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..mail.message_ids import new_message_id
from ..mail.parse import InboundMail
from ..mail.sanitize import greeting_name, one_line
from .models import Case, Contact, MailKind, Outbox, OutboxStatus, utcnow

# RFC 5322 does not limit References, but some servers refuse long header lines: keep the newest ids.
MAX_REFERENCES = 20
# What our mails echo of a customer's words is one line and short (every header is the attacker's).
MAX_NAME, MAX_SUBJECT = 128, 255


def _desk(config: Config, queue: QueueConfig) -> dict[str, Any]:
    return {
        "desk": {"name": config.desk.name, "portal_url": config.desk.portal_url},
        "queue": {"key": queue.key, "name": queue.name, "address": queue.address, "hours_text": queue.hours_text},
    }


def _contact(contact: Contact) -> dict[str, str]:
    """What a template may say of a contact; `greeting` is the name only when it reads like one."""
    return {"email": contact.email, "name": one_line(contact.name, MAX_NAME), "account": contact.account,
            "greeting": greeting_name(contact.name, contact.email) or ""}


def _case(config: Config, case: Case) -> dict[str, str]:
    def local(when: datetime) -> str:
        return f"{when.astimezone(config.desk.zone):%Y-%m-%d %H:%M} ({config.desk.timezone})"

    return {"number": case.number, "subject": one_line(case.subject, MAX_SUBJECT), "priority": case.priority.value,
            "state": case.state.value, "owner": case.assignee or "", "created_at": local(case.created_at),
            "updated_at": local(case.updated_at)}


def ack_context(config: Config, queue: QueueConfig, case: Case) -> dict[str, Any]:
    return {**_desk(config, queue), "contact": _contact(case.contact), "case": _case(config, case)}


def credentials_context(config: Config, queue: QueueConfig, contact: Contact, case: Case) -> dict[str, Any]:
    """Everything but the password, which the outgoing runner mints on each attempt (see runners/outgoing); the
    case it came with names the mail ("[CS0000001] …"), so a reply to it threads."""
    return {**ack_context(config, queue, case), "contact": _contact(contact), "username": contact.email}


def password_reset_context(config: Config, queue: QueueConfig, contact: Contact) -> dict[str, Any]:
    """A new temporary password asked for on the portal: everything but the password, minted when it is sent."""
    return {**_desk(config, queue), "contact": _contact(contact), "username": contact.email}


def credentials_in_flight(session: Session, contact: Contact) -> bool:
    """Whether a mail carrying a temporary password to `contact` is queued or being sent (not sent, not dead)."""
    return bool(session.scalar(select(exists().where(
        Outbox.contact_id == contact.id, Outbox.kind.in_([k for k in MailKind if k.carries_password]),
        Outbox.status.not_in([OutboxStatus.SENT, OutboxStatus.DEAD])))))


def enqueue_reply(
    session: Session,
    config: Config,
    queue: QueueConfig,
    kind: MailKind,
    contact: Contact,
    answering: InboundMail,
    context: dict[str, Any],
    case: Case | None,
) -> Outbox:
    """One outbox row answering `answering`, threaded under it, with a Message-ID fixed now and kept across retries."""
    references = [*answering.references, *([answering.message_id] if answering.message_id else [])]
    row = Outbox(
        kind=kind,
        case_id=case.id if case else None,
        contact_id=contact.id,
        queue=queue.key,
        language=case.language if case else config.desk.language,
        recipient=contact.email,
        message_id=new_message_id(config.desk.message_id_domain),
        in_reply_to=answering.message_id,
        references=" ".join(references[-MAX_REFERENCES:]),
        context=context,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    return row
