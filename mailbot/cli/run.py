"""`mailbot run [--once]`: the daemon, or one pass of every runner."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from .. import metrics
from ..app import App
from ..config import Config, ConfigError, load_config
from ..daemon import run_forever, run_once
from ..locks import database_lock
from .output import EXIT_OK, UserError

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="run the daemon",
        description="The daemon: an intake runner per mailbox (IDLE where offered, else polling), the outgoing "
                    "runner and the scheduler (escalation, reminders, auto-close), until SIGTERM or Ctrl-C; "
                    "SIGHUP reloads the configuration and templates.",
        epilog="examples:\n  mailbot --config /etc/mailbot/mailbot.toml run\n"
               "  mailbot --config /etc/mailbot/mailbot.toml run --once   # from cron or a script",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--once", action="store_true",
                     help="one pass of every runner (each mailbox, the scheduler's jobs, the whole outbox), then "
                          "exit; 1 if anything was unavailable or a template kept a mail from being sent")
    # The demo runs in a terminal: closing it (SIGHUP) must stop everything, not reload. Not for operators.
    run.add_argument("--hangup-stops", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(handler=cmd_run)


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    with database_lock(config.database_url):  # one `mailbot run` per SQLite database; none needed on PostgreSQL
        if args.once:
            app = App.open(config)
            try:
                report = run_once(app)
            finally:
                app.close()
            problems = report.unavailable + report.outbox.unsent
            if problems:
                raise UserError("; ".join(problems))
            return EXIT_OK
        signals = _Signals(hangup_stops=args.hangup_stops)
        while True:
            app = App.open(config)
            try:
                with metrics.serving(config, app.engine):  # when [metrics] listen is set
                    clean = run_forever(app, signals.generation)
            finally:
                app.close()
            if not clean:  # never start new runners beside one that is stuck or keeps dying: exit, be restarted
                raise UserError("stopped: a runner kept failing or did not stop; see the log above")
            if signals.stopping.is_set():
                return EXIT_OK
            config = _reloaded(config)
            signals.next_generation()


class _Signals:
    """SIGTERM and SIGINT stop the daemon; SIGHUP ends the runners' generation so they start again on a
    reloaded configuration (Mailman's master passes SIGHUP on the same way). Either lets the pass in hand end."""

    def __init__(self, *, hangup_stops: bool = False) -> None:
        self.stopping = threading.Event()
        self.generation = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        signal.signal(signal.SIGHUP, self._stop if hangup_stops else lambda *_: self.generation.set())

    def _stop(self, *_: object) -> None:
        self.stopping.set()
        self.generation.set()

    def next_generation(self) -> None:
        self.generation = threading.Event()
        if self.stopping.is_set():  # a SIGTERM during the reload
            self.generation.set()


def _reloaded(config: Config) -> Config:
    """The configuration file read again, templates included (the new App reads them); the old one if the new
    one does not load, or names another database (the lock held is for this one)."""
    try:
        fresh = load_config(config.path, secrets=True)
    except ConfigError as exc:
        log.error("SIGHUP: the configuration no longer loads, keeping the running one: %s", exc)
        return config
    if fresh.database_url != config.database_url:
        log.error("SIGHUP: [database] url changed; a new database needs a restart, keeping the running one")
        return config
    log.info("SIGHUP: configuration reloaded from %s", config.path)
    return fresh
