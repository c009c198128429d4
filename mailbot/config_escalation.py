"""Read the business-time settings: the calendars, the SLA targets per priority and the escalation ladder."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config_table import Reader, Table
from .desk.calendar import TABLE_KEYS, BusinessCalendar
from .desk.durations import Duration, parse_duration

# With no [calendars] the desk keeps its own published hours (Monday–Friday 07:00–19:00, Saturday 08:00–13:00,
# Colombian festivos) in [desk] timezone, under this name.
DEFAULT_CALENDAR = "default"
DESK_HOURS = {day: ["07:00-19:00"] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": ["08:00-13:00"]}
DESK_HOLIDAYS = "CO"
CALENDAR_NAME = "[a-z0-9][a-z0-9_-]*"


@dataclass(frozen=True)
class SlaTarget:
    """Business time from a case's opening to its first answer and to its resolution."""

    first_response: Duration
    resolution: Duration


DEFAULT_SLA: Mapping[int, SlaTarget] = {
    priority: SlaTarget(parse_duration(first), parse_duration(resolution))
    for priority, first, resolution in ((1, "30m", "4h"), (2, "2h", "1d"), (3, "4h", "3d"), (4, "8h", "5d"))
}


@dataclass(frozen=True)
class EscalationLevel:
    """A rung above the queue's agents: who is told once a case has waited `after` business time on the rung below."""

    name: str
    notify: tuple[str, ...]
    after: Duration


@dataclass(frozen=True)
class EscalationConfig:
    """The scheduler's escalation pass. `levels` is the ladder above the agents; none unless configured, as there
    is nobody to default to. A pass takes at most `cases_per_pass` due cases, the longest due first, so its time
    does not grow with a backlog; the next passes take the rest."""

    interval: float = 60.0
    cases_per_pass: int = 100
    remind_after: Duration = Duration(days=3)
    auto_close_after: Duration = Duration(days=5)
    survey_url: str | None = None
    levels: tuple[EscalationLevel, ...] = ()


def read_calendars(reader: Reader, data: dict[str, Any], timezone: str) -> dict[str, BusinessCalendar]:
    """Each [calendars.NAME] table, in the file's order; a calendar's timezone defaults to `timezone`."""
    calendars = reader.table(data, "calendars", required=False)
    if not calendars.data:
        return {DEFAULT_CALENDAR: BusinessCalendar.from_table(
            {"timezone": timezone, "hours": DESK_HOURS, "holidays": DESK_HOLIDAYS})}
    found = {}
    for name, item in calendars.data.items():
        calendars.seen.add(name)
        if not re.fullmatch(CALENDAR_NAME, name):
            raise calendars.error(name, "expected a short lower-case name such as oficina for the calendar")
        found[name] = _calendar(Table(reader, f"calendars.{name}", item), timezone)
    return found


def _calendar(table: Table, timezone: str) -> BusinessCalendar:
    table.seen.update(TABLE_KEYS)
    table.done()  # here rather than in from_table, for the typo hint
    try:
        return BusinessCalendar.from_table({"timezone": timezone, **table.data})
    except ValueError as error:
        raise table.invalid(error) from None


def read_sla(table: Table) -> dict[int, SlaTarget]:
    """[sla] "1" … "4"; a priority or a key left out keeps its default."""
    sla = {}
    for priority, default in DEFAULT_SLA.items():
        table.seen.add(str(priority))
        row = Table(table.reader, f"{table.name}.{priority}", table.data.get(str(priority), {}))
        sla[priority] = SlaTarget(row.duration("first_response", default.first_response),
                                  row.duration("resolution", default.resolution))
        row.done()
    table.done()
    return sla


def read_escalation(table: Table) -> EscalationConfig:
    default = EscalationConfig()
    table.seen.add("levels")
    escalation = EscalationConfig(
        interval=table.number("interval", default.interval, 1, 86400),
        cases_per_pass=table.integer("cases_per_pass", default.cases_per_pass, 1, 100_000),
        remind_after=table.duration("remind_after", default.remind_after),
        auto_close_after=table.duration("auto_close_after", default.auto_close_after),
        survey_url=table.optional_text("survey_url", r"https?://\S+", 'an http:// or https:// URL, or "" for none'),
        levels=read_levels(table.reader, f"{table.name}.levels", table.data.get("levels", [])),
    )
    table.done()
    return escalation


def read_levels(reader: Reader, name: str, data: object) -> tuple[EscalationLevel, ...]:
    """A [[…levels]] array; its tables are named by level number, 1 being the first rung above the agents."""
    if not isinstance(data, list):
        raise reader.error(name, "expected [[tables]] of name, notify and after", data)
    levels = []
    for number, item in enumerate(data, start=1):
        table = Table(reader, f"{name}.{number}", item)
        levels.append(EscalationLevel(
            name=table.text("name", expected='the name of the level, such as "Supervisor de soporte"'),
            notify=table.addresses("notify", required=True),
            after=table.duration("after", None),
        ))
        table.done()
    return tuple(levels)
