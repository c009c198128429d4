"""Unit tests for mailbot.desk.calendar: open time across weekends, festivos, split days, midnight and DST."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.desk.calendar import ALWAYS_OPEN, BusinessCalendar
from mailbot.desk.durations import Duration, parse_duration

UTC = timezone.utc
WEEKDAYS_07_19 = {day: ["07:00-19:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
OFICINA_TABLE: dict[str, Any] = {
    "timezone": "America/Bogota",
    "hours": WEEKDAYS_07_19 | {"sat": ["08:00-13:00"]},
    "holidays": "CO",
    "closed": ["2026-12-24"],
    "open": [],
}


def calendar(zone: str, hours: dict[str, list[str]], **extra: Any) -> BusinessCalendar:
    return BusinessCalendar.from_table({"timezone": zone, "hours": hours, **extra})


# 2026 in Colombia: Monday 12 Jan (Epiphany, moved), Thursday 2 and Friday 3 Apr, Monday 16 Nov (Cartagena,
# moved), Friday 25 Dec are festivos; Tuesday 6 Jan is not (Ley Emiliani moved it to Monday 12).
CALENDARS = {
    "oficina": BusinessCalendar.from_table(OFICINA_TABLE),
    "split": calendar("America/Bogota", {day: ["14:00-18:00", "08:00-12:00"] for day in WEEKDAYS_07_19}),
    "night": calendar("America/Bogota", {day: ["00:00-06:00", "20:00-24:00"] for day in WEEKDAYS_07_19}),
    "extra-open": calendar("America/Bogota", WEEKDAYS_07_19, holidays="CO", open=["2026-11-16", "2026-11-21"]),
    "24/7": ALWAYS_OPEN,
    "new-york": calendar("America/New_York", WEEKDAYS_07_19, holidays="US"),
    "madrid-24h": calendar("Europe/Madrid", {day: ["00:00-24:00"] for day in (*WEEKDAYS_07_19, "sat", "sun")}),
    # Ranges that DST switches cut: 8 Mar 2026 New York skips 02:00-03:00; Madrid skips 02:00-03:00 on 29 Mar and
    # repeats it on 25 Oct.
    "ny-sunday-night": calendar("America/New_York", {"sun": ["01:00-03:00"]}),
    "ny-sunday-gap": calendar("America/New_York", {"sun": ["02:30-04:00"]}),
    "madrid-sunday": calendar("Europe/Madrid", {"sun": ["02:00-03:00"]}),
}


def rows(table: list[tuple[Any, ...]]) -> list[Any]:
    """Table rows as pytest params; the last column is the id."""
    return [pytest.param(*row[:-1], id=row[-1]) for row in table]


def when(text: str, cal: BusinessCalendar) -> datetime:
    """An instant written with its offset, or as the calendar's local wall time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(cal.timezone))


