"""The scheduler runner: the desk's periodic jobs (the escalation pass, …) on an APScheduler 3 background scheduler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .base import Runner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A pass that is due every `interval` seconds; `run` raises `Unavailable` for an outage."""

    name: str
    interval: float
    run: Callable[[], object]


class SchedulerRunner(Runner):
    """See `Runner`. Each job keeps its own crash boundary; a slow pass is never started twice (max_instances=1),
    passes missed while the daemon was busy or down collapse into one (coalesce), and the first pass runs at start,
    which is the catch-up pass of a daemon that was down."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        super().__init__("scheduler")
        self.jobs = tuple(jobs)
        self._boundaries = {job.name: _JobBoundary(job) for job in self.jobs}

    def once(self) -> None:
        """Every job once, at the current time, in order (what `run --once` calls)."""
        for job in self.jobs:
            self._boundaries[job.name]()

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
                              name=job.name, next_run_time=datetime.now(timezone.utc))
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)  # a pass in hand finishes


class _JobBoundary(Runner):
    """One job's crash boundary and outage log, reusing `Runner.guarded`."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.name}")
        self.job = job

    def __call__(self) -> None:
        self.guarded(self.once)

    def once(self) -> object:
        return self.job.run()

    def snooze(self, stop: threading.Event) -> None:
        stop.wait(self.job.interval)
