"""What every command shares: one-line user errors, read-only database sessions, tables, JSON and local times."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .. import store
from ..config import Config
from ..mail.sanitize import terminal_safe

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """An expected failure: printed as one line, no traceback."""


def examples(*commands: str) -> dict[str, Any]:
    """A parser's epilog of examples (every `--help` shows some), kept on their lines by argparse."""
    return {"epilog": "examples:\n" + "\n".join(f"  {command}" for command in commands),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


@contextmanager
def read_session(config: Config, writer: bool = False) -> Iterator[Session]:
    """A look at the desk that never creates a database or a schema (a mistyped path, or a schema behind, says
    so). A reader never blocks the daemon; a writer (`write_session`) queues behind it like any writer."""
    engine = store.make_engine(config.database_url, writer=writer)
    try:
        store.ensure_schema(engine, create=False)
        with store.session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def write_session(config: Config) -> AbstractContextManager[Session]:
    """For the commands that change the desk (retry, reset, quarantine): `read_session` as a writer."""
    return read_session(config, writer=True)


def local_time(config: Config, iso: str) -> str:
    """A stored UTC time as the desk reads it: 2026-11-23 09:15 in its own time zone."""
    return f"{datetime.fromisoformat(iso).astimezone(config.desk.zone):%Y-%m-%d %H:%M}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    if not rows:
        print("(nothing)")
        return
    cells = [[_cell(row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(title), *(len(r[i]) for r in cells)) for i, (_, title) in enumerate(columns)]
    print("  ".join(title.ljust(w) for (_, title), w in zip(columns, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(value.ljust(w) for value, w in zip(row, widths)).rstrip())


def _cell(value: object, width: int = 48) -> str:
    text = "" if value is None else " ".join(terminal_safe(str(value)).split())
    return text if len(text) <= width else text[: width - 1] + "…"