# (calendar, start, duration, expected, id)
ADD_CASES = [
    ("oficina", "2026-11-20 18:30", "2h", "2026-11-21 09:30", "friday-evening-to-saturday-morning"),
    ("oficina", "2026-11-21 12:00", "3h", "2026-11-23 09:00", "saturday-noon-to-monday"),
    ("oficina", "2026-11-14 12:00", "3h", "2026-11-17 09:00", "monday-festivo-to-tuesday"),
    ("oficina", "2026-12-23 18:00", "2h", "2026-12-26 09:00", "24-december-closed-then-christmas"),
    ("oficina", "2026-01-10 12:00", "2h", "2026-01-13 08:00", "epiphany-moved-to-monday-12-january"),
    ("oficina", "2026-01-05 18:00", "2h", "2026-01-06 08:00", "6-january-itself-is-worked"),
    ("oficina", "2026-04-01 18:00", "2h", "2026-04-04 09:00", "maundy-thursday-and-good-friday"),
    ("oficina", "2026-11-20 18:00", "1h", "2026-11-20 19:00", "using-the-day-to-its-close-is-the-close"),
    ("oficina", "2026-11-22 10:00", "30m", "2026-11-23 07:30", "sunday-counts-from-monday-opening"),
    ("oficina", "2026-11-21 14:00", "0m", "2026-11-23 07:00", "nothing-added-when-closed-is-next-opening"),
    ("oficina", "2026-11-23 10:00", "0m", "2026-11-23 10:00", "nothing-added-when-open-is-now"),
    ("oficina", "2026-11-23 07:00", "66h", "2026-11-30 08:00", "a-week-of-open-time"),
    ("oficina", "2026-11-24 15:00", "2d", "2026-11-26 15:00", "two-business-days-same-time"),
    ("oficina", "2026-11-20 10:00", "1d", "2026-11-21 10:00", "friday-to-saturday-same-time"),
    ("oficina", "2026-11-20 15:00", "1d", "2026-11-21 13:00", "clamped-to-saturday-close"),
    ("oficina", "2026-11-20 07:30", "1d", "2026-11-21 08:00", "before-saturday-opening-moves-to-it"),
    ("oficina", "2026-11-21 14:00", "1d", "2026-11-24 07:00", "days-count-from-the-next-opening"),
    ("oficina", "2026-11-13 10:00", "2d", "2026-11-17 10:00", "days-skip-sunday-and-the-festivo"),
    ("oficina", "2026-11-24 15:00", "1d4h", "2026-11-25 19:00", "days-then-hours"),
    ("split", "2026-11-24 11:00", "2h", "2026-11-24 15:00", "lunch-break-skipped"),
    ("split", "2026-11-24 11:00", "1h", "2026-11-24 12:00", "due-when-the-morning-closes"),
    ("split", "2026-11-24 12:30", "30m", "2026-11-24 14:30", "lunch-counts-from-afternoon-opening"),
    ("split", "2026-11-27 17:00", "2h", "2026-11-30 09:00", "friday-afternoon-to-monday-morning"),
    ("split", "2026-11-24 14:00", "2d", "2026-11-26 14:00", "two-days-from-the-afternoon-opening"),
    ("split", "2026-11-24 12:30", "1d", "2026-11-25 14:00", "a-day-from-lunch-is-the-next-afternoon"),
    ("night", "2026-11-26 23:00", "2h", "2026-11-27 01:00", "range-to-24h-joins-range-from-0h"),
    ("night", "2026-11-27 23:00", "2h", "2026-11-30 01:00", "friday-night-to-monday-night"),
    ("night", "2026-11-26 05:00", "2h", "2026-11-26 21:00", "morning-range-to-evening-range"),
    ("extra-open", "2026-11-13 18:00", "2h", "2026-11-16 08:00", "festivo-worked-as-extra-open-date"),
    ("extra-open", "2026-11-20 18:00", "2h", "2026-11-21 08:00", "closed-saturday-opened-with-monday-hours"),
    ("24/7", "2026-11-21T12:00+00:00", "3h", "2026-11-21T15:00+00:00", "always-open"),
    ("24/7", "2026-12-24T23:00+00:00", "90m", "2026-12-25T00:30+00:00", "always-open-knows-no-holidays"),
    ("24/7", "2026-11-24T15:00+00:00", "2d", "2026-11-26T15:00+00:00", "always-open-day-is-24-hours"),
    ("new-york", "2026-03-06T18:00-05:00", "2h", "2026-03-09T08:00-04:00", "new-york-spring-forward-weekend"),
    ("new-york", "2026-10-30T18:00-04:00", "2h", "2026-11-02T08:00-05:00", "new-york-fall-back-weekend"),
    ("new-york", "2026-11-25T18:00-05:00", "2h", "2026-11-27T08:00-05:00", "new-york-thanksgiving"),
    ("madrid-24h", "2026-03-28T12:00+01:00", "24h", "2026-03-29T13:00+02:00", "madrid-24h-spring-forward"),
    ("madrid-24h", "2026-10-24T12:00+02:00", "24h", "2026-10-25T11:00+01:00", "madrid-24h-fall-back"),
    ("madrid-24h", "2026-03-28T12:00+01:00", "1d", "2026-03-29T13:00+02:00", "a-day-moves-with-a-switch-in-hours"),
]


@pytest.mark.parametrize(("name", "start", "duration", "expected"), rows(ADD_CASES))
def test_add(name: str, start: str, duration: str, expected: str) -> None:
    cal = CALENDARS[name]
    result = cal.add(when(start, cal), parse_duration(duration))
    assert result == when(expected, cal)
    assert result.tzinfo is UTC


