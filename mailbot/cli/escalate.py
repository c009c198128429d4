"""`mailbot escalate --once`: one escalation pass at the current time, then exit (the daemon passes by itself)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import store
from ..config import Config
from ..desk.escalation import escalate_due
from ..desk.models import utcnow
from .output import EXIT_OK, examples


def register(commands: Any) -> None:
    escalate = commands.add_parser(
        "escalate", help="one escalation pass now",
        description="Climb due cases one level, record resolution breaches, send reminders, close resolved cases "
                    "left unanswered; then exit. `mailbot run` does the same every [escalation] interval.",
        **examples("mailbot escalate --once", "mailbot cases list --overdue   # what is late, before the pass"))
    escalate.add_argument("--once", action="store_true", required=True,
                          help="one pass at the current time, then exit (required: the daemon runs the others)")
    escalate.set_defaults(handler=cmd_escalate)


def cmd_escalate(config: Config, args: argparse.Namespace) -> int:
    engine = store.make_engine(config.database_url)
    try:
        store.ensure_schema(engine, create=False)
        report = escalate_due(store.session_factory(engine), config, utcnow())
    finally:
        engine.dispose()
    print(f"escalation pass: {report}")
    return EXIT_OK
