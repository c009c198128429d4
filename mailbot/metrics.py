"""Prometheus metrics and /healthz: counters the runners bump, gauges read from the database when scraped."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine, String, func, select, type_coerce
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .config import Config
from .desk.models import Case, Outbox, OutboxStatus, Outcome, State, utcnow
from .errors import first_line

log = logging.getLogger(__name__)
PollMode = Literal["idle", "poll"]
SendFailure = Literal["temporary", "permanent", "unavailable", "template"]
# A mailbox waiting in IDLE is re-issued before 29 minutes (RFC 2177 §3: servers may log out a client idle for 30),
# so it may pass that long between two passes without anything being wrong.
IDLE_RENEWAL = 29 * 60.0
# A mailbox is stale after this many poll intervals without a successful pass.
STALE_POLLS = 3
CLOSED_STATES = (State.RESOLVED, State.CLOSED)

# mailbot's own registry: the process-wide default one would also export whatever else a library registers there.
REGISTRY = CollectorRegistry(auto_describe=True)
_INGESTED = Counter("mailbot_mails_ingested", "Mails recorded by the intake, by queue and outcome.",
                    ["queue", "outcome"], registry=REGISTRY)
_BATCH_SECONDS = Histogram("mailbot_ingest_batch_seconds", "Seconds from fetching a batch to committing it.",
                           ["queue"], registry=REGISTRY,
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
_SENT = Counter("mailbot_mails_sent", "Mails the SMTP server accepted, by kind.", ["kind"], registry=REGISTRY)
_SEND_FAILURES = Counter("mailbot_send_failures", "Mails not sent, by why: temporary (retried), permanent (dead), "
                         "unavailable (the server took none), template.", ["kind"], registry=REGISTRY)
_IDLE = Gauge("mailbot_mailbox_idle", "1 while the mailbox waits in IMAP IDLE, 0 while it is polled.", ["queue"],
              registry=REGISTRY)
_LAST_POLL = Gauge("mailbot_mailbox_last_poll_timestamp_seconds", "When the mailbox was last served successfully.",
                   ["queue"], registry=REGISTRY)
_RECONNECTS = Counter("mailbot_mailbox_reconnects", "Connections made again after a mailbox failed.", ["queue"],
                      registry=REGISTRY)
_ESCALATIONS = Counter("mailbot_escalations", "Cases escalated, by the level they reached.", ["level"],
                       registry=REGISTRY)


@dataclass(frozen=True)
class Poll:
    """A mailbox's last successful pass, on the monotonic clock, and how it waits for mail."""

    at: float
    mode: PollMode


_lock = threading.Lock()
_polls: dict[str, Poll] = {}


def mail_ingested(queue: str, outcome: Outcome) -> None:
    """One message's receipt was committed (call it after the batch's commit, once per verdict)."""
    _INGESTED.labels(queue, outcome.value).inc()


def batch_ingested(queue: str, seconds: float) -> None:
    """A batch was committed `seconds` after its fetch began."""
    _BATCH_SECONDS.labels(queue).observe(seconds)


def poll_succeeded(queue: str, mode: PollMode) -> None:
    """A pass over the mailbox ended well; `mode` is how it waits for the next one ("idle" or "poll")."""
    with _lock:
        _polls[queue] = Poll(time.monotonic(), mode)
    _IDLE.labels(queue).set(1 if mode == "idle" else 0)
    _LAST_POLL.labels(queue).set(time.time())


def reconnected(queue: str) -> None:
    """The mailbox's connection was opened again after a failure."""
    _RECONNECTS.labels(queue).inc()


def mail_sent(kind: str) -> None:
    """The SMTP server accepted one mail of this kind (ack, credentials, …)."""
    _SENT.labels(kind).inc()


def send_failed(kind: SendFailure) -> None:
    """One mail was not sent, and why."""
    _SEND_FAILURES.labels(kind).inc()