# (calendar, instant, open, next opening, id)
OPEN_CASES = [
    ("oficina", "2026-11-23 07:00", True, "2026-11-23 07:00", "opening-instant-is-open"),
    ("oficina", "2026-11-23 18:59:59", True, "2026-11-23 18:59:59", "last-second-is-open"),
    ("oficina", "2026-11-23 19:00", False, "2026-11-24 07:00", "closing-instant-is-closed"),
    ("oficina", "2026-11-21 13:00", False, "2026-11-23 07:00", "saturday-close-to-monday"),
    ("oficina", "2026-11-16 10:00", False, "2026-11-17 07:00", "festivo-is-closed"),
    ("oficina", "2026-12-24 10:00", False, "2026-12-26 08:00", "extra-closed-date-then-christmas"),
    ("split", "2026-11-24 12:00", False, "2026-11-24 14:00", "lunch-is-closed"),
    ("night", "2026-11-26 23:59", True, "2026-11-26 23:59", "range-ending-at-24h-is-open-late"),
    ("night", "2026-11-27 00:00", True, "2026-11-27 00:00", "range-starting-at-0h-is-open-at-midnight"),
    ("night", "2026-11-28 00:00", False, "2026-11-30 00:00", "friday-24h-is-saturday-closed"),
    ("extra-open", "2026-11-16 07:00", True, "2026-11-16 07:00", "extra-open-festivo"),
    ("24/7", "2026-12-25T03:00+00:00", True, "2026-12-25T03:00+00:00", "always-open-at-christmas"),
    ("new-york", "2026-03-09T06:59-04:00", False, "2026-03-09T07:00-04:00", "new-york-opens-at-07-edt"),
]


@pytest.mark.parametrize(("name", "instant", "is_open", "opening"), rows(OPEN_CASES))
def test_is_open_and_next_open(name: str, instant: str, is_open: bool, opening: str) -> None:
    cal = CALENDARS[name]
    assert cal.is_open(when(instant, cal)) is is_open
    assert cal.next_open(when(instant, cal)) == when(opening, cal)


# (calendar, from, to, open time between, id)
BETWEEN_CASES = [
    ("oficina", "2026-11-20 18:30", "2026-11-23 09:00", timedelta(hours=7, minutes=30), "over-a-weekend"),
    ("oficina", "2026-11-14 12:00", "2026-11-17 09:00", timedelta(hours=3), "over-a-monday-festivo"),
    ("oficina", "2026-12-24 00:00", "2026-12-25 00:00", timedelta(), "24-december-closed"),
    ("oficina", "2026-11-23 10:00", "2026-11-23 10:00", timedelta(), "same-instant"),
    ("oficina", "2026-11-23 12:00", "2026-11-23 10:00", timedelta(), "backwards-is-zero"),
    ("split", "2026-11-24 07:00", "2026-11-24 20:00", timedelta(hours=8), "two-ranges-a-day"),
    ("night", "2026-11-26 00:00", "2026-11-27 00:00", timedelta(hours=10), "ranges-at-both-midnights"),
    ("24/7", "2026-11-26T00:00+00:00", "2026-11-27T00:00+00:00", timedelta(hours=24), "always-open-day"),
    ("madrid-24h", "2026-03-29 00:00", "2026-03-30 00:00", timedelta(hours=23), "madrid-spring-forward-day-is-23h"),
    ("madrid-24h", "2026-10-25 00:00", "2026-10-26 00:00", timedelta(hours=25), "madrid-fall-back-day-is-25h"),
    ("ny-sunday-night", "2026-03-08 00:00", "2026-03-09 00:00", timedelta(hours=1), "new-york-01-03-loses-the-gap"),
    ("ny-sunday-night", "2026-03-15 00:00", "2026-03-16 00:00", timedelta(hours=2), "new-york-01-03-ordinary"),
    ("ny-sunday-gap", "2026-03-08 00:00", "2026-03-09 00:00", timedelta(minutes=30), "new-york-02-30-reads-as-03-30"),
    ("madrid-sunday", "2026-03-29 00:00", "2026-03-30 00:00", timedelta(), "madrid-02-03-skipped"),
    ("madrid-sunday", "2026-10-25 00:00", "2026-10-26 00:00", timedelta(hours=2), "madrid-02-03-repeated"),
]


