"""Business time: when a desk is open, and instants and durations measured in its open time.

A `BusinessCalendar` holds weekly opening hours in a time zone, a country's public holidays and extra closed and
open dates. Its methods are pure functions of aware datetimes and answer in UTC: `is_open(t)`, `next_open(t)`,
`add_business_time(t, d)`, `business_time_between(a, b)` and `add(t, duration)` for the configuration's
durations. Time comes from the process clock, never from a mail's Date header.

Open time ("30m", "4h"). Only open time counts: with Monday–Friday 07:00–19:00 and Saturday 08:00–13:00, Friday
18:30 + 2h = Saturday 09:30 and Saturday 12:00 + 3h = Monday 09:00 (Tuesday 09:00 when Monday is a festivo).
A deadline that uses a range up to its end is that closing time (Friday 18:00 + 1h = Friday 19:00), so a result is
never inside closed time; adding nothing to a closed instant gives the next opening.

Business days ("2d"): N open days later at the same time of day, what a person means by "two business days":
Tuesday 15:00 + 2d = Thursday 15:00, and Friday 10:00 + 1d = Saturday 10:00. A time the target day is not open
moves to its next opening that day (Friday 07:30 + 1d = Saturday 08:00), or is clamped to the day's closing time
(Friday 15:00 + 1d = Saturday 13:00). Counting starts at `next_open(t)`: Saturday 14:00 + 1d = Tuesday 07:00
(Monday 07:00 is the start). The time of day is the time elapsed since local midnight, so on a day whose DST
switch falls inside opening hours it moves by the switch. "1d4h" adds the day, then four hours of open time.

Hours are wall-clock ranges of the zone, "00:00-24:00" for a whole day. A wall time that a spring-forward switch
skips reads as PEP 495's fold=0 does (02:30 in New York on that Sunday is 03:30 EDT); one that a fall-back switch
repeats is its first occurrence. Extra closed dates close a day whatever else holds; holidays close it unless it is
an extra open date; an extra open date has its weekday's hours or, when that weekday is closed, the hours of the
first weekday (Monday first) that has some.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays import country_holidays, list_supported_countries

from .durations import Duration

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TABLE_KEYS = ("timezone", "hours", "holidays", "closed", "open")
_DAY = timedelta(days=1)
_MIDNIGHT = timedelta()
_RANGE = re.compile(r"([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
_RANGE_EXPECTED = 'a range "HH:MM-HH:MM" such as "07:00-19:00"'
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Interval = tuple[datetime, datetime]


class OpeningHours(NamedTuple):
    """One range of a day's wall-clock time, as offsets from local midnight; the end may be 24 h."""

    start: timedelta
    end: timedelta

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """Read "07:00-19:00"; a range ends on the day it starts, at 24:00 at the latest."""
        match = _RANGE.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"expected {_RANGE_EXPECTED}, {_got(text)}")
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        hours = cls(timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2))
        if hours.end > _DAY:
            raise ValueError(f"{text!r} ends after 24:00")
        if hours.start >= hours.end:
            raise ValueError(
                f"{text!r} does not end after it starts; a range cannot cross midnight: "
                f'split "22:00-06:00" into "22:00-24:00" on one day and "00:00-06:00" on the next'
            )
        return hours

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly hours (Monday first) in a time zone, minus a country's holidays and extra closed dates, plus extra
    open dates. Construction validates, so every calendar opens again after any instant.

    Each date's open intervals are computed once and kept (a few hundred per year of use); holidays are looked up
    once per country and year.
    """

    weekly: tuple[tuple[OpeningHours, ...], ...]
    timezone: str = "UTC"
    holidays: str = ""
    closed_dates: frozenset[date] = frozenset()
    open_dates: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _days: dict[date, tuple[Interval, ...]] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weekly) != len(WEEKDAYS):
            raise ValueError(f"hours: expected the ranges of 7 days, Monday first, got {len(self.weekly)}")
        weekly = tuple(tuple(sorted(day)) for day in self.weekly)
        for name, ranges in zip(WEEKDAYS, weekly):
            for before, after in zip(ranges, ranges[1:]):
                if before.end > after.start:
                    raise ValueError(f'hours.{name}: ranges "{before}" and "{after}" overlap')
        if not any(weekly):
            raise ValueError("hours: no day has opening hours; give at least one, or use no calendar for 24/7")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'timezone: expected an IANA time zone such as "America/Bogota", got {self.timezone!r}')
        if self.holidays and self.holidays not in list_supported_countries():
            raise ValueError(
                f'holidays: expected a country code the holidays package knows, such as "CO", or "" for none, '
                f"got {self.holidays!r}"
            )
        both = sorted(self.open_dates & self.closed_dates)
        if both:
            raise ValueError(f"open: {both[0].isoformat()} is also a closed date; a date can be only one of them")
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "_zone", zone)

    @classmethod
    def from_table(cls, table: Mapping[str, object]) -> BusinessCalendar:
        """Build from one TOML table of `[calendars]`; ValueError names the bad key and what is expected.

        timezone = "America/Bogota"                       # required
        hours = { mon = ["07:00-19:00"], sat = ["08:00-13:00"] }   # a missing day is closed
        holidays = "CO"                                   # country code of the holidays package; "" = none
        closed = ["2026-12-24"]                           # extra closed dates (TOML dates work too)
        open = []                                         # extra open dates
        """
        unknown = sorted(set(table) - set(TABLE_KEYS))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown key; expected one of {', '.join(TABLE_KEYS)}")
        zone = table.get("timezone")
        if not isinstance(zone, str):
            raise ValueError(f'timezone: expected an IANA time zone such as "America/Bogota", {_got(zone)}')
        country = table.get("holidays", "")
        if not isinstance(country, str):
            raise ValueError(f'holidays: expected a country code such as "CO", or "" for none, got {country!r}')
        return cls(
            weekly=_weekly(table.get("hours")),
            timezone=zone,
            holidays=country,
            closed_dates=_dates("closed", table.get("closed", [])),
            open_dates=_dates("open", table.get("open", [])),
        )

    def is_open(self, t: datetime) -> bool:
        """Whether the desk is open at t (a range includes its start, not its end)."""
        t = _utc(t)
        start, _end, _day = next(self._intervals_after(t))
        return start <= t

    def next_open(self, t: datetime) -> datetime:
        """t itself when open, else the next opening."""
        t = _utc(t)
        start, _end, _day = next(self._intervals_after(t))
        return max(start, t)

    def add_business_time(self, t: datetime, d: timedelta) -> datetime:
        """The first instant by which d of open time has passed since t (see the module docstring)."""
        if d < timedelta():
            raise ValueError(f"cannot add negative business time {d}")
        t = _utc(t)
        if not d:
            return self.next_open(t)
        intervals = self._intervals_after(t)
        while True:
            start, end, _day = next(intervals)
            start = max(start, t)
            if d <= end - start:
                return start + d
            d -= end - start

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The open time from a to b; zero when b is not after a."""
        a, b = _utc(a), _utc(b)
        total = timedelta()
        if b <= a:
            return total
        intervals = self._intervals_after(a)
        while True:
            start, end, _day = next(intervals)
            if start >= b:
                return total
            total += min(end, b) - max(start, a)

    def add(self, t: datetime, duration: Duration) -> datetime:
        """t plus business days, then open time (see the module docstring for what a business day is)."""
        if not duration.days:
            return self.add_business_time(t, duration.clock)
        t = _utc(t)
        start, _end, day = next(self._intervals_after(t))
        since_midnight = max(start, t) - self._instant(day, _MIDNIGHT)
        target = day
        for _ in range(duration.days):
            target += _DAY
            while not self._intervals_on(target):
                target += _DAY
        at = self._at_time_of_day(target, since_midnight)
        return self.add_business_time(at, duration.clock) if duration.clock else at

    def _at_time_of_day(self, day: date, since_midnight: timedelta) -> datetime:
        """The open instant of an open day at that time of day: the next opening if closed then, else its close."""
        at = self._instant(day, _MIDNIGHT) + since_midnight
        intervals = self._intervals_on(day)
        for start, end in intervals:
            if at < end:
                return max(at, start)
        return intervals[-1][1]

    def _intervals_after(self, t: datetime) -> Iterator[tuple[datetime, datetime, date]]:
        """The open intervals ending after t, in order, with their date; endless, as some weekday has hours."""
        day = t.astimezone(self._zone).date() - _DAY  # a DST switch near midnight can push a day's end past t
        while True:
            for start, end in self._intervals_on(day):
                if end > t:
                    yield start, end, day
            day += _DAY

    def _intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The date's open intervals in UTC, computed once."""
        intervals = self._days.get(day)
        if intervals is None:
            intervals = self._days[day] = self._compute_intervals(day)
        return intervals

    def _compute_intervals(self, day: date) -> tuple[Interval, ...]:
        ranges = self._hours_on(day)
        if not ranges:
            return ()
        # Kept inside the day and apart from each other even where a DST gap reorders wall times.
        cursor, next_midnight = self._instant(day, _MIDNIGHT), self._instant(day + _DAY, _MIDNIGHT)
        intervals = []
        for hours in ranges:
            start = max(self._instant(day, hours.start), cursor)
            end = min(self._instant(day, hours.end), next_midnight)
            if start < end:
                intervals.append((start, end))
                cursor = end
        return tuple(intervals)

    def _hours_on(self, day: date) -> tuple[OpeningHours, ...]:
        if day in self.closed_dates:
            return ()
        if day in self.open_dates:
            return self.weekly[day.weekday()] or next(hours for hours in self.weekly if hours)
        if self.holidays and day in _holiday_dates(self.holidays, day.year):
            return ()
        return self.weekly[day.weekday()]

    def _instant(self, day: date, wall: timedelta) -> datetime:
        """The UTC instant when the zone's clock shows `wall` past midnight of `day` (PEP 495 fold=0)."""
        return (datetime.combine(day, time()) + wall).replace(tzinfo=self._zone).astimezone(UTC)


