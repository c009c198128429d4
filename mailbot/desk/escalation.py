"""The escalation ladder: the hook the actions call when a case changes, and the scheduler's pass over due cases.

A case keeps one indexed instant, `next_escalation_at`: the earliest of its next level, its resolution target, and
its reminder or automatic close. The hook recomputes it whenever the case changes; the pass visits only the cases
whose instant has come, does what is due, and recomputes it. Timing counts from the instant a step became due, not
from when a pass happened to run, so a desk that was down climbs one level per pass, each recorded, never skipping.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from ..config_escalation import EscalationLevel
from ..locks import AdvisoryLock
from . import sla
from .calendar import BusinessCalendar
from .escalation_mail import (agents_name, closing_context, enqueue_notice, escalation_context, last_entries,
                              level_name, reminder_context, span, target_text)
from .models import Case, Entry, EntryKind, Escalation, EscalationKind, MailKind, State
from .outbox import local
from .settings import desk_secret
from .survey import survey_key

log = logging.getLogger(__name__)

BATCH = 200  # cases per transaction of the pass
LOCK = "escalation"
# A case whose step failed (a bug, a queue taken out of the configuration) waits this long before it is tried again,
# so that failing cases never fill every pass (passes take the longest due first) and starve the others.
RETRY_FAILED = timedelta(minutes=15)


class Event(enum.Enum):
    """What happened to a case, as the actions tell the hook."""

    CUSTOMER_WROTE = "customer_wrote"  # the clock runs: the case waits on the desk
    DESK_ANSWERED = "desk_answered"  # an agent's answer to the customer: back to level 0, the clock stops
    STATE_CHANGED = "state_changed"  # En espera, Resuelto, Cerrado stop the clock; Nuevo, En curso may start it


@dataclass
class PassReport:
    """What one pass did; `skipped` when another daemon's pass held the lock; `more` when more cases were due
    than one pass takes ([escalation] cases_per_pass)."""

    levels: int = 0
    breaches: int = 0
    reminders: int = 0
    closed: int = 0
    mails: int = 0
    skipped: bool = False
    more: bool = False

    def __str__(self) -> str:
        if self.skipped:
            return "another daemon's escalation pass is running; nothing done"
        return (f"{self.levels} level step(s), {self.breaches} resolution breach(es), {self.reminders} reminder(s), "
                f"{self.closed} closed; {self.mails} mail(s) queued"
                + ("; more cases are due, the next pass takes them at once" if self.more else ""))


def case_changed(session: Session, config: Config, case: Case, event: Event, now: datetime) -> None:
    """Move the case's clock and ladder for `event` and recompute `next_escalation_at`. Call it after the change
    (the new state, the entry added) in the same transaction; it flushes nothing."""
    calendar = calendar_of(config, case)
    target = config.sla_for(sla.priority_number(case.priority))
    if case.first_response_due_at is None:
        case.first_response_due_at = calendar.add(case.created_at, target.first_response)
    if event is Event.CUSTOMER_WROTE:
        case.held_since = case.reminded_at = None  # the customer answered: no reminder, no close for silence
        if case.state in sla.RUNNING_STATES:
            _start(config, case, calendar, now)
    elif event is Event.DESK_ANSWERED:
        case.first_response_at = case.first_response_at or now
        _stop(case, calendar, now)
        case.escalation_level = 0
    elif case.state in sla.RUNNING_STATES:
        case.held_since = case.reminded_at = None
        if _awaits_desk(session, case):
            _start(config, case, calendar, now)
    else:
        _stop(case, calendar, now)
        case.held_since = now if case.state in sla.HELD_STATES else None
        case.reminded_at = None
    _schedule(config, case, calendar)


def escalate_due(sessions: sessionmaker[Session], config: Config, now: datetime, *, batch: int = BATCH,
                 announce: Callable[[Session], object] | None = None) -> PassReport:
    """One pass at `now` over the cases whose `next_escalation_at` has come (the index; never a scan), at most
    [escalation] cases_per_pass of them, the longest due first, in batches of `batch`, one transaction each;
    `announce(session)` runs in each transaction that queued mail.

    The cases left for the next pass are never starved: each step moves a case's `next_escalation_at` later than
    it was (a level's wait, a target, the wait on the customer are each taken once), so the cases ahead of one
    left waiting are finitely many steps, and cases that fall due later queue behind it.

    Only one pass runs at a time across daemons (an advisory lock on PostgreSQL). Within it a case is taken only
    if its `next_escalation_at` is still the one the pass saw (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
    write lock from BEGIN IMMEDIATE), so even passes that overlap (`mailbot escalate --once` beside a daemon on
    SQLite) never do a step twice, and a case moves up at most one level per pass."""
    report = PassReport()
    bind = sessions.kw["bind"]
    assert isinstance(bind, Engine)
    lock = AdvisoryLock(bind, LOCK)
    if not lock.try_acquire():
        report.skipped = True
        return report
    try:
        limit = config.escalation.cases_per_pass
        with sessions() as session:
            seen = session.execute(select(Case.id, Case.next_escalation_at).where(Case.next_escalation_at <= now)
                                   .order_by(Case.next_escalation_at, Case.id).limit(limit + 1)).all()
        report.more, seen = len(seen) > limit, seen[:limit]
        for start in range(0, len(seen), batch):
            chunk = {case_id: due for case_id, due in seen[start:start + batch]}
            with sessions.begin() as session:
                mails = report.mails
                _pass_batch(session, config, chunk, now, report)
                if announce is not None and report.mails > mails:
                    announce(session)
    finally:
        lock.release()
    return report


def calendar_of(config: Config, case: Case) -> BusinessCalendar:
    """The clock the case runs on: 24/7 for priority 1, else its queue's calendar."""
    return config.calendar_for(case.queue, sla.priority_number(case.priority))


def hold_due(config: Config, case: Case, calendar: BusinessCalendar) -> datetime | None:
    """When the wait on the customer ends: the reminder of a case on hold (once), the close of a resolved one."""
    if case.held_since is None:
        return None
    if case.state is State.ON_HOLD and case.reminded_at is None:
        return calendar.add(case.held_since, config.escalation.remind_after)
    if case.state is State.RESOLVED:
        return calendar.add(case.held_since, config.escalation.auto_close_after)
    return None


def _clock(case: Case) -> sla.Clock:
    return sla.Clock(case.waiting_since, case.resolution_due_at, case.resolution_left)


def _set_clock(case: Case, clock: sla.Clock) -> None:
    case.waiting_since, case.resolution_due_at, case.resolution_left = (
        clock.waiting_since, clock.resolution_due_at, clock.resolution_left)


def _start(config: Config, case: Case, calendar: BusinessCalendar, now: datetime) -> None:
    """Start the clock and the wait for the next level, unless they run already (that wait keeps its start)."""
    if case.waiting_since is not None:
        return
    target = config.sla_for(sla.priority_number(case.priority))
    _set_clock(case, sla.start(_clock(case), calendar, target.resolution, now))
    ladder = config.ladder_for(case.queue)
    level = case.escalation_level
    case.escalation_due_at = calendar.add(now, ladder[level].after) if level < len(ladder) else None


def _stop(case: Case, calendar: BusinessCalendar, now: datetime) -> None:
    _set_clock(case, sla.stop(_clock(case), calendar, now))
    case.escalation_due_at = None


def _schedule(config: Config, case: Case, calendar: BusinessCalendar) -> None:
    resolution = case.resolution_due_at if case.resolution_breached_at is None else None
    case.next_escalation_at = sla.earliest((case.escalation_due_at, resolution, hold_due(config, case, calendar)))


def _awaits_desk(session: Session, case: Case) -> bool:
    """Whether the customer's newest mail is newer than the desk's newest answer (a note or a command is none)."""
    newest = session.scalar(select(Entry.kind).where(
        Entry.case_id == case.id, Entry.kind.in_((EntryKind.CUSTOMER, EntryKind.AGENT_REPLY)))
        .order_by(Entry.id.desc()).limit(1))
    return newest is EntryKind.CUSTOMER


def _pass_batch(session: Session, config: Config, seen: dict[int, datetime | None], now: datetime,
                report: PassReport) -> None:
    cases = session.scalars(select(Case).where(Case.id.in_(seen)).order_by(Case.id)
                            .with_for_update(skip_locked=True, of=Case)).unique().all()
    for case in cases:
        if case.next_escalation_at != seen[case.id]:
            continue  # another pass took this step already
        try:
            # One flush per case, when its savepoint ends: what the step reads (entries, history) it does not write.
            with session.begin_nested(), session.no_autoflush:
                _step(session, config, case, now, report)
        except Exception:  # one case's bug must not stop the others, nor fill the passes that come next
            log.exception("escalation of %s failed; it is tried again in %s", case.number, RETRY_FAILED)
            case.next_escalation_at = now + RETRY_FAILED


def _step(session: Session, config: Config, case: Case, now: datetime, report: PassReport) -> None:
    """Everything due for one case at `now`, each at most once: one level up, the resolution breach, the wait on
    the customer."""
    calendar = calendar_of(config, case)
    ladder = config.ladder_for(case.queue)
    if case.escalation_due_at is not None and case.escalation_due_at <= now:
        _climb(session, config, case, calendar, ladder, now, report)
    if (case.resolution_breached_at is None and case.resolution_due_at is not None
            and case.resolution_due_at <= now):
        _breach(session, config, case, ladder, now, report)
    due = hold_due(config, case, calendar)
    if due is not None and due <= now:
        if case.state is State.ON_HOLD:
            _remind(session, config, case, due, now, report)
        else:
            _close(session, config, case, due, now, report)
    _schedule(config, case, calendar)


def _climb(session: Session, config: Config, case: Case, calendar: BusinessCalendar,
           ladder: tuple[EscalationLevel, ...], now: datetime, report: PassReport) -> None:
    """One level up. The next level's wait counts from the instant this one fell due, so passes never drift."""
    due = case.escalation_due_at
    assert due is not None
    level = case.escalation_level + 1
    if level > len(ladder):  # the ladder was shortened under the case: it stays at the top
        case.escalation_due_at = None
        return
    rung = ladder[level - 1]
    tried = _tried(config, case, level)
    case.escalation_level = level
    case.escalation_due_at = calendar.add(due, ladder[level].after) if level < len(ladder) else None
    why = (f"{rung.after} of business time at level {level - 1} without an answer to the customer, "
           f"due {due.isoformat(timespec='minutes')}")
    notified = _tell(session, config, case, level, rung, tried, due, now)
    session.add(Escalation(case=case, kind=EscalationKind.LEVEL, level=level, due_at=due, at=now, why=why,
                           notified=notified))
    report.levels += 1
    report.mails += len(notified)


def _breach(session: Session, config: Config, case: Case, ladder: tuple[EscalationLevel, ...], now: datetime,
            report: PassReport) -> None:
    """The resolution target passed: recorded once, and the first level's contacts and the queue's agents told
    (template `resolution_breach`; level 0, the agents alone, when the queue has no ladder)."""
    due = case.resolution_due_at
    assert due is not None
    case.resolution_breached_at = now
    rung = ladder[0] if ladder else None
    notified = _tell(session, config, case, 1 if rung else 0, rung, _tried(config, case, 1), due, now,
                     breached="resolution")
    session.add(Escalation(case=case, kind=EscalationKind.RESOLUTION_BREACH, level=case.escalation_level,
                           due_at=due, at=now, why=f"resolution target missed, due {due.isoformat(timespec='minutes')}",
                           notified=notified))
    report.breaches += 1
    report.mails += len(notified)


def _remind(session: Session, config: Config, case: Case, due: datetime, now: datetime, report: PassReport) -> None:
    """One reminder to the customer of a case on hold; none again until the case is held anew."""
    assert case.held_since is not None
    queue = config.queue(case.queue)
    replies = last_entries(session, case, (EntryKind.AGENT_REPLY,), 1)
    context = reminder_context(config, queue, case, case.held_since, replies[0] if replies else None)
    enqueue_notice(session, config, queue, MailKind.REMINDER, case.contact.email, context, case,
                   contact=case.contact)
    case.reminded_at = now
    session.add(Escalation(case=case, kind=EscalationKind.REMINDER, level=case.escalation_level, due_at=due, at=now,
                           why=f"on hold for {config.escalation.remind_after}", notified=[case.contact.email]))
    report.reminders += 1
    report.mails += 1


def _close(session: Session, config: Config, case: Case, due: datetime, now: datetime, report: PassReport) -> None:
    """A resolved case the customer left unanswered is closed, with the satisfaction survey."""
    assert case.held_since is not None
    queue = config.queue(case.queue)
    resolved_at = case.held_since
    case.state, case.held_since, case.updated_at = State.CLOSED, None, now
    context = closing_context(config, queue, case, resolved_at, survey_key(desk_secret(session, config)))
    enqueue_notice(session, config, queue, MailKind.CLOSING, case.contact.email, context, case, contact=case.contact)
    session.add(Escalation(case=case, kind=EscalationKind.AUTO_CLOSE, level=case.escalation_level, due_at=due,
                           at=now, why=f"resolved for {config.escalation.auto_close_after} without a reply",
                           notified=[case.contact.email]))
    report.closed += 1
    report.mails += 1


def _tried(config: Config, case: Case, level: int) -> list[dict[str, object]]:
    """The levels below `level` told of this climb, and when: the agents from the start of the wait, then each
    level's newest step (the case's history, walked back down the ladder)."""
    queue = config.queue(case.queue)
    ladder = config.ladder_for(case.queue)
    steps: dict[int, datetime] = {}
    for row in reversed(case.escalations):
        if row.kind is EscalationKind.LEVEL and row.level < level and row.level not in steps:
            if steps and row.level > min(steps):
                break  # an earlier climb
            steps[row.level] = row.due_at
    start = case.waiting_since or case.created_at
    language = config.desk.language  # staff mails are written in the desk's language
    tried: list[dict[str, object]] = [{"level": 0, "name": agents_name(queue, language), "at": local(config, start)}]
    tried += [{"level": n, "name": ladder[n - 1].name if n <= len(ladder) else level_name(n, language),
               "at": local(config, steps[n])} for n in sorted(steps)]
    return tried


def _tell(session: Session, config: Config, case: Case, level: int, rung: EscalationLevel | None,
          tried: list[dict[str, object]], due: datetime, now: datetime, *,
          breached: str | None = None) -> list[str]:
    """Mail the level's contacts (template `escalation`, or `resolution_breach` for a breach) and the queue's
    agents (`escalation_agents`, or `resolution_breach`) the case's summary, in the desk's language; the addresses
    told."""
    queue = config.queue(case.queue)
    calendar = calendar_of(config, case)
    language = config.desk.language
    target = config.sla_for(sla.priority_number(case.priority))
    kind = breached or ("first_response" if case.first_response_at is None else "resolution")
    duration = target.first_response if kind == "first_response" else target.resolution
    waiting = calendar.business_time_between(case.waiting_since or case.created_at, now)
    summary = {"level": level, "name": rung.name if rung else agents_name(queue, language), "waiting": span(waiting),
               "breached": kind, "target": target_text(duration, language), "due_at": local(config, due),
               "tried": tried}
    context = escalation_context(config, queue, case, summary, last_entries(session, case))
    to_level, to_agents = ((MailKind.RESOLUTION_BREACH, MailKind.RESOLUTION_BREACH) if breached
                           else (MailKind.ESCALATION, MailKind.ESCALATION_AGENTS))
    told: list[str] = []
    for mail, recipients in ((to_level, rung.notify if rung else ()), (to_agents, queue.agent_recipients)):
        for recipient in recipients:
            enqueue_notice(session, config, queue, mail, recipient, context, case, language=language)
            told.append(recipient)
    return told
