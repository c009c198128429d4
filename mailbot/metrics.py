"""Prometheus metrics: counters the runners bump, gauges read from the database when scraped; served with /healthz."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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

from . import health
from .config import Config
from .desk.models import Case, Outbox, OutboxStatus, Outcome, State, utcnow
from .errors import first_line
from .health import PollMode

log = logging.getLogger(__name__)
SendFailure = Literal["temporary", "permanent", "unavailable", "template"]
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


def mail_ingested(queue: str, outcome: Outcome) -> None:
    """One message's receipt was committed (call it after the batch's commit, once per verdict)."""
    _INGESTED.labels(queue, outcome.value).inc()


def batch_ingested(queue: str, seconds: float) -> None:
    """A batch was committed `seconds` after its fetch began."""
    _BATCH_SECONDS.labels(queue).observe(seconds)


def poll_succeeded(queue: str, mode: PollMode) -> None:
    """A pass over the mailbox ended well; `mode` is how it waits for the next one ("idle" or "poll")."""
    health.polled(queue, mode)
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
            verdict = health.check(self.config, self.engine, self.started)
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