ALWAYS_OPEN = BusinessCalendar(weekly=((OpeningHours(_MIDNIGHT, _DAY),),) * len(WEEKDAYS))
"""24/7: priority 1, and queues when no calendar is configured."""


@lru_cache(maxsize=None)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    """A country's public holidays in one year, on the dates they are observed (Colombia's Ley Emiliani Mondays)."""
    return frozenset(country_holidays(country, years=year))


def _weekly(hours: object) -> tuple[tuple[OpeningHours, ...], ...]:
    if not isinstance(hours, Mapping):
        raise ValueError(f'hours: expected a table of weekdays such as {{ mon = ["07:00-19:00"] }}, {_got(hours)}')
    for name in hours:
        if name not in WEEKDAYS:
            raise ValueError(f"hours.{name}: unknown day; expected one of {', '.join(WEEKDAYS)}")
    weekly = []
    for name in WEEKDAYS:
        ranges = hours.get(name, [])
        if not isinstance(ranges, list):
            raise ValueError(f'hours.{name}: expected a list of ranges such as ["07:00-19:00"], {_got(ranges)}')
        day = []
        for index, text in enumerate(ranges):
            if not isinstance(text, str):
                raise ValueError(f"hours.{name}[{index}]: expected {_RANGE_EXPECTED}, {_got(text)}")
            try:
                day.append(OpeningHours.parse(text))
            except ValueError as error:
                raise ValueError(f"hours.{name}[{index}]: {error}") from None
        weekly.append(tuple(day))
    return tuple(weekly)


def _dates(key: str, values: object) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f'{key}: expected a list of dates such as ["2026-12-24"], {_got(values)}')
    dates = set()
    for index, value in enumerate(values):
        day = _date(value)
        if day is None:
            raise ValueError(f'{key}[{index}]: expected a date such as "2026-12-24", {_got(value)}')
        dates.add(day)
    return frozenset(dates)


def _date(value: object) -> date | None:
    """A TOML date or an ISO "2026-12-24" string; None for anything else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:  # 2026-02-30
            return None
    return None


def _utc(t: datetime) -> datetime:
    if t.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got the naive {t.isoformat()}")
    return t.astimezone(UTC)


def _got(value: object) -> str:
    """The end of an error message: what was there instead (TOML has no null, so None is a missing key)."""
    return "missing" if value is None else f"got {value!r}"


def _clock(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
