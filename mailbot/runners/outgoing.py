"""The outgoing runner: claim due outbox rows, have each rendered (desk/rendering), send it over one SMTP connection
through the transport, and record the outcome through the outbox service."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .. import logs, metrics
from ..config import Config
from ..desk import outbox_service as outbox, transport_state
from ..desk.accounts import hash_password
from ..desk.models import Case, Outbox, OutboxStatus, utcnow
from ..desk.rendering import OutgoingMail, RenderError, plain_text, render
from ..errors import first_line
from ..mail.smtp_transport import PermanentDeliveryError, ServerUnavailable, SmtpTransport, TemporaryDeliveryError
from ..templates import Templates
from .base import Runner, Unavailable
from .doorbell import Doorbell

log = logging.getLogger(__name__)

# The default lease when none is given: longer than one mail can take (connect, STARTTLS, login, MAIL, RCPT, DATA,
# each up to [smtp] timeout), so a live daemon's row is never taken over; the daemon passes one from its config.
LEASE = timedelta(minutes=10)
BATCH = 50  # rows per claim: what a daemon that dies leaves waiting for the lease to run out
STOP_CHECK = 0.5  # seconds: how soon `snooze` notices its stop event


@dataclass
class DrainReport:
    """What one drain did; `unavailable` says why it stopped early when the server could take no mail at all."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    unavailable: str | None = None
    unsent: list[str] = field(default_factory=list)  # one line per row its template or queue kept from being sent


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
        report = asyncio.run(self._drain())
        if report.unavailable is not None or report.sent:  # for `outbox list`: no row shows the server's words
            with self.sessions.begin() as session:
                transport_state.remember(session, f"{self.config.smtp.host}:{self.config.smtp.port}",
                                         report.unavailable, report.sent)
        return report

    def _until_next_due(self) -> float:
        poll = self.config.daemon.poll_interval
        try:
            with self.sessions() as session:
                due = outbox.next_due(session)
        except SQLAlchemyError:
            return poll  # the next pass meets the same error and reports it
        return poll if due is None else max(0.0, min(poll, (due - utcnow()).total_seconds()))

    async def _drain(self) -> DrainReport:
        report = DrainReport()
        started = utcnow()  # rows retried during this drain fall due after it: each row is tried once per drain
        async with SmtpTransport(self.config.smtp) as transport:
            while report.unavailable is None and not self._stop.is_set():
                with self.sessions.begin() as session:
                    batch = outbox.claim(session, self.owner, self.batch, self.lease, due_by=started)
                if not batch:
                    break
                await self._drain_batch(batch, transport, report)
        return report

    async def _drain_batch(self, batch: list[int], transport: SmtpTransport, report: DrainReport) -> None:
        left = list(batch)
        try:
            while left and not self._stop.is_set():  # SIGTERM: the rest of the claim is released, not sent
                row_id = left[0]
                with self._about(row_id):  # every line about the row names its case, queue and Message-ID
                    try:
                        accepted = await self._attempt(row_id, transport, report)
                    except ServerUnavailable as exc:
                        report.unavailable = str(exc)
                        metrics.send_failed("unavailable")
                        return
                    except SQLAlchemyError:
                        raise  # the database, not this row: the drain stops and says so
                    except Exception as exc:  # a bug with one row must not stop the rows behind it
                        log.exception("outbox row %s failed", row_id)
                        accepted = None
                        self._failed(row_id, f"{type(exc).__name__}: {first_line(exc)}", False, report)
                    left.pop(0)
                    if accepted is not None:
                        self._sent(row_id, accepted, report)
        finally:
            self._release(left)

    def _about(self, row_id: int) -> AbstractContextManager[None]:
        with self.sessions() as session:
            queue, message_id, number = session.execute(
                select(Outbox.queue, Outbox.message_id, Case.number).outerjoin(Case, Case.id == Outbox.case_id)
                .where(Outbox.id == row_id)).one()
        return logs.about(case=number, queue=queue, message_id=message_id)

    async def _attempt(self, row_id: int, transport: SmtpTransport, report: DrainReport) -> OutgoingMail | None:
        """Render and send one claimed row; the mail if the server accepted it, None if the attempt failed."""
        with self.sessions.begin() as session:
            row = outbox.begin_attempt(session, row_id, self.owner, self.lease)
        if row is None:
            log.warning("outbox row %s: another daemon took it over; leaving it to that one", row_id)
            return None
        try:
            mail = render(self.config, self.templates, row)
        except RenderError as exc:  # the mail waits for an admin's fix (up to max_attempts); ingest goes on
            metrics.send_failed("template")
            report.unsent.append(f"outbox row {row_id} ({row.case_number or 'no case'}, {row.kind.value}) not sent: "
                                 f"{exc}")
            self._failed(row_id, str(exc), False, report)
            return None
        if mail.password is not None:
            # argon2 costs tens of ms of CPU and releases the GIL: off the event loop.
            password_hash = await asyncio.to_thread(hash_password, mail.password)
            with self.sessions.begin() as session:
                mine = outbox.store_credentials(session, row_id, self.owner, str(mail.message["Message-ID"]),
                                                password_hash)
            if not mine:
                return None
        # Every transaction is over: nothing is locked while the server takes its time.
        try:
            await transport.send(mail.message)
        except (TemporaryDeliveryError, PermanentDeliveryError) as exc:
            self._failed(row_id, str(exc), isinstance(exc, PermanentDeliveryError), report)
            return None
        return mail

    def _sent(self, row_id: int, mail: OutgoingMail, report: DrainReport) -> None:
        """Accepted means sent: that commit comes first and alone; what follows can never send the mail again."""
        message = mail.message
        note = f"sent with the last good version of a broken template: {mail.stale}" if mail.stale else ""
        self._mark_sent(row_id, str(message["Subject"]), note)
        report.sent += 1
        metrics.mail_sent(mail.kind.value)
        log.info("outbox row %s: %s sent to %s", row_id, mail.kind.value, message["To"])
        try:
            with self.sessions.begin() as session:
                outbox.record_sent(session, row_id, str(message["From"]), plain_text(message))
        except Exception:  # the mail is out and marked so; a missing history entry is logged, never re-sent
            log.exception("outbox row %s was sent, but recording it on its case failed", row_id)

    def _mark_sent(self, row_id: int, subject: str, note: str) -> None:
        """Keep trying until the mark commits: a row the server accepted must never be offered to SMTP again, so a
        database hiccup here is waited out (capped backoff), not turned into a failure that a retry would re-send.
        Only a stop (or the process dying) leaves the row claimed, to be sent again after its lease."""
        delay = 0.5
        while True:
            try:
                with self.sessions.begin() as session:
                    outbox.mark_sent(session, row_id, subject, note=note)
                return
            except SQLAlchemyError as exc:
                if delay == 0.5:
                    log.error("outbox row %s was accepted by the SMTP server but cannot be marked sent yet; "
                              "retrying until it is: %s", row_id, first_line(exc))
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, 30.0)

    def _failed(self, row_id: int, error: str, permanent: bool, report: DrainReport) -> None:
        with self.sessions.begin() as session:
            row = outbox.mark_failed(session, row_id, self.owner, error, permanent=permanent, smtp=self.config.smtp)
            if row is None:
                return
            status, attempts, retry_at = row.status, row.attempts, row.next_attempt_at
        metrics.send_failed("permanent" if status is OutboxStatus.DEAD else "temporary")
        if status is OutboxStatus.DEAD:
            report.dead += 1
            log.error("outbox row %s is dead after %d attempt(s): %s", row_id, attempts, error)
        else:
            report.retried += 1
            log.warning("outbox row %s not sent (attempt %d), retrying at %s: %s",
                        row_id, attempts, retry_at.isoformat(timespec="seconds"), error)

    def _release(self, row_ids: list[int]) -> None:
        if not row_ids:
            return
        try:
            with self.sessions.begin() as session:
                outbox.release(session, row_ids, self.owner)
        except SQLAlchemyError as exc:  # the lease runs out by itself; the error that stopped us is raised
            log.warning("outbox rows %s stay claimed until their lease ends: %s", row_ids, first_line(exc))
