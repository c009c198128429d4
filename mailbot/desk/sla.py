"""A case's SLA clock and targets in business time: when the clock runs, when each target falls due, time left."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .calendar import BusinessCalendar
from .durations import Duration
from .models import Priority, State

# The clock runs while the case waits on the desk; "En espera", "Resuelto" and "Cerrado" wait on nobody at the desk.
RUNNING_STATES = frozenset({State.NEW, State.IN_PROGRESS})
# Waiting on the customer: one reminder in "En espera", an automatic close in "Resuelto".
HELD_STATES = frozenset({State.ON_HOLD, State.RESOLVED})


def priority_number(priority: Priority) -> int:
    """1 for "1 - Crítica" … 4 for "4 - Baja": the key of [sla]."""
    return int(priority.value.split(" ", 1)[0])


@dataclass(frozen=True)
class Clock:
    """The resolution clock: running since `waiting_since` toward `resolution_due_at`, or stopped with
    `resolution_left` of business time to go. Never started: all three None."""

    waiting_since: datetime | None = None
    resolution_due_at: datetime | None = None
    resolution_left: timedelta | None = None

    @property
    def running(self) -> bool:
        return self.waiting_since is not None


def start(clock: Clock, calendar: BusinessCalendar, resolution: Duration, now: datetime) -> Clock:
    """Run the clock from `now`; a clock already running keeps its start (a second customer mail is no new wait).

    The first start counts the whole target in the calendar's own terms ("3d" = three business days); a restart
    counts what was left as open time, so the time the case waited on the customer never counts."""
    if clock.running:
        return clock
    if clock.resolution_left is None:
        return Clock(now, calendar.add(now, resolution), None)
    return Clock(now, calendar.add_business_time(now, clock.resolution_left), None)


def stop(clock: Clock, calendar: BusinessCalendar, now: datetime) -> Clock:
    """Stop the clock at `now`, keeping the open time left until the resolution target (zero once it passed)."""
    if not clock.running:
        return clock
    assert clock.resolution_due_at is not None
    return Clock(None, None, calendar.business_time_between(now, clock.resolution_due_at))


@dataclass(frozen=True)
class TargetStatus:
    """One target of a case at an instant: due when (None while the clock is stopped), met when, business time
    left (None once met; zero once breached), breached or not."""

    target: Duration
    due_at: datetime | None
    met_at: datetime | None
    left: timedelta | None
    breached: bool


def first_response_status(target: Duration, due_at: datetime | None, met_at: datetime | None,
                          calendar: BusinessCalendar, now: datetime) -> TargetStatus:
    """The first answer's target: met by the first agent answer, breached if that came (or is still missing) late."""
    if due_at is None:
        return TargetStatus(target, None, met_at, None, False)
    if met_at is not None:
        return TargetStatus(target, due_at, met_at, None, met_at > due_at)
    return TargetStatus(target, due_at, None, calendar.business_time_between(now, due_at), now >= due_at)


def resolution_status(target: Duration, clock: Clock, breached_at: datetime | None, state: State,
                      calendar: BusinessCalendar, now: datetime) -> TargetStatus:
    """The resolution target: only the clock's running time counts; met once the case is resolved in time."""
    resolved = state in (State.RESOLVED, State.CLOSED)
    if clock.running:
        assert clock.resolution_due_at is not None
        left = calendar.business_time_between(now, clock.resolution_due_at)
        return TargetStatus(target, clock.resolution_due_at, None, left,
                            breached_at is not None or now >= clock.resolution_due_at)
    return TargetStatus(target, None, None, None if resolved else clock.resolution_left, breached_at is not None)


def earliest(instants: Iterable[datetime | None]) -> datetime | None:
    """The first of the instants given, ignoring None; None when there is none."""
    present = [instant for instant in instants if instant is not None]
    return min(present) if present else None
