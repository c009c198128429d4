"""Queue replies in the same transaction as the case change that causes them; one context function per mail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..mail.addresses import delivery_mailbox
from ..mail.message_ids import new_message_id
from ..mail.parse import InboundMail
from ..mail.sanitize import greeting_name, one_line
from .models import Case, Contact, Entry, EntryKind, MailKind, Outbox, OutboxStatus, utcnow

# RFC 5322 does not limit References, but some servers refuse long header lines: keep the newest ids.
MAX_REFERENCES = 20
# What our mails echo of a customer's words is one line and short (every header is the attacker's).
MAX_NAME, MAX_SUBJECT = 128, 255
HISTORY = 5  # the last entries an agent's notification shows


def _desk(config: Config, queue: QueueConfig) -> dict[str, Any]:
    return {
        "desk": {"name": config.desk.name, "portal_url": config.desk.portal_url},
        "queue": {"key": queue.key, "name": queue.name, "address": queue.address, "hours_text": queue.hours_text},
    }


def _contact(contact: Contact) -> dict[str, str]:
    """What a template may say of a contact; `greeting` is the name only when it reads like one."""
    return {"email": contact.email, "name": one_line(contact.name, MAX_NAME), "account": contact.account,
            "greeting": greeting_name(contact.name, contact.email) or ""}


def local(config: Config, when: datetime) -> str:
    """An instant as the desk reads it in a mail: "2026-11-23 09:15 (America/Bogota)"."""
    return f"{when.astimezone(config.desk.zone):%Y-%m-%d %H:%M} ({config.desk.timezone})"


def _case(config: Config, case: Case) -> dict[str, str]:
    return {"number": case.number, "subject": one_line(case.subject, MAX_SUBJECT), "priority": case.priority.value,
            "state": case.state.value, "owner": case.assignee or "", "created_at": local(config, case.created_at),
            "updated_at": local(config, case.updated_at)}


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
    """Whether a mail carrying a temporary password to `contact` is still to be sent (pending, claimed or not): one
    that was sent, went dead, bounced or was suppressed does not count."""
    return bool(session.scalar(select(exists().where(
        Outbox.contact_id == contact.id, Outbox.kind.in_([k for k in MailKind if k.carries_password]),
        Outbox.status == OutboxStatus.PENDING))))


def entry_context(config: Config, entry: Entry) -> dict[str, Any]:
    """An entry as templates see it (templates/README.md, "Entries")."""
    return {"at": local(config, entry.at or utcnow()), "direction": entry.direction.value, "kind": entry.kind.value,
            "author": one_line(entry.author, MAX_NAME), "subject": one_line(entry.subject, MAX_SUBJECT),
            "text": entry.text, "attachments": [a.filename for a in entry.attachments], "flags": list(entry.flags or [])}


def agents_history(config: Config, newest: Sequence[Entry], before: Entry | None = None) -> list[dict[str, Any]]:
    """The last entries agents are shown, newest last: what people wrote and what the agents did, without the
    desk's own automatic mails (acknowledgements, credentials, notifications). `newest` is the case's newest
    entries but those, oldest first (desk/lookups.py reads them by the case's index, never the whole history)."""
    shown = [e for e in newest if e.kind is not EntryKind.SYSTEM and e is not before]
    return [entry_context(config, e) for e in shown[-HISTORY:]]


def agent_notify_context(config: Config, queue: QueueConfig, case: Case, event: str, message: Entry,
                         newest: Sequence[Entry]) -> dict[str, Any]:
    return {**ack_context(config, queue, case), "event": event, "message": entry_context(config, message),
            "entries": agents_history(config, newest, before=message)}


def agent_reply_context(config: Config, queue: QueueConfig, case: Case, reply: Entry) -> dict[str, Any]:
    return {**ack_context(config, queue, case), "reply": entry_context(config, reply)}


def _about(config: Config, queue: QueueConfig, case: Case | None) -> dict[str, Any]:
    """The desk, the queue, and the case with its contact, or None for both when the mail is about no case."""
    if case is None:
        return {**_desk(config, queue), "contact": None, "case": None}
    return ack_context(config, queue, case)


def command_error_context(config: Config, queue: QueueConfig, case: Case | None, agent: str, name: str,
                          error: dict[str, Any], commands: list[str]) -> dict[str, Any]:
    return {**_about(config, queue, case), "agent": {"email": agent, "name": one_line(name, MAX_NAME)},
            "error": error, "commands": commands}


def unverified_context(config: Config, queue: QueueConfig, case: Case | None, message: dict[str, Any],
                       reason: str) -> dict[str, Any]:
    return {**_about(config, queue, case), "message": message, "reason": reason}


def bounce_context(config: Config, queue: QueueConfig, case: Case | None, bounced: Outbox, status: str,
                   diagnostic: str) -> dict[str, Any]:
    bounce = {"recipient": bounced.recipient, "status": status, "diagnostic": diagnostic,
              "subject": one_line(bounced.subject, MAX_SUBJECT),
              "sent_at": local(config, bounced.sent_at or bounced.created_at)}
    return {**_about(config, queue, case), "bounce": bounce}


def linked_context(config: Config, queue: QueueConfig, case: Case, previous: Case) -> dict[str, Any]:
    return {**ack_context(config, queue, case), "previous_case": _case(config, previous)}


def stranger_context(config: Config, queue: QueueConfig, case: Case, previous: Case,
                     message: Entry) -> dict[str, Any]:
    return {**linked_context(config, queue, case, previous), "previous_contact": _contact(previous.contact),
            "message": entry_context(config, message)}


def is_agent_address(queue: QueueConfig, address: str) -> bool:
    """An agent of the queue, or the agents' list: people who run the desk, never rate-limited."""
    address = address.strip().lower()
    return address in {a.lower() for a in queue.agents} or address == (queue.agents_group or "").lower()


def over_limit(session: Session, config: Config, mailbox: str, now: datetime | None = None) -> bool:
    """Whether `mailbox` (mail/addresses.delivery_mailbox: every spelling of one address) already had [limits]
    auto_replies_per_hour in the last hour or auto_replies_per_day in the last day of mail from the desk
    (suppressed rows do not count: they were never sent)."""
    now = now or utcnow()
    hour_ago = now - timedelta(hours=1)
    last_day, last_hour = session.execute(
        select(func.count(), func.count().filter(Outbox.created_at >= hour_ago)).select_from(Outbox)
        .where(Outbox.mailbox == mailbox, Outbox.created_at >= now - timedelta(days=1),
               Outbox.status != OutboxStatus.SUPPRESSED)
    ).one()  # both counts in one read of the (mailbox, created_at) index
    limits = config.limits
    return last_hour >= limits.auto_replies_per_hour or last_day >= limits.auto_replies_per_day


def enqueue(
    session: Session,
    config: Config,
    queue: QueueConfig,
    kind: MailKind,
    recipient: str,
    context: dict[str, Any],
    case: Case | None,
    *,
    in_reply_to: str | None,
    references: list[str],
    message_id: str | None = None,
    automatic: bool = True,
) -> Outbox:
    """One outbox row, with a Message-ID fixed now and kept across retries. Automatic mail to anyone but the
    queue's agents is rate-limited per mailbox: past the limit the row is kept as `suppressed` and never sent
    (a naive autoresponder or a forged sender cannot make the desk mail a mailbox without end, however it spells
    the address)."""
    recipient = recipient.strip().lower()
    mailbox = delivery_mailbox(recipient)
    suppressed = False
    if automatic and not is_agent_address(queue, recipient):
        session.flush()  # rows queued earlier in this transaction count towards the limit
        suppressed = over_limit(session, config, mailbox)
    row = Outbox(
        kind=kind,
        case_id=case.id if case else None,
        queue=queue.key,
        language=case.language if case else config.desk.language,
        recipient=recipient,
        message_id=message_id or new_message_id(config.desk.message_id_domain),
        in_reply_to=in_reply_to,
        references=" ".join(references[-MAX_REFERENCES:]),
        context=context,
        status=OutboxStatus.SUPPRESSED if suppressed else OutboxStatus.PENDING,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(row)
    return row


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
    """One outbox row to `contact` answering `answering`, threaded under it."""
    references = [*answering.references, *([answering.message_id] if answering.message_id else [])]
    row = enqueue(session, config, queue, kind, contact.email, context, case, in_reply_to=answering.message_id,
                  references=references)
    row.contact_id = contact.id
    return row
