"""Wire the runners: `run --once` runs one pass of each in a fixed order; `run` supervises them until stopped."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from .app import App
from .desk.escalation import escalate_due
from .desk.models import utcnow
from .desk.verdict import Verdict
from .errors import first_line
from .runners.base import Runner, Unavailable
from .runners.doorbell import NotifyListener
from .runners.intake import IntakeRunner
from .runners.drain import DrainReport
from .runners.outgoing import OutgoingRunner
from .runners.scheduler import Job, SchedulerRunner
from .runners.supervisor import Supervisor

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    """What one `run --once` did; `unavailable` holds one line per mailbox, server or database that failed."""

    verdicts: list[Verdict] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    outbox: DrainReport = field(default_factory=DrainReport)


def scheduled_jobs(app: App) -> list[Job]:
    """The scheduler runner's jobs: the escalation pass, every [escalation] interval, at the process clock's now."""

    def escalation() -> bool:
        try:
            report = escalate_due(app.sessions, app.config, utcnow(), announce=app.doorbell.announce)
        except SQLAlchemyError as exc:
            raise Unavailable(f"escalation: database error: {first_line(exc)}") from exc
        if report.mails:
            app.doorbell.ring()
        return report.more

    return [Job("escalation", app.config.escalation.interval, escalation)]


def outgoing_runner(app: App) -> OutgoingRunner:
    """A send begins only with this much lease left (a first send on a new connection is up to ten SMTP exchanges
    of [smtp] timeout each; the drain holds rows a fifth longer and renews them while it holds them), so a row is
    taken over only from a daemon that died or hung."""
    lease = timedelta(seconds=max(10.0, 10 * app.config.smtp.timeout))
    return OutgoingRunner(app.config, app.sessions, app.templates, app.doorbell, lease=lease)


def runners(app: App) -> list[Runner]:
    """Every runner of the daemon: one intake runner per mailbox, the outgoing runner, the scheduler, and on
    PostgreSQL the listener that wakes the outgoing runner when another daemon queued mail."""
    every: list[Runner] = [IntakeRunner(app, queue) for queue in app.config.queues]
    every += [outgoing_runner(app), SchedulerRunner(scheduled_jobs(app))]
    if app.engine.dialect.name == "postgresql":
        every.append(NotifyListener(app.engine, app.doorbell))
    return every


def run_once(app: App) -> CycleReport:
    """One pass of each runner in a fixed order: intake of every mailbox, the scheduler's jobs, the outbox drain.

    A mailbox, the database or the SMTP server that fails is reported and the rest go on: nothing was moved out of
    a mailbox whose batch did not commit, and no outbox row was charged for a server that took no mail."""
    report = CycleReport()
    for queue in app.config.queues:
        try:
            report.verdicts.extend(IntakeRunner(app, queue).once())
        except Unavailable as exc:  # said once, by whoever reads the report (`run --once` prints it)
            report.unavailable.append(str(exc))
    report.unavailable.extend(SchedulerRunner(scheduled_jobs(app)).once())
    try:
        report.outbox = outgoing_runner(app).drain()
    except SQLAlchemyError as exc:
        report.unavailable.append(f"outbox: database error: {first_line(exc)}")
    if report.outbox.unavailable:
        report.unavailable.append(f"SMTP {app.config.smtp.host}:{app.config.smtp.port}: {report.outbox.unavailable}")
    return report


def run_forever(app: App, stop: threading.Event) -> bool:
    """Supervise the runners until `stop` is set (SIGTERM, SIGINT, SIGHUP); each finishes the pass in hand first.
    False when the supervisor gave up (a runner kept dying, or one would not stop): the process must exit."""
    log.info("mailbot running: %d mailbox(es), polling every %gs where IDLE is not offered",
             len(app.config.queues), app.config.daemon.poll_interval)
    clean = Supervisor(runners(app)).run(stop)
    log.info("mailbot stopped" if clean else "mailbot stopped: the supervisor gave up")
    return clean
