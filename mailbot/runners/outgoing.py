"""The outgoing runner: drains the outbox (runners/drain.py) whenever ingest rings the doorbell or a row falls due."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from ..desk import outbox_service as outbox, transport_state
from ..desk.models import utcnow
from ..errors import first_line
from ..templates import Templates
from .base import Runner, Unavailable
from .doorbell import Doorbell
from .drain import Drain, DrainReport

log = logging.getLogger(__name__)
# The default lease when none is given: longer than one mail can take (connect, STARTTLS, login, MAIL, RCPT, DATA,
# each up to [smtp] timeout), so a live daemon's row is never taken over; the daemon passes one from its config.
LEASE = timedelta(minutes=10)
BATCH = 50  # rows per claim: what a daemon that dies leaves waiting for the lease to run out
STOP_CHECK = 0.5  # seconds: how soon `snooze` notices its stop event


def default_owner() -> str:
    """host:pid:random, the name a daemon's claims carry: readable in the outbox, unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class OutgoingRunner(Runner):
    """Drains the outbox. `drain` sends everything due, batch by claimed batch, unless the server refuses all mail;
    `once` (a pass of `Runner.run`) raises `Unavailable` then, so the loop backs off; `snooze` waits for the
    doorbell (ingest committed rows), the next row falling due, or `poll_interval`, whichever comes first.

    Several runners, in one daemon or in several, may drain one outbox: each row is claimed under a lease first."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], templates: Templates,
                 doorbell: Doorbell | None = None, *, owner: str | None = None, lease: timedelta = LEASE,
                 batch: int = BATCH) -> None:
        super().__init__("outgoing")
        self.config, self.sessions, self.templates = config, sessions, templates
        self.doorbell = doorbell or Doorbell()
        self.owner, self.lease, self.batch = owner or default_owner(), lease, batch
        self._stop = threading.Event()  # the daemon's stop, once `run` has it: a drain ends after the row in hand

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        super().run(stop)

    def once(self) -> DrainReport:
        try:
            report = self.drain()
        except SQLAlchemyError as exc:
            raise Unavailable(f"outbox: database error: {first_line(exc)}") from exc
        if report.unavailable is not None:
            raise Unavailable(f"SMTP {self.config.smtp.host}:{self.config.smtp.port}: {report.unavailable}")
        return report

    def snooze(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + self._until_next_due()
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.doorbell.wait(min(left, STOP_CHECK)):
                return

    def drain(self) -> DrainReport:
        """Try every row that is due now once; a row that fails again is left for a later drain. Database errors
        are raised (nothing is charged for them); call it from a thread without a running event loop."""
        drain = Drain(self.config, self.sessions, self.templates, owner=self.owner, lease=self.lease,
                      batch=self.batch, stop=self._stop)
        report = asyncio.run(drain.run())
        if report.unavailable is not None or report.sent:  # for `outbox list`: no row shows the server's words
            try:
                with self.sessions.begin() as session:
                    transport_state.remember(session, f"{self.config.smtp.host}:{self.config.smtp.port}",
                                             report.unavailable, report.sent)
            except SQLAlchemyError as exc:  # a note for `outbox list`: the drain itself went as reported
                log.warning("the SMTP server's state for `outbox list` was not kept: %s", first_line(exc))
        return report

    def _until_next_due(self) -> float:
        poll = self.config.daemon.poll_interval
        try:
            with self.sessions() as session:
                due = outbox.next_due(session)
        except SQLAlchemyError:
            return poll  # the next pass meets the same error and reports it
        return poll if due is None else max(0.0, min(poll, (due - utcnow()).total_seconds()))