@pytest.mark.parametrize(("name", "start", "end", "expected"), rows(BETWEEN_CASES))
def test_business_time_between(name: str, start: str, end: str, expected: timedelta) -> None:
    cal = CALENDARS[name]
    assert cal.business_time_between(when(start, cal), when(end, cal)) == expected


def test_the_issue_toml_example_loads_with_native_toml_dates() -> None:
    table = tomllib.loads(
        """
        [calendars.oficina]
        timezone = "America/Bogota"
        holidays = "CO"
        closed = [2026-12-24]
        open = []

        [calendars.oficina.hours]
        mon = ["07:00-19:00"]
        tue = ["07:00-19:00"]
        wed = ["07:00-19:00"]
        thu = ["07:00-19:00"]
        fri = ["07:00-19:00"]
        sat = ["08:00-13:00"]
        """
    )
    assert BusinessCalendar.from_table(table["calendars"]["oficina"]) == CALENDARS["oficina"]


# (change to the oficina table, error message start, id)
BAD_TABLES: list[tuple[Any, ...]] = [
    ({"timezone": "Bogota"}, "timezone: expected an IANA time zone such as \"America/Bogota\", got 'Bogota'", "zone"),
    ({"timezone": None}, 'timezone: expected an IANA time zone such as "America/Bogota", missing', "no-zone"),
    ({"hours": None}, 'hours: expected a table of weekdays such as { mon = ["07:00-19:00"] }, missing', "no-hours"),
    ({"hours": {}}, "hours: no day has opening hours", "no-open-day"),
    ({"hours": {"monday": ["07:00-19:00"]}}, "hours.monday: unknown day; expected one of mon, tue, wed", "day-name"),
    ({"hours": {"mon": "07:00-19:00"}}, "hours.mon: expected a list of ranges such as [", "not-a-list"),
    ({"hours": {"mon": [7]}}, 'hours.mon[0]: expected a range "HH:MM-HH:MM" such as "07:00-19:00", got 7', "not-text"),
    ({"hours": {"mon": ["7-19"]}}, 'hours.mon[0]: expected a range "HH:MM-HH:MM" such as "07:00-19:00", got', "form"),
    ({"hours": {"mon": ["08:00-25:00"]}}, 'hours.mon[0]: expected a range "HH:MM-HH:MM"', "hour-25"),
    ({"hours": {"mon": ["20:00-24:30"]}}, "hours.mon[0]: '20:00-24:30' ends after 24:00", "past-24h"),
    (
        {"hours": {"mon": ["19:00-07:00"]}},
        "hours.mon[0]: '19:00-07:00' does not end after it starts; a range cannot cross midnight: split",
        "reversed",
    ),
    ({"hours": {"mon": ["08:00-08:00"]}}, "hours.mon[0]: '08:00-08:00' does not end after it starts", "empty-range"),
    (
        {"hours": {"mon": ["08:00-12:00", "11:00-14:00"]}},
        'hours.mon: ranges "08:00-12:00" and "11:00-14:00" overlap',
        "overlap",
    ),
    ({"holidays": "XX"}, "holidays: expected a country code the holidays package knows", "unknown-country"),
    ({"holidays": 57}, 'holidays: expected a country code such as "CO", or "" for none, got 57', "country-type"),
    ({"closed": "2026-12-24"}, 'closed: expected a list of dates such as ["2026-12-24"], got', "closed-not-a-list"),
    ({"closed": ["24/12/2026"]}, "closed[0]: expected a date such as \"2026-12-24\", got '24/12/2026'", "date-form"),
    ({"closed": ["2026-02-30"]}, "closed[0]: expected a date such as \"2026-12-24\", got '2026-02-30'", "no-such-date"),
    ({"open": ["2026-12-24"]}, "open: 2026-12-24 is also a closed date", "open-and-closed"),
    ({"festivos": "CO"}, "festivos: unknown key; expected one of timezone, hours, holidays, closed, open", "key"),
]


@pytest.mark.parametrize(("change", "message"), rows(BAD_TABLES))
def test_a_bad_table_names_the_item_and_what_is_expected(change: dict[str, Any], message: str) -> None:
    table = {key: value for key, value in (OFICINA_TABLE | change).items() if value is not None}
    with pytest.raises(ValueError) as error:
        BusinessCalendar.from_table(table)
    assert str(error.value).startswith(message)


