"""Wire mailboxes, ingest and the sender into cycles; run one cycle or run until told to stop."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from . import store
from .config import Config, QueueConfig
from .desk.ingest import Verdict, ingest_batch
from .desk.models import CrashCount, MailboxState, utcnow
from .errors import first_line
from .mail.imap_source import ImapSource
from .mail.source import Fetched, MailSource, SourceUnavailable
from .runners.outgoing import DrainReport, OutgoingRunner
from .templates import Templates

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    verdicts: list[Verdict] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    outbox: DrainReport = field(default_factory=DrainReport)


@dataclass
class App:
    """Everything a cycle needs, built once from the configuration."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    sender: OutgoingRunner

    @classmethod
    def open(cls, config: Config) -> App:
        engine = store.make_engine(config.database_url)
        store.ensure_schema(engine)
        sessions = store.session_factory(engine)
        return cls(config, engine, sessions, OutgoingRunner(config, sessions, Templates(config.templates_path)))

    def close(self) -> None:
        self.engine.dispose()


def mailbox_key(queue: QueueConfig) -> str:
    return f"{queue.key}/{queue.imap.inbox}"


def poll_queue(app: App, queue: QueueConfig) -> list[Verdict]:
    """Ingest everything waiting in one queue's inbox, batch by batch: commit, then move."""
    with ImapSource(queue.imap, mailbox_key(queue)) as source:
        return ingest_source(app, queue, source)


def ingest_source(app: App, queue: QueueConfig, source: MailSource) -> list[Verdict]:
    """Every batch of one source: commit its receipts, then move its messages (exactly once, DESIGN invariant 1).

    Exceptions are handled per message inside ingest_batch. A message that kills the process itself (out of
    memory, a crash in C code) cannot be caught, so the batch is marked in flight first: a run that finds the
    mark takes that range one message per transaction, counting tries, and sets aside a message that has killed
    the daemon on its own MAX_SOLO_CRASHES times (Mailman's MAX_BAK_COUNT, counted per message)."""
    verdicts: list[Verdict] = []
    crashed_to = _open_mailbox(app, source.key, source.uidvalidity)
    for batch in source.batches(app.config.daemon.batch_size):
        suspects = [item for item in batch.items if crashed_to is not None and item.uid <= crashed_to]
        rest = batch.items[len(suspects):]
        done = [v for item in suspects for v in _ingest_alone(app, queue, source.key, batch.uidvalidity, item)]
        if rest:
            _mark_in_flight(app, source.key, rest[-1].uid)
            with app.sessions() as session:
                done += ingest_batch(session, app.config, queue, source.key, batch.uidvalidity, rest)
        source.settle([v.uid for v in done if not v.quarantined], [v.uid for v in done if v.quarantined])
        _mark_in_flight(app, source.key, None)
        verdicts.extend(done)
    return verdicts


MAX_SOLO_CRASHES = 2  # with the batch it first died in, a message may kill the daemon three times, not four


def _ingest_alone(app: App, queue: QueueConfig, mailbox: str, uidvalidity: int, item: Fetched) -> list[Verdict]:
    with app.sessions() as session:
        count = session.get(CrashCount, (mailbox, uidvalidity, item.uid))
        if count is None:
            count = CrashCount(mailbox=mailbox, uidvalidity=uidvalidity, uid=item.uid, tries=0)
            session.add(count)
        tries, count.tries = count.tries, count.tries + 1
        session.commit()  # counted before trying: a crash now leaves the count behind
    if tries >= MAX_SOLO_CRASHES:
        log.error("%s UID %s stopped the daemon %d times; quarantining it", mailbox, item.uid, tries + 1)
        item = Fetched(item.uid, b"", f"processing it stopped the daemon {tries + 1} times (batch included)")
    with app.sessions() as session:
        return ingest_batch(session, app.config, queue, mailbox, uidvalidity, [item])


def _open_mailbox(app: App, mailbox: str, uidvalidity: int) -> int | None:
    """Remember the UIDVALIDITY; return the last UID of a batch a run died in, if one did."""
    with app.sessions() as session:
        state = session.get(MailboxState, mailbox)
        if state is None:
            state = MailboxState(mailbox=mailbox, uidvalidity=uidvalidity)
            session.add(state)
        elif state.uidvalidity != uidvalidity:
            # Every UID is new (RFC 3501 §2.3.1.1); the Message-ID ledger still recognises what was processed.
            log.warning("%s: UIDVALIDITY changed from %s to %s", mailbox, state.uidvalidity, uidvalidity)
            state.uidvalidity, state.in_flight_to, state.updated_at = uidvalidity, None, utcnow()
        elif state.in_flight_to is not None:
            log.warning("%s: the last run died in the batch up to UID %s; taking it one message at a time",
                        mailbox, state.in_flight_to)
        crashed_to = state.in_flight_to
        session.commit()
        return crashed_to


def _mark_in_flight(app: App, mailbox: str, last_uid: int | None) -> None:
    with app.sessions() as session:
        state = session.get(MailboxState, mailbox)
        assert state is not None
        state.in_flight_to = last_uid
        session.commit()


def run_cycle(app: App) -> CycleReport:
    """Poll every mailbox, then drain the outbox. A mailbox or database that fails is reported, the rest go on:
    nothing was moved out of a mailbox whose batch did not commit, so the next cycle tries it again."""
    report = CycleReport()
    for queue in app.config.queues:
        try:
            report.verdicts.extend(poll_queue(app, queue))
        except SourceUnavailable as exc:
            log.error("%s", exc)
            report.unavailable.append(str(exc))
        except (SQLAlchemyError, OSError) as exc:  # the database or the disk, not a message (see ingest)
            log.error("queue %s: %s, nothing moved, retrying next cycle: %s", queue.key, _what(exc), first_line(exc))
            report.unavailable.append(f"{_what(exc)}: {first_line(exc)}")
    try:
        report.outbox = app.sender.drain()
    except (SQLAlchemyError, OSError) as exc:
        log.error("outbox: %s, retrying next cycle: %s", _what(exc), first_line(exc))
        report.unavailable.append(f"{_what(exc)}: {first_line(exc)}")
    if report.outbox.unavailable:
        smtp = f"SMTP {app.config.smtp.host}:{app.config.smtp.port}"
        log.error("%s unavailable, the rest of the outbox waits for the next cycle: %s", smtp, report.outbox.unavailable)
        report.unavailable.append(f"{smtp}: {report.outbox.unavailable}")
    return report


def _what(exc: BaseException) -> str:
    return "database error" if isinstance(exc, SQLAlchemyError) else f"storage error ({type(exc).__name__})"


def run_forever(app: App, stop: threading.Event) -> None:
    """Cycle every poll_interval until `stop` is set (SIGTERM, SIGINT); the cycle in hand finishes first."""
    log.info("mailbot running: %d mailbox(es), polling every %gs", len(app.config.queues), app.config.daemon.poll_interval)
    while not stop.is_set():
        try:
            run_cycle(app)
        except Exception:  # the daemon's crash boundary: log it, and try again next cycle
            log.exception("cycle failed; retrying in %gs", app.config.daemon.poll_interval)
        stop.wait(app.config.daemon.poll_interval)
    log.info("mailbot stopped")
