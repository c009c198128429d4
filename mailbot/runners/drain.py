"""One drain of the outbox: rows claimed in batches, each rendered and queued, sent over `[smtp] connections` SMTP
connections at once, and marked sent in group commits (runners/sent_marks.py).

A credentials mail's password is hashed (a keyed hash of microseconds: docs/passwords.md) and the hash committed
before the mail is queued, in the database thread. All database work runs in that one thread of its own, so no SMTP
connection waits while a commit syncs to disk, and no transaction is open while an SMTP server answers."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .. import logs, metrics
from ..config import Config
from ..desk import outbox_service as outbox
from ..desk.models import OutboxStatus, utcnow
from ..desk.outbox_service import Claimed
from ..desk.password_hashes import hash_temporary, temporary_key
from ..desk.rendering import OutgoingMail, RenderError, plain_text, render
from ..desk.settings import desk_secret
from ..errors import first_line
from ..mail.smtp_transport import PermanentDeliveryError, ServerUnavailable, SmtpTransport, TemporaryDeliveryError
from ..templates import Templates
from .leases import Leases
from .sent_marks import Accepted, SentMarks

log = logging.getLogger(__name__)
T = TypeVar("T")
Ready = tuple[Claimed, OutgoingMail]
# A claim holds its rows a fifth longer than `lease` (the longest one send may take) and renews them every tenth
# of it, so a row whose renewals go through always has a whole `lease` left when its send begins.
HOLD, RENEW = 1.2, 0.1


@dataclass
class DrainReport:
    """What one drain did; `unavailable` says why it stopped early when the server could take no mail at all."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    unavailable: str | None = None
    unsent: list[str] = field(default_factory=list)  # one line per row its template or queue kept from being sent