def escalated(level: int) -> None:
    """A case reached escalation level `level`."""
    _ESCALATIONS.labels(str(level)).inc()


def last_polls() -> dict[str, Poll]:
    with _lock:
        return dict(_polls)


# -- health ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxFacts:
    """What /healthz needs from the outbox: when the longest-due pending reply fell due, when the oldest pending
    reply was queued, and when a reply was last sent (None: no such row)."""

    oldest_due: datetime | None = None
    oldest_pending: datetime | None = None
    last_sent: datetime | None = None


@dataclass(frozen=True)
class Health:
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    def json(self) -> str:
        """`{"status": "ok"}` or `{"status": "fail", "reason": "mailbox mesadeayuda not polled for 200s …"}`."""
        body = {"status": "ok"} if self.ok else {"status": "fail", "reason": "; ".join(self.reasons)}
        return json.dumps(body, ensure_ascii=False)


def stale_mailboxes(queues: Sequence[str], polls: Mapping[str, Poll], since: float, now: float,
                    poll_interval: float) -> list[str]:
    """One reason per mailbox without a successful pass for too long: STALE_POLLS poll intervals, plus the IDLE
    renewal while it waits in IDLE. A mailbox not served since `since` (the server's start) counts from then."""
    reasons = []
    for queue in queues:
        poll = polls.get(queue)
        if poll is None or poll.at < since:  # an earlier server's, in this process: the count starts again
            poll = None
        last = since if poll is None else poll.at
        limit = STALE_POLLS * poll_interval + (IDLE_RENEWAL if poll is not None and poll.mode == "idle" else 0.0)
        if now - last > limit:
            what = "not polled since the daemon started" if poll is None else "not polled"
            reasons.append(f"mailbox {queue} {what}: {now - last:.0f}s (limit {limit:.0f}s)")
    return reasons


def outbox_problems(facts: OutboxFacts, now: datetime, stuck_after: float) -> list[str]:
    """Why the outbox looks stuck: a due reply waiting longer than `stuck_after` seconds (the drain is not
    running, or the server takes nothing), or replies waiting that long while nothing at all was sent."""
    limit = timedelta(seconds=stuck_after)
    reasons = []
    if facts.oldest_due is not None and now - facts.oldest_due > limit:
        reasons.append(f"outbox: a reply has been due for {_seconds(now - facts.oldest_due)}s "
                       f"(limit {stuck_after:.0f}s)")
    quiet = facts.last_sent is None or now - facts.last_sent > limit
    if not reasons and facts.oldest_pending is not None and now - facts.oldest_pending > limit and quiet:
        since = "ever" if facts.last_sent is None else f"in {_seconds(now - facts.last_sent)}s"
        reasons.append(f"outbox: replies pending for {_seconds(now - facts.oldest_pending)}s and none sent {since} "
                       f"(limit {stuck_after:.0f}s)")
    return reasons


def outbox_facts(session: Session, now: datetime) -> OutboxFacts:
    pending = Outbox.status == OutboxStatus.PENDING
    return OutboxFacts(
        oldest_due=session.scalar(select(func.min(Outbox.next_attempt_at)).where(pending,
                                                                                  Outbox.next_attempt_at <= now)),
        oldest_pending=session.scalar(select(func.min(Outbox.created_at)).where(pending)),
        last_sent=session.scalar(select(func.max(Outbox.sent_at))),
    )


def health(config: Config, engine: Engine, since: float) -> Health:
    """The daemon's health now: every mailbox polled lately, the outbox draining, the database answering."""
    reasons = stale_mailboxes([q.key for q in config.queues], last_polls(), since, time.monotonic(),
                              config.daemon.poll_interval)
    try:
        with Session(engine) as session:
            now = utcnow()
            reasons += outbox_problems(outbox_facts(session, now), now, config.metrics.outbox_stuck_after)
    except SQLAlchemyError as exc:
        reasons.append(f"database: {first_line(exc)}")
    return Health(tuple(reasons))


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():.0f}"


