"""The outbox service: claim due rows under a lease, then mark each one sent or failed and record it on its case.

Each function is one step of one short transaction; like the other desk services they flush and the caller commits
(the outgoing runner, `with sessions.begin()`), so no transaction is ever open while an SMTP server answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from ..config import SmtpConfig
from .cases import add_entry
from .models import Case, Contact, Direction, Entry, EntryKind, MailKind, Outbox, OutboxStatus, UtcDateTime, utcnow

# What a credentials mail leaves in the case history instead of its body.
SECRET_BODY = {
    "es": "(credenciales de acceso enviadas; el contenido no se guarda)",
    "en": "(access credentials sent; the content is not kept)",
}


@dataclass(frozen=True)
class Claimed:
    """What sending one row needs, read in the transaction that renewed its lease."""

    id: int
    kind: MailKind
    queue: str
    language: str
    recipient: str
    message_id: str
    in_reply_to: str | None
    references: str
    context: dict[str, Any]
    case_number: str | None


def claim(session: Session, owner: str, limit: int, lease: timedelta, *, due_by: datetime | None = None,
          now: datetime | None = None) -> list[int]:
    """Hold for `lease` up to `limit` pending rows due by `due_by` (default: now) that nobody holds, or whose
    holder's lease has run out (its daemon died); their ids, oldest first.

    Two claimers never get one row: on PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so a concurrent claim
    passes over them instead of waiting; on SQLite the transaction holds the write lock from its BEGIN IMMEDIATE
    (store.make_engine), and the UPDATE repeats the condition so it only takes what is still free."""
    now = now or utcnow()
    due = and_(_free(now), Outbox.next_attempt_at <= (due_by or now))
    ids = session.scalars(
        select(Outbox.id).where(due).order_by(Outbox.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return []
    taken = session.scalars(
        update(Outbox).where(Outbox.id.in_(ids), due).values(claimed_by=owner, lease_until=now + lease)
        .returning(Outbox.id).execution_options(synchronize_session=False)
    ).all()
    return sorted(taken)


def read_claimed(session: Session, row_ids: list[int]) -> list[Claimed]:
    """What sending each of `row_ids` needs (read in the transaction that claimed them), oldest first."""
    found = session.execute(
        select(Outbox, Case.number).outerjoin(Case, Case.id == Outbox.case_id).where(Outbox.id.in_(row_ids))
        .order_by(Outbox.id)
    ).all()
    return [Claimed(row.id, row.kind, row.queue, row.language, row.recipient, row.message_id, row.in_reply_to,
                    row.references, dict(row.context), number) for row, number in found]


def renew(session: Session, row_ids: list[int], owner: str, lease: timedelta, now: datetime | None = None) -> list[int]:
    """Extend `owner`'s lease on those of `row_ids` it still holds (pending, not taken over); their ids."""
    now = now or utcnow()
    if not row_ids:
        return []
    return list(session.scalars(
        update(Outbox)
        .where(Outbox.id.in_(row_ids), Outbox.claimed_by == owner, Outbox.status == OutboxStatus.PENDING)
        .values(lease_until=now + lease).returning(Outbox.id).execution_options(synchronize_session=False)
    ))


def store_credentials(session: Session, row_id: int, owner: str, message_id: str, password_hash: str) -> bool:
    """Before a credentials mail is handed to SMTP: the hash of the password it carries, and the Message-ID of
    this attempt. Committed first, a crash at any instant leaves at most one password that works (the one in the
    last mail sent) and one password per Message-ID. False when the row is no longer `owner`'s: send nothing."""
    held = _hold(session, row_id, owner, message_id=message_id)
    if held is None:
        return False
    _, contact_id = held
    if contact_id is not None:
        kind = session.scalar(select(Outbox.kind).where(Outbox.id == row_id))
        # A reset's password waits beside the current one (see Contact.reset_password_hash); credentials replace it.
        values: dict[str, object] = ({"reset_password_hash": password_hash} if kind is MailKind.PASSWORD_RESET
                                     else {"password_hash": password_hash, "must_change_password": True})
        session.execute(update(Contact).where(Contact.id == contact_id).values(**values)
                        .execution_options(synchronize_session=False))
    return True


