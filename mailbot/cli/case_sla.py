"""What `cases list|show` says of escalation: the --overdue/--level/--state/--queue filters and the SLA fields."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_

from ..config import Config
from ..desk import sla
from ..desk.escalation import calendar_of
from ..desk.models import Case, State
from .output import iso, local_time


def add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overdue", action="store_true",
                        help="only open cases past their first-response or resolution target")
    parser.add_argument("--level", type=int, metavar="N", help="only cases at escalation level N (0 = the agents)")
    parser.add_argument("--state", choices=[state.value for state in State], metavar="STATE",
                        help="only cases in this state: " + ", ".join(state.value for state in State))
    parser.add_argument("--queue", metavar="Q", help="only the cases of queue Q (its key)")


def filtered(query: Select[Case], args: argparse.Namespace, now: datetime) -> Select[Case]:
    """The query narrowed by the filters given; --overdue uses stored due times only, so it needs no calendar."""
    if args.overdue:
        query = query.where(Case.state != State.CLOSED, or_(
            and_(Case.first_response_at.is_(None), Case.first_response_due_at <= now),
            Case.resolution_breached_at.is_not(None),
            Case.resolution_due_at <= now,
        ))
    if args.level is not None:
        query = query.where(Case.escalation_level == args.level)
    if args.state is not None:
        query = query.where(Case.state == State(args.state))
    if args.queue is not None:
        query = query.where(Case.queue == args.queue)
    return query


def sla_json(config: Config, case: Case, now: datetime) -> dict[str, Any]:
    """The fields issue 13 adds to a case's JSON: level, next pass instant, SLA targets at `now`, the history."""
    try:
        calendar = calendar_of(config, case)
    except KeyError:  # a queue no longer configured: its clock cannot be read
        targets: dict[str, Any] | None = None
    else:
        target = config.sla_for(sla.priority_number(case.priority))
        clock = sla.Clock(case.waiting_since, case.resolution_due_at, case.resolution_left)
        targets = {
            "first_response": _status(sla.first_response_status(
                target.first_response, case.first_response_due_at, case.first_response_at, calendar, now)),
            "resolution": {**_status(sla.resolution_status(
                target.resolution, clock, case.resolution_breached_at, case.state, calendar, now)),
                "breached_at": iso(case.resolution_breached_at)},
        }
    return {
        "escalation_level": case.escalation_level,
        "next_escalation_at": iso(case.next_escalation_at),
        "sla": targets,
        "escalations": [{"kind": row.kind.value, "level": row.level, "due_at": iso(row.due_at), "at": iso(row.at),
                         "why": row.why, "notified": list(row.notified)} for row in case.escalations],
        "rating": case.rating,
    }


def sla_lines(config: Config, data: dict[str, Any]) -> list[str]:
    """`cases show` in words: the level, each target's time left or breached, the escalation history; times in
    the desk's zone, as every other time `cases show` prints."""
    lines = [f"{'level':>14}: {data['escalation_level']}"]
    for name, status in (data["sla"] or {}).items():
        if status["met_at"] is not None:
            state = f"met at {local_time(config, status['met_at'])}" + (" (late)" if status["breached"] else "")
        elif status["breached"]:
            state = "BREACHED"
        elif status["left_seconds"] is not None:
            state = f"{_hours_minutes(int(status['left_seconds']))} of business time left"
        else:
            state = "met"
        lines.append(f"{name.replace('_', ' '):>14}: {status['target']} target, {state}")
    for row in data["escalations"]:
        lines.append(f"  ⇧ {local_time(config, row['at'])} {row['kind']} level {row['level']} "
                     f"(due {local_time(config, row['due_at'])}): {row['why']}; "
                     f"told {', '.join(row['notified']) or 'nobody'}")
    return lines


def _hours_minutes(seconds: int) -> str:
    """Business time as a person counts it: "36h 00m", never "1 day, 12:00:00" (a business day is not 24 hours)."""
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _status(status: sla.TargetStatus) -> dict[str, Any]:
    return {"target": str(status.target), "due_at": iso(status.due_at), "met_at": iso(status.met_at),
            "left_seconds": None if status.left is None else int(status.left.total_seconds()),
            "breached": status.breached}