def test_naive_datetimes_and_negative_time_are_refused() -> None:
    cal = CALENDARS["oficina"]
    with pytest.raises(ValueError, match="expected an aware datetime, got the naive 2026-11-23T10:00:00"):
        cal.is_open(datetime(2026, 11, 23, 10))
    with pytest.raises(ValueError, match="cannot add negative business time"):
        cal.add_business_time(datetime(2026, 11, 23, 15, tzinfo=UTC), timedelta(minutes=-1))


# --- properties ---------------------------------------------------------------------------------------------------

# The 2026 DST switches of New York and Madrid, spring and autumn
SWITCHES = [datetime(2026, m, d, h, tzinfo=UTC) for m, d, h in ((3, 8, 7), (3, 29, 1), (10, 25, 1), (11, 1, 6))]
calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
instants = st.one_of(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.builds(lambda at, shift: at + shift, st.sampled_from(SWITCHES), st.timedeltas(-timedelta(3), timedelta(3))),
)
open_times = st.one_of(st.just(timedelta()), st.timedeltas(timedelta(), timedelta(hours=60)))
PROPERTY = settings(max_examples=200, deadline=None)


def is_open_or_closing(cal: BusinessCalendar, t: datetime) -> bool:
    return cal.is_open(t) or cal.is_open(t - timedelta(microseconds=1))


@PROPERTY
@given(calendars, instants, open_times)
def test_adding_then_measuring_gives_the_time_back(cal: BusinessCalendar, t: datetime, d: timedelta) -> None:
    assert cal.business_time_between(t, cal.add_business_time(t, d)) == d


@PROPERTY
@given(calendars, instants, instants, open_times)
def test_add_is_monotone_in_the_start(cal: BusinessCalendar, t: datetime, u: datetime, d: timedelta) -> None:
    t, u = sorted((t, u))
    assert cal.add_business_time(t, d) <= cal.add_business_time(u, d)


@PROPERTY
@given(calendars, instants, open_times, open_times)
def test_add_is_monotone_in_the_time_added(cal: BusinessCalendar, t: datetime, d: timedelta, e: timedelta) -> None:
    d, e = sorted((d, e))
    assert t <= cal.add_business_time(t, d) <= cal.add_business_time(t, e)


@PROPERTY
@given(calendars, instants, open_times)
def test_a_deadline_is_never_inside_closed_time(cal: BusinessCalendar, t: datetime, d: timedelta) -> None:
    result = cal.add_business_time(t, d)
    if d:
        assert is_open_or_closing(cal, result)
    else:
        assert result == cal.next_open(t) and cal.is_open(result)


@PROPERTY
@given(calendars, instants)
def test_next_open_is_open_and_skips_only_closed_time(cal: BusinessCalendar, t: datetime) -> None:
    opening = cal.next_open(t)
    assert cal.is_open(opening) and opening >= t
    assert cal.is_open(t) is (opening == t)
    assert cal.business_time_between(t, opening) == timedelta()


@PROPERTY
@given(calendars, instants, instants, instants)
def test_open_time_adds_up(cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert cal.business_time_between(a, b) + cal.business_time_between(b, c) == cal.business_time_between(a, c)


business_days = st.integers(min_value=1, max_value=6)


@PROPERTY
@given(calendars, instants, instants, business_days)
def test_business_days_are_monotone_in_the_start(cal: BusinessCalendar, t: datetime, u: datetime, n: int) -> None:
    t, u = sorted((t, u))
    assert cal.add(t, Duration(days=n)) <= cal.add(u, Duration(days=n))


@PROPERTY
@given(calendars, instants, business_days, open_times)
def test_business_days_move_forward_to_open_time(cal: BusinessCalendar, t: datetime, n: int, d: timedelta) -> None:
    one_fewer, result = cal.add(t, Duration(days=n - 1)), cal.add(t, Duration(days=n))
    assert t <= one_fewer < result <= cal.add(t, Duration(days=n, clock=d))
    assert is_open_or_closing(cal, result)


@PROPERTY
@given(instants, business_days, open_times)
def test_a_day_is_24_hours_when_always_open(t: datetime, n: int, d: timedelta) -> None:
    assert ALWAYS_OPEN.add(t, Duration(days=n, clock=d)) == t + timedelta(days=n) + d
