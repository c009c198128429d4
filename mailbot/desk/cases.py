"""Open cases and add entries to them; the state changes a customer's mail causes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..mail.parse import InboundMail
from ..mail.quotes import strip_reply
from .models import (Attachment, Case, Contact, Counter, Direction, Entry, EntryKind, Participant, Priority, State,
                     utcnow)
from .storage import store_blob

CASE_COUNTER = "case_number"


@dataclass(frozen=True)
class NewCase:
    queue: str
    subject: str
    contact: Contact
    language: str
    priority: Priority = Priority.MODERATE
    linked_to: Case | None = None  # a closed case its customer wrote on, or another's case a stranger quoted


def next_case_number(session: Session, prefix: str) -> str:
    """prefix + 7 digits, from a counter row bumped atomically: unique under concurrent writers."""
    value = session.execute(
        update(Counter).where(Counter.name == CASE_COUNTER).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
    return f"{prefix}{value:07d}"


def open_case(session: Session, prefix: str, new: NewCase, now: datetime | None = None) -> Case:
    """The new case, added but not flushed: its entry and its escalation times are set before its one INSERT.
    Its collections start empty, so reading them asks the database nothing."""
    now = now or utcnow()
    case = Case(
        number=next_case_number(session, prefix),
        queue=new.queue,
        subject=new.subject,
        contact=new.contact,
        account=new.contact.account,
        priority=new.priority,
        state=State.NEW,
        language=new.language,
        linked_case_id=new.linked_to.id if new.linked_to else None,
        created_at=now,
        updated_at=now,
        escalation_level=0,  # the column default, needed before the INSERT by escalation.case_changed
        participants=[],
        entries=[],
        escalations=[],
    )
    session.add(case)
    return case


def add_entry(session: Session, case: Case, entry: Entry, now: datetime | None = None) -> Entry:
    """Record a message on a case. What a person wrote updates the case (an acknowledgement or a reminder is no
    news to anyone who reads the case list); a customer writing on a resolved case puts it back in progress."""
    now = now or utcnow()
    entry.case = case
    entry.at = now
    session.add(entry)
    if not entry.kind.automatic:
        case.updated_at = now
    if entry.direction is Direction.IN and entry.kind is EntryKind.CUSTOMER and case.state is State.RESOLVED:
        case.state = State.IN_PROGRESS
    return entry


def record_inbound(session: Session, storage: Path, case: Case, mail: InboundMail, raw_sha256: str,
                   kind: EntryKind, text: str | None = None, notes: Sequence[str] = ()) -> Entry:
    """A mail to the desk as an entry on `case`, its attachments kept once on disk by sha256. The text is the
    reply without quoted history and signature (`text` when the caller already took commands out), then `notes`
    for the agents, each in brackets; the raw message on disk keeps everything."""
    assert mail.from_addr is not None
    body = strip_reply(mail.text) if text is None else text
    # Attachments over [limits] max_attachment_size, people copied who did not join: what was left out, and why.
    body += "".join(f"\n[{note}]" for note in (*mail.dropped_attachments, *notes))
    entry = Entry(direction=Direction.IN, kind=kind, author=mail.from_addr, subject=mail.subject, text=body,
                  message_id=mail.message_id, raw_sha256=raw_sha256, flags=[str(f) for f in mail.from_flags],
                  attachments=[])  # loaded empty: what a template shows of it asks the database nothing
    for attachment in mail.attachments:
        digest = store_blob(storage, "attachments", attachment.data)
        entry.attachments.append(Attachment(filename=attachment.filename, content_type=attachment.content_type,
                                            size=len(attachment.data), sha256=digest))
    return add_entry(session, case, entry)


def add_participants(session: Session, case: Case, addresses: list[str]) -> None:
    """Put people on a case (whom an agent copied, or whom desk/actions/copies.py lets a customer's copy add): they
    get the agents' replies and may add to the case."""
    known = {case.contact.email.lower(), *(p.email.lower() for p in case.participants)}
    added = False
    for address in dict.fromkeys(a.strip().lower() for a in addresses):
        if address and address not in known:
            case.participants.append(Participant(email=address))
            known.add(address)
            added = True
    if added:
        session.flush()
