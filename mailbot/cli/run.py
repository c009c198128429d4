"""`mailbot run [--once]`: the daemon, or one pass of every runner."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from .. import metrics
from ..app import App
from ..config import Config
from ..daemon import run_forever, run_once
from ..locks import database_lock
from .output import EXIT_OK, UserError


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="run the daemon", description="Poll every mailbox, ingest, send replies.")
    run.add_argument("--once", action="store_true", help="one full cycle (poll, process, drain the outbox), then exit")
    run.set_defaults(handler=cmd_run)


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
            with metrics.serving(config, app.engine):  # when [metrics] listen is set
                run_forever(app, stop)
            return EXIT_OK
        finally:
            app.close()
