"""The `mailbot` command: run the daemon, look at cases and the outbox, migrate the database."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import store
from .config import Config, ConfigError, load_config
from .app import App
from .daemon import run_forever, run_once
from .desk.models import Case, Outbox, OutboxStatus
from .errors import first_line
from .locks import LockError, database_lock
from .store import SchemaError

log = logging.getLogger("mailbot")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """An expected failure: printed as one line, no traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in ("alembic", "flufl.bounce", "apscheduler"):  # each logs routine steps at INFO
        logging.getLogger(chatty).setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        config = load_config(args.config, secrets=args.handler is cmd_run)
        for warning in config.warnings:
            log.warning("%s", warning)
        result: int = args.handler(config, args)
        return result
    except ConfigError as exc:
        print(f"mailbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UserError, SchemaError, LockError) as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except SQLAlchemyError as exc:
        print(f"mailbot: database error: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        # `mailbot cases list | head`: the reader left; say nothing more (Python's documented recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", description="Help-desk mail gateway.")
    parser.add_argument("--config", help="configuration file (default: $MAILBOT_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon", description="Poll every mailbox, ingest, send replies.")
    run.add_argument("--once", action="store_true", help="one full cycle (poll, process, drain the outbox), then exit")
    run.set_defaults(handler=cmd_run)

    cases = commands.add_parser("cases", help="list or show cases").add_subparsers(required=True, metavar="ACTION")
    listing = cases.add_parser("list", help="list cases, newest first")
    listing.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    listing.set_defaults(handler=cmd_cases_list)
    show = cases.add_parser("show", help="show one case with its entries")
    show.add_argument("number", help="case number, e.g. CS0000001")
    show.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    show.set_defaults(handler=cmd_cases_show)

    outbox = commands.add_parser("outbox", help="replies waiting, sent or dead").add_subparsers(
        required=True, metavar="ACTION")
    out_list = outbox.add_parser("list", help="list outbox rows, newest first")
    out_list.add_argument("--json", action="store_true", help="machine-readable output")
    out_list.add_argument("--status", choices=[s.value for s in OutboxStatus], help="only rows with this status")
    out_list.set_defaults(handler=cmd_outbox_list)

    db = commands.add_parser("db", help="database schema").add_subparsers(required=True, metavar="ACTION")
    db.add_parser("upgrade", help="create or migrate the schema to this version").set_defaults(handler=cmd_db_upgrade)
    return parser


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    with database_lock(config.database_url):  # one `mailbot run` per SQLite database; none needed on PostgreSQL
        app = App.open(config)
        try:
            if args.once:
                report = run_once(app)
                if report.unavailable:
                    raise UserError("; ".join(report.unavailable))
                return EXIT_OK
            stop = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            run_forever(app, stop)
            return EXIT_OK
        finally:
            app.close()


@contextmanager
def _session(config: Config) -> Iterator[Session]:
    """A read-only look: it never creates a database or a schema (a mistyped path says so)."""
    engine = store.make_engine(config.database_url, writer=False)
    try:
        store.ensure_schema(engine, create=False)
        with store.session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def cmd_cases_list(config: Config, args: argparse.Namespace) -> int:
    with _session(config) as session:
        cases = session.scalars(select(Case).order_by(Case.id.desc())).all()
        rows = [case_json(case) for case in cases]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            row["updated_at"] = _local(config, row["updated_at"])
        _print_table(rows, [("number", "Número"), ("subject", "Breve descripción"), ("queue", "Cola"),
                            ("contact", "Contacto"), ("account", "Cuenta"), ("priority", "Prioridad"),
                            ("state", "Estado"), ("updated_at", "Actualizado")])
    return EXIT_OK


def cmd_cases_show(config: Config, args: argparse.Namespace) -> int:
    with _session(config) as session:
        case = session.scalars(select(Case).where(Case.number == args.number.upper())).one_or_none()
        if case is None:
            raise UserError(f"no case {args.number}")
        data = case_json(case)
        data["entries"] = [
            {
                "direction": e.direction.value,
                "kind": e.kind.value,
                "author": e.author,
                "subject": e.subject,
                "text": e.text,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
                    for a in e.attachments
                ],
                "message_id": e.message_id,
                "at": _iso(e.at),
            }
            for e in case.entries
        ]
    if args.json:
        _print_json(data)
        return EXIT_OK
    for key in ("number", "subject", "queue", "state", "priority", "contact", "account", "created_at", "updated_at"):
        value = _local(config, data[key]) if key.endswith("_at") else data[key]
        print(f"{key:>11}: {value}")
    for entry in data["entries"]:
        arrow = "←" if entry["direction"] == "in" else "→"
        print(f"\n{arrow} {_local(config, entry['at'])} {entry['kind']} {entry['author']}\n  {entry['subject']}")
        for attachment in entry["attachments"]:
            print(f"  📎 {attachment['filename']} ({attachment['content_type']}, {attachment['size']} bytes)")
        print("  " + entry["text"].strip().replace("\n", "\n  "))
    return EXIT_OK


def case_json(case: Case) -> dict[str, Any]:
    """The stable JSON shape of a case (documented in the README)."""
    return {
        "number": case.number,
        "subject": case.subject,
        "queue": case.queue,
        "state": case.state.value,
        "priority": case.priority.value,
        "contact": case.contact.email,
        "account": case.account,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
    }


def cmd_outbox_list(config: Config, args: argparse.Namespace) -> int:
    with _session(config) as session:
        query = select(Outbox).order_by(Outbox.id.desc())
        if args.status:
            query = query.where(Outbox.status == OutboxStatus(args.status))
        rows = [
            {
                "id": row.id,
                "kind": row.kind.value,
                "status": row.status.value,
                "recipient": row.recipient,
                "queue": row.queue,
                "subject": row.subject,
                "attempts": row.attempts,
                "next_attempt_at": _iso(row.next_attempt_at) if row.status is OutboxStatus.PENDING else None,
                "sent_at": _iso(row.sent_at),
                "last_error": row.last_error,
                "message_id": row.message_id,
            }
            for row in session.scalars(query)
        ]
    if args.json:
        _print_json(rows)
    else:
        _print_table(rows, [("id", "Id"), ("kind", "Tipo"), ("status", "Estado"), ("recipient", "Para"),
                            ("attempts", "Intentos"), ("sent_at", "Enviado"), ("last_error", "Último error")])
    return EXIT_OK


def cmd_db_upgrade(config: Config, args: argparse.Namespace) -> int:
    engine = store.make_engine(config.database_url)
    try:
        store.upgrade(engine)
        print(f"database schema at revision {store.current_revision(engine)}")
    finally:
        engine.dispose()
    return EXIT_OK


def _local(config: Config, iso: str) -> str:
    """A stored UTC time as the desk reads it: 2026-11-23 09:15 in its own time zone."""
    return f"{datetime.fromisoformat(iso).astimezone(config.desk.zone):%Y-%m-%d %H:%M}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
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
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