class Drain:
    """One pass over every row due when it starts. `run` returns its report, or raises the database error that
    stopped it (nothing is charged for that: the rows it did not try are released at once)."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], templates: Templates, *, owner: str,
                 lease: timedelta, batch: int, stop: threading.Event) -> None:
        self.config, self.sessions, self.templates = config, sessions, templates
        self.owner, self.lease, self.batch, self.stop = owner, lease, batch, stop
        self.report = DrainReport()
        self.leases = Leases()
        self._error: Exception | None = None  # what stopped the drain: the database's error, or a bug
        self._accepted: set[int] = set()  # rows a server accepted: never released, whatever happens next
        self._preparing: set[asyncio.Task[None]] = set()
        self._password_key: bytes | None = None  # temporary-password hashes' key, read at the first credentials mail
        self._db = ThreadPoolExecutor(1, thread_name_prefix="outbox-db")  # every database call, one at a time
        self._ready: asyncio.Queue[Ready | None] = asyncio.Queue()  # prepared mails for the senders; None: no more
        self._progress, self._done = asyncio.Event(), asyncio.Event()
        self.marks = SentMarks(self.sessions, self._in_db, self.stop)

    async def run(self) -> DrainReport:
        """Every task ends in order — feed, senders, marks, leases, release — whatever stopped the drain, so no
        accepted row is left unmarked by a task that was cancelled. One drain runs once."""
        connections = self.config.smtp.connections
        with self._db:
            marking = asyncio.create_task(self.marks.run())
            keeping = asyncio.create_task(self._keep_leases())
            senders = [asyncio.create_task(self._sender()) for _ in range(connections)]
            await self._feed(connections)
            await asyncio.gather(*senders)
            self.marks.close()
            await marking
            self._done.set()
            await keeping
            await self._release()
        if self._error is not None:
            raise self._error
        return self.report

    def halted(self) -> bool:
        """Send nothing more: stopped (SIGTERM), the server takes no mail, or the database failed."""
        return self.stop.is_set() or self.report.unavailable is not None or self._error is not None

    async def _in_db(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, functools.partial(work, *args))

    # Claiming and preparing -------------------------------------------------------------------------------------

    async def _feed(self, connections: int) -> None:
        """Claim a batch, and render its rows one at a time as the senders take them (so rendering interleaves
        with their SMTP exchanges), until nothing due is left; then tell each sender there is no more (after the
        last credentials mail is prepared). Rows not prepared when the drain halts stay held, to be released."""
        started = utcnow()  # rows retried during this drain fall due after it: each row is tried once per drain
        try:
            while not self.halted():
                batch = await self._claim(started)
                if not batch:
                    break
                for claimed in batch:
                    while self._ready.qsize() >= connections or len(self._preparing) > self.batch:
                        self._progress.clear()
                        await self._progress.wait()
                    if self.halted():
                        break
                    await self._prepare(claimed)
        except Exception as exc:  # the database's error (or a bug) stops the drain; raised once all has ended
            self._error = self._error or exc
        finally:
            if self._preparing:
                await asyncio.gather(*self._preparing)
            for _ in range(connections):
                self._ready.put_nowait(None)

    async def _claim(self, started: datetime) -> list[Claimed]:
        hold = self.lease * HOLD
        until = time.monotonic() + hold.total_seconds()

        def claim() -> list[Claimed]:
            with self.sessions.begin() as session:
                ids = outbox.claim(session, self.owner, self.batch, hold, due_by=started)
                return outbox.read_claimed(session, ids) if ids else []

        claimed = await self._in_db(claim)
        self.leases.hold([row.id for row in claimed], until)
        return claimed

    async def _prepare(self, claimed: Claimed) -> None:
        """Render the row's mail; queue it for a sender, or first store its password's hash (in the background)."""
        with _about(claimed):
            try:
                mail = render(self.config, self.templates, claimed)
            except RenderError as exc:  # the mail waits for an admin's fix (up to max_attempts); the rest goes on
                metrics.send_failed("template")
                self.report.unsent.append(f"outbox row {claimed.id} ({claimed.case_number or 'no case'}, "
                                          f"{claimed.kind.value}) not sent: {exc}")
                await self._failed(claimed.id, str(exc), permanent=False)
                return
            except Exception as exc:  # a bug with one row must not stop the rows behind it
                await self._bug(claimed.id, exc)
                return
            if mail.password is None:
                self._ready.put_nowait((claimed, mail))
                return
            task = asyncio.create_task(self._prepare_credentials(claimed, mail))  # it keeps the context: _about
        self._preparing.add(task)
        task.add_done_callback(self._prepared)

    def _prepared(self, task: asyncio.Task[None]) -> None:
        self._preparing.discard(task)
        self._progress.set()

    async def _prepare_credentials(self, claimed: Claimed, mail: OutgoingMail) -> None:
        """Commit the new password's hash and this attempt's Message-ID before the mail may be sent: a crash at any
        instant leaves at most one password that works."""
        assert mail.password is not None
        if self.halted():
            return  # released with the rest; the next attempt mints another password
        try:
            mine = await self._in_db(self._store_credentials, claimed.id, str(mail.message["Message-ID"]),
                                     mail.password)
        except SQLAlchemyError as exc:
            self._error = self._error or exc
            return
        except Exception as exc:
            await self._bug(claimed.id, exc)
            return
        if not mine:
            self.leases.drop(claimed.id)
            log.warning("outbox row %s: another daemon took it over; leaving it to that one", claimed.id)
            return
        self._ready.put_nowait((claimed, mail))
        self._progress.set()

    def _store_credentials(self, row_id: int, message_id: str, password: str) -> bool:
        with self.sessions.begin() as session:
            if self._password_key is None:  # read once per drain: the desk secret does not change under it
                self._password_key = temporary_key(desk_secret(session, self.config))
            password_hash = hash_temporary(self._password_key, password)
            return outbox.store_credentials(session, row_id, self.owner, message_id, password_hash)

    # Sending ----------------------------------------------------------------------------------------------------

    async def _sender(self) -> None:
        """One SMTP connection: take the next ready mail, send it, wait for its mark; until told there is no more.
        Mails taken after the drain halted are left held, and released at the end."""
        async with SmtpTransport(self.config.smtp) as transport:
            while (ready := await self._ready.get()) is not None:
                self._progress.set()
                if not self.halted() and await self._lease_holds(ready[0].id):
                    with _about(ready[0]):  # every line about the row names its case, queue and Message-ID
                        await self._send(*ready, transport)

    async def _lease_holds(self, row_id: int) -> bool:
        """Whether the row's lease outlives the longest send; renewed at once if it has grown short (the renewal
        task was late), and False when it cannot be: the row is left to whoever holds it now."""
        if self.leases.left(row_id) >= self.lease.total_seconds():
            return True
        try:
            await self._renew()
        except Exception as exc:  # the database (or a bug): the drain stops and says so
            self._error = self._error or exc
            return False
        return self.leases.left(row_id) >= self.lease.total_seconds()

    async def _send(self, claimed: Claimed, mail: OutgoingMail, transport: SmtpTransport) -> None:
        try:
            await transport.send(mail.message)
        except ServerUnavailable as exc:
            self.report.unavailable = self.report.unavailable or str(exc)
            metrics.send_failed("unavailable")
            return
        except (TemporaryDeliveryError, PermanentDeliveryError) as exc:
            await self._failed(claimed.id, str(exc), permanent=isinstance(exc, PermanentDeliveryError))
            return
        except Exception as exc:
            await self._bug(claimed.id, exc)
            return
        self._accepted.add(claimed.id)
        message = mail.message
        note = f"sent with the last good version of a broken template: {mail.stale}" if mail.stale else ""
        try:
            await self.marks.mark(Accepted(claimed.id, str(message["Subject"]), note, str(message["From"]),
                                           plain_text(message)))
        except Exception as exc:  # stopped while the database refused the mark: the row stays claimed
            self._error = self._error or exc
            return
        self.leases.drop(claimed.id)
        self.report.sent += 1
        metrics.mail_sent(mail.kind.value)
        log.info("outbox row %s: %s sent to %s", claimed.id, mail.kind.value, message["To"])

    # Outcomes and leases ----------------------------------------------------------------------------------------

    async def _bug(self, row_id: int, exc: Exception) -> None:
        log.error("outbox row %s failed", row_id, exc_info=exc)
        await self._failed(row_id, f"{type(exc).__name__}: {first_line(exc)}", permanent=False)

    async def _failed(self, row_id: int, error: str, *, permanent: bool) -> None:
        self.leases.drop(row_id)
        try:
            row = await self._in_db(self._mark_failed, row_id, error, permanent)
        except Exception as exc:  # the database (or a bug): the drain stops and says so
            self._error = self._error or exc
            return
        if row is None:
            return
        status, attempts, retry_at = row
        metrics.send_failed("permanent" if status is OutboxStatus.DEAD else "temporary")
        if status is OutboxStatus.DEAD:
            self.report.dead += 1
            log.error("outbox row %s is dead after %d attempt(s): %s", row_id, attempts, error)
        else:
            self.report.retried += 1
            log.warning("outbox row %s not sent (attempt %d), retrying at %s: %s",
                        row_id, attempts, retry_at.isoformat(timespec="seconds"), error)

    def _mark_failed(self, row_id: int, error: str, permanent: bool) -> tuple[OutboxStatus, int, datetime] | None:
        with self.sessions.begin() as session:
            row = outbox.mark_failed(session, row_id, self.owner, error, permanent=permanent, smtp=self.config.smtp)
            return None if row is None else (row.status, row.attempts, row.next_attempt_at)

    async def _keep_leases(self) -> None:
        """Renew the lease of every row held, every tenth of `lease`, until the drain is over."""
        every = self.lease.total_seconds() * RENEW
        while not self._done.is_set():
            try:
                await asyncio.wait_for(self._done.wait(), every)
            except TimeoutError:
                pass
            try:
                await self._renew()
            except Exception as exc:  # the database (or a bug): the drain stops and says so
                self._error = self._error or exc

    async def _renew(self) -> None:
        held = self.leases.held()
        if not held:
            return
        hold = self.lease * HOLD
        until = time.monotonic() + hold.total_seconds()

        def renew() -> list[int]:
            with self.sessions.begin() as session:
                return outbox.renew(session, held, self.owner, hold)

        renewed = await self._in_db(renew)
        self.leases.keep_only(held, renewed)
        self.leases.hold(renewed, until)

    async def _release(self) -> None:
        """Give back the rows held and never tried (stopped, server unavailable, database error): due again at once,
        nothing charged. A row a server accepted is never given back, even unmarked: it waits for its lease."""
        left = [row_id for row_id in self.leases.held() if row_id not in self._accepted]
        if not left:
            return

        def release() -> None:
            with self.sessions.begin() as session:
                outbox.release(session, left, self.owner)

        try:
            await self._in_db(release)
        except SQLAlchemyError as exc:  # the lease runs out by itself; the error that stopped us is raised
            log.warning("outbox rows %s stay claimed until their lease ends: %s", left, first_line(exc))


def _about(claimed: Claimed) -> AbstractContextManager[None]:
    return logs.about(case=claimed.case_number, queue=claimed.queue, message_id=claimed.message_id)
