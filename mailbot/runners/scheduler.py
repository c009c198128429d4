"""The scheduler runner: the desk's periodic jobs (the escalation pass, …) on an APScheduler 3 background scheduler."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .base import OutageLog, Runner, guarded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A pass that is due every `interval` seconds. `run` returns True when more work is due than one pass takes
    (a pass is bounded so that its transactions stay short): the next pass then follows at once. It raises
    `Unavailable` for an outage."""

    name: str
    interval: float
    run: Callable[[], bool]


class SchedulerRunner(Runner):
    """See `Runner`. Each job keeps its own crash boundary; a slow pass is never started twice (max_instances=1),
    passes missed while the daemon was busy or down collapse into one (coalesce), and the first pass runs at start,
    which is the catch-up pass of a daemon that was down. A job that is behind runs pass after pass, for at most
    its interval (then the next run goes on), and stops after the pass in hand when the daemon stops."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        super().__init__("scheduler")
        self.jobs = tuple(jobs)
        self._boundaries = {job.name: _JobBoundary(job) for job in self.jobs}

    def once(self) -> list[str]:
        """Every job at the current time, in order, each until it has caught up (what `run --once` calls); one line
        per job that failed."""
        failed = []
        for job in self.jobs:
            boundary = self._boundaries[job.name]
            if not boundary(threading.Event(), math.inf):
                failed.append(f"{boundary.outage.name}: {boundary.outage.current}")
        return failed

    def snooze(self, stop: threading.Event) -> None:
        stop.wait()

    def run(self, stop: threading.Event) -> None:
        if not self.jobs:
            stop.wait()  # nothing to schedule; returning would look like a runner that died
            return
        scheduler = BackgroundScheduler(timezone=timezone.utc, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        for job in self.jobs:
            scheduler.add_job(self._boundaries[job.name], IntervalTrigger(seconds=job.interval), id=job.name,
                              name=job.name, next_run_time=datetime.now(timezone.utc), args=(stop, job.interval))
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)  # a pass in hand finishes


class _JobBoundary:
    """One job's crash boundary and outage log: a failing pass is logged once per outage, and the next one runs."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.outage = OutageLog(f"job {job.name}")

    def __call__(self, stop: threading.Event, budget: float) -> bool:
        """Passes until the job has caught up, `budget` seconds have gone or `stop` is set; True unless one failed."""
        deadline = time.monotonic() + budget
        while not stop.is_set():
            behind = False

            def one_pass() -> None:
                nonlocal behind
                behind = self.job.run()

            if not guarded(one_pass, self.outage):
                return False
            if not behind or time.monotonic() >= deadline:
                break
        return True
