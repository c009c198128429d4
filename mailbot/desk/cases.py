"""Open cases and add entries to them; the state changes a customer's mail causes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from .models import Case, Contact, Counter, Direction, Entry, EntryKind, Priority, State, utcnow

CASE_COUNTER = "case_number"


@dataclass(frozen=True)
class NewCase:
    queue: str
    subject: str
    contact: Contact
    language: str
    priority: Priority = Priority.MODERATE


def next_case_number(session: Session, prefix: str) -> str:
    """prefix + 7 digits, from a counter row bumped atomically: unique under concurrent writers."""
    value = session.execute(
        update(Counter).where(Counter.name == CASE_COUNTER).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
    return f"{prefix}{value:07d}"


def open_case(session: Session, prefix: str, new: NewCase, now: datetime | None = None) -> Case:
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
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    return case


def add_entry(session: Session, case: Case, entry: Entry, now: datetime | None = None) -> Entry:
    """Record a message on a case. A customer writing on a resolved case puts it back in progress."""
    now = now or utcnow()
    entry.case = case
    entry.at = now
    session.add(entry)
    case.updated_at = now
    if entry.direction is Direction.IN and entry.kind is EntryKind.CUSTOMER and case.state is State.RESOLVED:
        case.state = State.IN_PROGRESS
    return entry