def mark_sent(session: Session, row_id: int, subject: str, now: datetime | None = None, note: str = "") -> None:
    """The SMTP server accepted the row's mail: it is sent, whoever holds it (a lease only guards the attempt).
    Commit this alone and first, so that nothing after it (`record_sent`) can make the row go out again. `note`
    stays in `last_error` (e.g. the mail came from the last good version of a broken template)."""
    now = now or utcnow()
    row = session.get(Outbox, row_id, populate_existing=True)
    assert row is not None, f"outbox row {row_id} vanished"
    row.status, row.sent_at, row.subject, row.last_error = OutboxStatus.SENT, now, subject, note
    row.attempts += 1
    row.claimed_by = row.lease_until = None
    if row.kind.carries_password and row.contact_id is not None:
        contact = session.get(Contact, row.contact_id)
        assert contact is not None
        if row.kind is MailKind.PASSWORD_RESET:
            contact.reset_sent_at = now  # the reset password's age, for its expiry
        else:
            contact.credentials_sent_at = now  # what ingest asks before queueing credentials again


def mark_failed(session: Session, row_id: int, owner: str, error: str, *, permanent: bool, smtp: SmtpConfig,
                now: datetime | None = None) -> Outbox | None:
    """An attempt failed: count it, keep `error` (the server's words), and either retry after a backoff or, when
    `permanent` or out of attempts, mark the row dead. The row, or None if it is no longer `owner`'s."""
    now = now or utcnow()
    if _hold(session, row_id, owner) is None:
        return None
    row = session.get(Outbox, row_id, populate_existing=True)
    assert row is not None
    row.attempts += 1
    row.last_error = error
    row.claimed_by = row.lease_until = None
    if permanent or row.attempts >= smtp.max_attempts:
        row.status = OutboxStatus.DEAD
    else:
        row.next_attempt_at = now + retry_delay(smtp, row.attempts)
    return row


def release(session: Session, row_ids: list[int], owner: str) -> None:
    """Give back rows `owner` claimed and did not try (the server went away): due again at once, nothing charged."""
    if row_ids:
        session.execute(
            update(Outbox).where(Outbox.id.in_(row_ids), Outbox.claimed_by == owner)
            .values(claimed_by=None, lease_until=None).execution_options(synchronize_session=False)
        )


def record_sent(session: Session, row_id: int, author: str, text: str) -> Entry | None:
    """The sent mail as an `out` entry on its case (through cases.add_entry);
    a credentials mail leaves a note instead of its body. None for a mail about no case."""
    row = session.get(Outbox, row_id)
    assert row is not None and row.sent_at is not None, f"outbox row {row_id} is not sent"
    if row.case_id is None or not row.kind.in_history:
        return None
    case_ = session.get(Case, row.case_id)
    assert case_ is not None
    if row.kind.carries_password:
        text = SECRET_BODY.get(row.language, SECRET_BODY["es"])
    entry = Entry(direction=Direction.OUT, kind=EntryKind.SYSTEM, author=author, subject=row.subject, text=text,
                  message_id=row.message_id)
    return add_entry(session, case_, entry, row.sent_at)


def next_due(session: Session) -> datetime | None:
    """When the next pending row can be claimed: its next attempt, or the end of the lease another daemon holds."""
    wake = case((Outbox.lease_until > Outbox.next_attempt_at, Outbox.lease_until), else_=Outbox.next_attempt_at)
    return session.scalar(
        select(func.min(type_coerce(wake, UtcDateTime()))).where(Outbox.status == OutboxStatus.PENDING)
    )


def retry_delay(smtp: SmtpConfig, attempts: int) -> timedelta:
    """Exponential, capped, with ±20 % jitter so a burst of failures does not retry in lockstep."""
    delay = min(smtp.retry_cap, smtp.retry_base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


def _free(now: datetime) -> ColumnElement[bool]:
    return and_(Outbox.status == OutboxStatus.PENDING, or_(Outbox.lease_until.is_(None), Outbox.lease_until <= now))


def _hold(session: Session, row_id: int, owner: str, **values: object) -> tuple[int, int | None] | None:
    """Apply `values` to a pending row `owner` holds (with none, only check that it does): (id, contact_id), or
    None when `owner` does not hold it. The check and the change are one UPDATE, so no takeover slips between."""
    held = session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.claimed_by == owner, Outbox.status == OutboxStatus.PENDING)
        .values(claimed_by=owner, **values)
        .returning(Outbox.id, Outbox.contact_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return None if held is None else (held.id, held.contact_id)