# -- scrape-time gauges ------------------------------------------------------------------------------------------

class DatabaseCollector:
    """Gauges read from the database at each scrape, so they are right whichever daemon did the work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mailbot_database_up", "1 when the database answered this scrape, else 0.")
        try:
            with Session(self.engine) as session:
                now = utcnow()
                statuses = _count_by(session, type_coerce(Outbox.status, String), Outbox.status != OutboxStatus.SENT)
                due = session.scalar(select(func.min(Outbox.next_attempt_at))
                                     .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now))
                levels = _count_by(session, Case.escalation_level,
                                   Case.escalation_level > 0, Case.state.not_in(CLOSED_STATES))
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer: %s", first_line(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        outbox = GaugeMetricFamily("mailbot_outbox_messages", "Outbox rows not sent, by status.", labels=["status"])
        for status, count in {OutboxStatus.PENDING.value: 0, OutboxStatus.DEAD.value: 0, **statuses}.items():
            outbox.add_metric([str(status)], count)
        yield outbox
        yield GaugeMetricFamily("mailbot_outbox_oldest_due_age_seconds",
                                "Seconds the longest-due pending reply has waited; 0 when none is due.",
                                value=(now - due).total_seconds() if due is not None else 0.0)
        cases = GaugeMetricFamily("mailbot_open_cases_escalated", "Open cases above their agents, by escalation "
                                  "level.", labels=["level"])
        for level, count in sorted(levels.items()):
            cases.add_metric([str(level)], count)
        yield cases


def _count_by(session: Session, column: Any, *where: Any) -> dict[Any, int]:
    """{value: rows} for the rows matching `where`, grouped by `column`."""
    return {row[0]: row[1] for row in session.execute(select(column, func.count()).where(*where).group_by(column))}


class _Both:
    """The registry's counters and the database's gauges, as one collector for the exporter."""

    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


# -- the HTTP server ---------------------------------------------------------------------------------------------

class MetricsError(Exception):
    """The metrics server cannot listen where configured; str() says where and why."""


class MetricsServer:
    """/metrics (Prometheus text format) and /healthz (200 or 503, one line of JSON) on `[metrics] listen`, in a
    thread of its own. Use as a context manager, or start() and stop()."""

    def __init__(self, config: Config, engine: Engine) -> None:
        if config.metrics.listen is None:
            raise MetricsError("[metrics] listen is not set")
        self.config = config
        self.engine = engine
        self.host, self.port = config.metrics.listen
        self.started = time.monotonic()
        self._exporter = make_wsgi_app(_Both(REGISTRY, DatabaseCollector(engine)))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MetricsServer:
        kind = _Server6 if ":" in self.host else _Server
        try:
            server = make_server(self.host, self.port, self.app, server_class=kind, handler_class=_QuietHandler)
        except OSError as exc:
            raise MetricsError(f"[metrics] listen {self.host}:{self.port}: cannot listen: "
                               f"{exc.strerror or exc}") from None
        self._server = server
        self.started = time.monotonic()
        self._thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
        self._thread.start()
        log.info("metrics on http://%s:%s/metrics, health on /healthz", self.host, self.port)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            verdict = health(self.config, self.engine, self.started)
            start_response("200 OK" if verdict.ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
            return [verdict.json().encode() + b"\n"]
        if path in ("/", "/metrics"):
            response: Iterable[bytes] = self._exporter(environ, start_response)
            return response
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /healthz\n"]


@contextmanager
def serving(config: Config, engine: Engine) -> Iterator[MetricsServer | None]:
    """The metrics server while the block runs, when `[metrics] listen` is set; else nothing."""
    if config.metrics.listen is None:
        yield None
        return
    with MetricsServer(config, engine) as server:
        yield server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scraper that hangs never holds the daemon's exit


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """Scrapes come every few seconds: their access lines go to debug, not to standard error."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: %s %s", self.address_string(), format % args)
