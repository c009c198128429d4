"""One intake runner per mailbox: fetch in UID batches, record each batch in one transaction, then move its mail.

Exactly once in (DESIGN invariant 1): a message leaves the inbox only after the transaction that records its
receipt has committed. The runner keeps its IMAP connection between passes and waits in IDLE where the server
offers it, else sleeps `poll_interval`. On PostgreSQL it holds an advisory lock for its mailbox, so of several
daemons exactly one serves each mailbox, and another takes over within seconds when the holder dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..app import App
from ..config import QueueConfig
from ..desk import quarantine
from ..desk.ingest import ingest_batch, parse_limits
from ..desk.models import CrashCount, MailboxState, utcnow
from ..desk.verdict import Verdict
from ..errors import first_line
from ..locks import AdvisoryLock
from ..mail.imap_source import ImapSource
from ..mail.source import Fetched, MailSource, SourceUnavailable, WaitsForMail
from .base import Backoff, OutageLog, Runner, Unavailable, guarded
from .parse_ahead import Parsed

log = logging.getLogger(__name__)
# With the batch it first died in, a message may kill the daemon three times, not four (Mailman's MAX_BAK_COUNT).
MAX_SOLO_CRASHES = 2
LEASE_RETRY = 5.0  # seconds between tries for a mailbox another daemon serves: the takeover delay
IDLE_WAIT = 60.0  # seconds in IDLE before the runner checks its lease and waits again
# (database, mailbox) pairs whose in-flight mark this process has set: any other mark was left by a process that died.
_MARKED_HERE: set[tuple[str, str]] = set()


@contextmanager
def _outages() -> Iterator[None]:
    """The mailbox, the database and the disk failing are outages (`Unavailable`), not bugs."""
    try:
        yield
    except SourceUnavailable as exc:
        raise Unavailable(str(exc)) from None
    except SQLAlchemyError as exc:  # the database, not a message (see desk/ingest.py)
        raise Unavailable(f"database error, nothing moved: {first_line(exc)}") from None
    except OSError as exc:
        raise Unavailable(f"storage error ({type(exc).__name__}), nothing moved: {first_line(exc)}") from None


def mailbox_key(queue: QueueConfig) -> str:
    return f"{queue.key}/{queue.imap.inbox}"


class IntakeRunner(Runner):
    """See `Runner`. `once()` serves the mailbox with a fresh connection; `run()` keeps one open and waits."""

    def __init__(self, app: App, queue: QueueConfig,
                 open_source: Callable[[], AbstractContextManager[MailSource]] | None = None) -> None:
        super().__init__(f"mailbox {queue.key}", Backoff(base=1.0, cap=max(60.0, app.config.daemon.poll_interval)))
        self.app = app
        self.queue = queue
        self.key = mailbox_key(queue)
        max_size = app.config.limits.max_message_size
        self.open_source = open_source or (lambda: ImapSource(queue.imap, self.key, max_size=max_size))
        # Named by the mailbox itself, not the queue key: two desks on one server never share a lease by accident.
        imap = queue.imap
        self.lease = AdvisoryLock(app.engine, f"intake:{imap.username}@{imap.host}:{imap.port}/{imap.inbox}")
        self._mark_key = (app.config.database_url, self.key)
        self.lease_outage = OutageLog(f"{self.name} lease")  # the database, said apart from the mailbox's outages

    def once(self) -> list[Verdict]:
        """Everything waiting in the mailbox now. Another daemon serving this mailbox is not a failure: it is done."""
        with _outages():
            leased = self.lease.try_acquire()
        if not leased:
            log.info("%s is served by another daemon", self.key)
            return []
        try:
            with _outages(), self.open_source() as source:
                verdicts = self.drain(source)
        finally:
            self.lease.release()
        metrics.poll_succeeded(self.queue.key, "poll")
        return verdicts

    def snooze(self, stop: threading.Event) -> None:
        stop.wait(self.app.config.daemon.poll_interval)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not guarded(self._take_lease, self.lease_outage):  # database down: an outage, not the thread's death
                stop.wait(self.backoff.next_delay())
                continue
            if not self.lease.still_held():
                stop.wait(LEASE_RETRY)  # another daemon serves the mailbox; take it over if that one dies
                continue
            try:
                if not self.guarded(lambda: self._serve(stop)):
                    stop.wait(self.backoff.next_delay())
            finally:
                self.lease.release()

    def _take_lease(self) -> bool:
        with _outages():
            return self.lease.try_acquire()

    def _serve(self, stop: threading.Event) -> None:
        """Keep one connection: drain, wait for mail (IDLE where offered), drain again, until told to stop or the
        lease is lost."""
        if self.outage.current is not None:
            metrics.reconnected(self.queue.key)
        with _outages(), self.open_source() as source:
            while not stop.is_set():
                self.drain(source, stop)
                idle = isinstance(source, WaitsForMail) and source.can_idle
                metrics.poll_succeeded(self.queue.key, "idle" if idle else "poll")
                self.outage.ok()
                self.backoff.reset()
                if isinstance(source, WaitsForMail) and source.can_idle:
                    source.wait_for_mail(IDLE_WAIT, stop)  # wakes at once on EXISTS; renews IDLE by itself
                else:
                    self.snooze(stop)
                if not self.lease.still_held():
                    log.warning("%s: lost the mailbox lease (database connection gone); taking it again", self.key)
                    return

    def drain(self, source: MailSource, stop: threading.Event | None = None) -> list[Verdict]:
        """Every batch waiting, or until `stop` is set (SIGTERM: the batch in hand is finished, committed and
        moved, the rest waits for the next start): commit its receipts, then move its messages.

        A message that kills the process itself (out of memory, a crash in C code) cannot be caught, so each
        batch is marked in flight first: a runner that starts and finds the mark takes that range one message per
        transaction, counting tries, and sets aside a message that killed the daemon on its own MAX_SOLO_CRASHES
        times. Failures this process catches clear the mark: an outage is not a crash."""
        verdicts: list[Verdict] = []
        crashed_to = self._open_mailbox(source.uidvalidity)
        batches = self.app.parse_ahead.batches(source.batches(self.app.config.daemon.batch_size),
                                               parse_limits(self.app.config))
        for batch, parsed in batches:
            suspects = [item for item in batch.items if crashed_to is not None and item.uid <= crashed_to]
            rest = batch.items[len(suspects):]
            done: list[Verdict] = []
            try:
                for item in suspects:
                    done += self._ingest_alone(batch.uidvalidity, item)
                if rest:
                    self._mark_in_flight(rest[-1].uid)
                    done += self._ingest(batch.uidvalidity, rest, parsed)
                folder_uids = source.settle([v.uid for v in done if not v.quarantined],
                                            [v.uid for v in done if v.quarantined])
            except Exception:
                self._clear_mark_quietly()
                raise
            last = batch.items[-1].uid if batch.items else 0
            crashed_to = crashed_to if crashed_to is not None and crashed_to > last else None
            self._settled(batch.uidvalidity, [item.uid for item in batch.items], crashed_to, folder_uids)
            verdicts.extend(done)
            if stop is not None and stop.is_set():
                break
        return verdicts

    def _ingest(self, uidvalidity: int, items: list[Fetched], parsed: Parsed | None = None) -> list[Verdict]:
        """One transaction for the batch; the outgoing runner is woken once it has committed."""
        started = time.monotonic()
        with self.app.sessions() as session:
            verdicts = ingest_batch(session, self.app.config, self.queue, self.key, uidvalidity, items, parsed)
            quarantine.describe(session, self.key, uidvalidity, items, verdicts)
            changed = any(v.case_id is not None for v in verdicts)
            if changed:
                self.app.doorbell.announce(session)
            session.commit()
        if changed:
            self.app.doorbell.ring()
        metrics.batch_ingested(self.queue.key, time.monotonic() - started)
        for verdict in verdicts:
            metrics.mail_ingested(self.queue.key, verdict.outcome)
        return verdicts

    def _ingest_alone(self, uidvalidity: int, item: Fetched) -> list[Verdict]:
        with self.app.sessions() as session:
            count = session.get(CrashCount, (self.key, uidvalidity, item.uid))
            if count is None:
                count = CrashCount(mailbox=self.key, uidvalidity=uidvalidity, uid=item.uid, tries=0)
                session.add(count)
            tries, count.tries = count.tries, count.tries + 1
            session.commit()  # counted before trying: only a death in the try leaves it counted
        if tries >= MAX_SOLO_CRASHES:
            log.error("%s UID %s stopped the daemon %d times; quarantining it", self.key, item.uid, tries + 1)
            item = Fetched(item.uid, b"", f"processing it stopped the daemon {tries + 1} times (batch included)")
        try:
            return self._ingest(uidvalidity, [item])
        except Exception:
            self._uncount(uidvalidity, item.uid)  # a caught failure is an outage, not a crash
            raise

    def _uncount(self, uidvalidity: int, uid: int) -> None:
        try:
            with self.app.sessions() as session:
                count = session.get(CrashCount, (self.key, uidvalidity, uid))
                if count is not None and count.tries > 0:
                    count.tries -= 1
                session.commit()
        except SQLAlchemyError:
            log.warning("%s UID %s: could not take back a crash count during an outage", self.key, uid)

    def _open_mailbox(self, uidvalidity: int) -> int | None:
        """Remember the UIDVALIDITY; return the last UID of a batch a previous process died in, if one did."""
        # A batch left marked in flight means a process died in it, but only if this process did not leave the
        # mark itself (a failure it caught and could not clear, before a SIGHUP or not): outages are not crashes.
        fresh = self._mark_key not in _MARKED_HERE
        with self.app.sessions() as session:
            state = session.get(MailboxState, self.key)
            if state is None:
                state = MailboxState(mailbox=self.key, uidvalidity=uidvalidity)
                session.add(state)
            elif state.uidvalidity != uidvalidity:
                # Every UID is new (RFC 3501 §2.3.1.1); the Message-ID ledger still recognises what was processed.
                log.warning("%s: UIDVALIDITY changed from %s to %s", self.key, state.uidvalidity, uidvalidity)
                state.uidvalidity, state.in_flight_to, state.updated_at = uidvalidity, None, utcnow()
            elif state.in_flight_to is not None and fresh:
                log.warning("%s: the last run died in the batch up to UID %s; taking it one message at a time",
                            self.key, state.in_flight_to)
            crashed_to = state.in_flight_to if fresh else None
            state.in_flight_to = None if not fresh else state.in_flight_to
            session.commit()
            return crashed_to

    def _mark_in_flight(self, last_uid: int | None) -> None:
        _MARKED_HERE.add(self._mark_key)
        with self.app.sessions() as session:
            state = session.get(MailboxState, self.key)
            assert state is not None
            state.in_flight_to = last_uid
            session.commit()

    def _clear_mark_quietly(self) -> None:
        try:
            self._mark_in_flight(None)
        except SQLAlchemyError:
            pass  # the database is down; this process still knows the mark is its own (_MARKED_HERE)

    def _settled(self, uidvalidity: int, uids: list[int], suspects_to: int | None,
                 folder_uids: dict[int, int]) -> None:
        """The batch is committed and moved: no crash evidence is left for it, crash counts included (suspects in
        later batches keep theirs, so a death among them is still counted), and its quarantined mail's folder
        UIDs are kept."""
        with self.app.sessions() as session:
            state = session.get(MailboxState, self.key)
            assert state is not None
            state.in_flight_to = suspects_to
            quarantine.placed(session, self.key, uidvalidity, folder_uids)
            if uids:
                session.execute(delete(CrashCount).where(CrashCount.mailbox == self.key,
                                                         CrashCount.uidvalidity == uidvalidity,
                                                         CrashCount.uid.in_(uids)))
            session.commit()
