"""Accepted means sent: every row an SMTP server accepted is marked sent in a group commit, and retried until the
mark commits, so that no accepted mail is ever offered to SMTP again.

Each sender waits for its own row's mark before it sends another mail, so at most one accepted row per SMTP
connection is ever unmarked: that is the window in which a process that dies sends a mail twice. Rows accepted
while a commit is under way go into the next one, so the commits get fewer as the load grows (one fsync for many)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ..desk import outbox_service as outbox
from ..desk.models import utcnow
from ..errors import first_line

log = logging.getLogger(__name__)
FIRST_RETRY = 0.5  # seconds; doubled after each failed commit, up to LAST_RETRY
LAST_RETRY = 30.0
STOP_CHECK = 0.5


@dataclass(frozen=True)
class Accepted:
    """What marking a row sent and recording it on its case needs, taken from the mail the server accepted."""

    row_id: int
    subject: str
    note: str  # e.g. "sent with the last good version of a broken template: …"
    author: str
    text: str


class SentMarks:
    """Collects accepted rows and commits their marks (and their history entries) together; `run` is the one
    task that commits, `mark` is what a sender awaits."""

    def __init__(self, sessions: sessionmaker[Session], in_db: Callable[..., Awaitable[object]],
                 stop: threading.Event) -> None:
        self.sessions, self.in_db, self.stop = sessions, in_db, stop
        self._waiting: list[tuple[Accepted, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closed = False

    async def mark(self, accepted: Accepted) -> None:
        """Return once the row is marked sent; raise the last error only when the drain is stopped while
        the mark still fails (the row then stays claimed: its lease runs out and it goes out again)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((accepted, done))
        self._wake.set()
        await done

    def close(self) -> None:
        """No more marks will come: `run` returns once those waiting are committed."""
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        while not (self._closed and not self._waiting):
            await self._wake.wait()
            self._wake.clear()
            group, self._waiting = self._waiting, []
            if group:
                await self._commit(group)

    async def _commit(self, group: list[tuple[Accepted, asyncio.Future[None]]]) -> None:
        """Commit the group; if that fails, each row alone (one row's fault must not hold back the others),
        again and again with capped backoff, until every mark has committed or the drain is stopped."""
        delay, left = FIRST_RETRY, group
        while True:
            failed: list[tuple[Accepted, asyncio.Future[None]]] = []
            error: Exception | None = None
            for part in ([left] if left is group else [[one] for one in left]):
                try:
                    await self.in_db(self._mark, [accepted for accepted, _ in part])
                except Exception as exc:  # the database's refusal (or a bug): waited out all the same
                    failed, error = failed + part, exc
                    continue
                for _, done in part:
                    done.set_result(None)
            if error is None:
                return
            if delay == FIRST_RETRY:
                log.error("outbox rows %s were accepted by the SMTP server but cannot be marked sent yet; retrying "
                          "until they are: %s", [a.row_id for a, _ in failed], first_line(error))
            if await self._stopped_within(delay):
                for _, done in failed:
                    done.set_exception(error)
                return
            delay, left = min(delay * 2, LAST_RETRY), failed

    def _mark(self, group: list[Accepted]) -> None:
        """One transaction: every row sent; then each row's entry on its case in a savepoint of its own, whose
        failure is logged and rolled back alone (the mail is out and marked so; it is never sent again)."""
        now = utcnow()
        with self.sessions.begin() as session:
            for accepted in group:
                outbox.mark_sent(session, accepted.row_id, accepted.subject, now, note=accepted.note)
            session.flush()  # the marks, outside any savepoint: their failure fails the group, never one entry
            for accepted in group:
                try:
                    with session.begin_nested():
                        outbox.record_sent(session, accepted.row_id, accepted.author, accepted.text)
                except Exception:  # noqa: BLE001 - a missing history entry is logged, never re-sent
                    log.exception("outbox row %s was sent, but recording it on its case failed", accepted.row_id)

    async def _stopped_within(self, seconds: float) -> bool:
        deadline = asyncio.get_running_loop().time() + seconds
        while not self.stop.is_set():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, STOP_CHECK))
        return True
