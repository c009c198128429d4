"""The SLA clock and the wording of targets: tables of real cases and properties of start and stop."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.config_escalation import DESK_HOLIDAYS, DESK_HOURS
from mailbot.desk import sla
from mailbot.desk.calendar import ALWAYS_OPEN, BusinessCalendar
from mailbot.desk.durations import Duration, parse_duration
from mailbot.desk.escalation_mail import span, target_text
from mailbot.desk.models import Priority, State

BOGOTA = ZoneInfo("America/Bogota")
OFFICE = BusinessCalendar.from_table({"timezone": "America/Bogota", "hours": DESK_HOURS, "holidays": DESK_HOLIDAYS})


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BOGOTA)  # the 23rd is a Monday


@pytest.mark.parametrize(("priority", "number"), [
    (Priority.CRITICAL, 1), (Priority.HIGH, 2), (Priority.MODERATE, 3), (Priority.LOW, 4)])
def test_priority_number_is_the_sla_key(priority: Priority, number: int) -> None:
    assert sla.priority_number(priority) == number


@pytest.mark.parametrize(("calendar", "resolution", "started", "due"), [
    (OFFICE, "3d", at(23, 9), at(26, 9)),  # three business days
    (OFFICE, "4h", at(27, 18, 30), at(28, 11, 30)),  # Friday evening into Saturday morning
    (OFFICE, "1d", at(28, 12), at(30, 12)),  # Saturday to Monday, Sunday closed
    (OFFICE, "2h", at(29, 10), at(30, 9)),  # a Sunday start waits for Monday's opening
    (ALWAYS_OPEN, "4h", at(28, 23), at(29, 3)),  # priority 1: through the night
])
def test_a_first_start_counts_the_whole_target_in_the_calendar(calendar: BusinessCalendar, resolution: str,
                                                               started: datetime, due: datetime) -> None:
    assert sla.start(sla.Clock(), calendar, parse_duration(resolution), started).resolution_due_at == due


@pytest.mark.parametrize(("stopped", "restarted", "due"), [
    (at(23, 10), at(23, 12), at(26, 11)),  # two hours waiting on the customer push the target two hours
    (at(23, 10), at(24, 10), at(27, 9)),  # a whole business day on hold pushes it a whole business day
    (at(23, 18), at(24, 7), at(26, 10)),  # only Monday's last open hour was spent on hold, not the night
])
def test_time_waiting_on_the_customer_never_counts(stopped: datetime, restarted: datetime, due: datetime) -> None:
    clock = sla.start(sla.Clock(), OFFICE, Duration(days=3), at(23, 9))
    clock = sla.start(sla.stop(clock, OFFICE, stopped), OFFICE, Duration(days=3), restarted)
    assert clock.resolution_due_at == due


def test_a_second_customer_mail_does_not_restart_a_running_clock() -> None:
    clock = sla.start(sla.Clock(), OFFICE, Duration(days=3), at(23, 9))
    assert sla.start(clock, OFFICE, Duration(days=3), at(24, 9)) is clock


def test_a_clock_stopped_after_its_target_has_nothing_left() -> None:
    clock = sla.start(sla.Clock(), OFFICE, parse_duration("4h"), at(23, 9))
    assert sla.stop(clock, OFFICE, at(25, 9)).resolution_left == timedelta()


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(BOGOTA))
gaps = st.timedeltas(min_value=timedelta(), max_value=timedelta(days=20))


@given(start=instants, run=gaps, pause=gaps, hours=st.integers(1, 200))
def test_stop_then_start_keeps_the_business_time_left(start: datetime, run: timedelta, pause: timedelta,
                                                      hours: int) -> None:
    clock = sla.start(sla.Clock(), OFFICE, Duration(clock=timedelta(hours=hours)), start)
    stopped = sla.stop(clock, OFFICE, start + run)
    assert stopped.resolution_left is not None
    restarted = sla.start(stopped, OFFICE, Duration(clock=timedelta(hours=hours)), start + run + pause)
    assert restarted.resolution_due_at is not None
    assert OFFICE.business_time_between(start + run + pause, restarted.resolution_due_at) == stopped.resolution_left
    assert restarted.resolution_due_at >= clock.resolution_due_at  # a pause only moves it later


@pytest.mark.parametrize(("met_at", "now", "left", "breached"), [
    (None, at(23, 10), timedelta(hours=3), False),
    (None, at(23, 14), timedelta(), True),
    (at(23, 12), at(30, 9), None, False),
    (at(23, 14), at(30, 9), None, True),  # answered, but late
])
def test_first_response_status(met_at: datetime | None, now: datetime, left: timedelta | None,
                               breached: bool) -> None:
    status = sla.first_response_status(parse_duration("4h"), at(23, 13), met_at, OFFICE, now)
    assert (status.left, status.breached) == (left, breached)


def test_a_resolved_case_has_no_resolution_time_left() -> None:
    clock = sla.stop(sla.start(sla.Clock(), OFFICE, Duration(days=3), at(23, 9)), OFFICE, at(23, 10))
    assert sla.resolution_status(Duration(days=3), clock, None, State.RESOLVED, OFFICE, at(24, 9)).left is None
    assert sla.resolution_status(Duration(days=3), clock, None, State.ON_HOLD, OFFICE, at(24, 9)).left == (
        timedelta(hours=35))


@pytest.mark.parametrize(("instants", "first"), [
    ((None, None), None), ((at(24, 9), None, at(23, 9)), at(23, 9)), ((at(24, 9),), at(24, 9))])
def test_earliest_ignores_what_is_not_scheduled(instants: tuple[datetime | None, ...],
                                                first: datetime | None) -> None:
    assert sla.earliest(instants) == first


@pytest.mark.parametrize(("text", "language", "said"), [
    ("4h", "es", "4 h"), ("30m", "es", "30 min"), ("1d", "es", "1 día hábil"), ("3d", "es", "3 días hábiles"),
    ("1d4h", "es", "1 día hábil 4 h"), ("2d", "en", "2 business days"), ("4h20m", "en", "4 h 20 min"),
])
def test_targets_read_as_the_desk_says_them(text: str, language: str, said: str) -> None:
    assert target_text(parse_duration(text), language) == said


@pytest.mark.parametrize(("value", "said"), [
    (timedelta(), "0 min"), (timedelta(minutes=45), "45 min"), (timedelta(hours=26, minutes=5), "26 h 5 min"),
    (timedelta(hours=4), "4 h")])
def test_business_time_waiting_reads_in_hours_and_minutes(value: timedelta, said: str) -> None:
    assert span(value) == said
