"""The scheduler runner and the supervisor, with real threads and a real APScheduler."""

from __future__ import annotations

import threading
import time

import pytest

from mailbot.runners.base import Runner, Unavailable
from mailbot.runners.scheduler import Job, SchedulerRunner
from mailbot.runners.supervisor import Supervisor


def _wait_for(condition: object, timeout: float = 5.0) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def test_once_runs_every_job_one_time_in_order() -> None:
    ran: list[str] = []
    SchedulerRunner([Job("a", 60, lambda: ran.append("a")), Job("b", 60, lambda: ran.append("b"))]).once()
    assert ran == ["a", "b"]


def test_a_failing_job_neither_stops_the_others_nor_escapes(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise Unavailable("database error: gone")

    failed = SchedulerRunner([Job("broken", 60, broken), Job("fine", 60, lambda: ran.append("fine"))]).once()
    assert ran == ["fine"] and "job broken: database error: gone" in caplog.text
    assert failed == ["job broken: database error: gone"], "run --once reports it (exit 1)"


def test_jobs_run_at_start_then_every_interval_until_stopped() -> None:
    runs: list[float] = []
    runner = SchedulerRunner([Job("tick", 0.2, lambda: runs.append(time.monotonic()))])
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        assert _wait_for(lambda: len(runs) >= 3), "the first pass runs at start (the catch-up pass), then each 0.2 s"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def _behind(passes: int, ran: list[float]) -> Job:
    """A job with `passes` passes' worth of due work: each pass takes one and says whether more is left."""

    def run() -> bool:
        ran.append(time.monotonic())
        return len(ran) < passes

    return Job("behind", 3600, run)


def test_once_repeats_a_job_that_is_behind_until_it_has_caught_up() -> None:
    ran: list[float] = []
    assert SchedulerRunner([_behind(4, ran)]).once() == []
    assert len(ran) == 4, "run --once leaves no due work for the next cron run"


def test_a_job_that_is_behind_runs_again_at_once_not_an_interval_later() -> None:
    ran: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=SchedulerRunner([_behind(4, ran)]).run, args=(stop,))
    thread.start()
    try:
        assert _wait_for(lambda: len(ran) == 4), "an hour's interval, yet the backlog is taken pass after pass"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_a_stop_ends_the_catching_up_after_the_pass_in_hand() -> None:
    ran: list[float] = []
    stop = threading.Event()
    runner = SchedulerRunner([Job("endless", 3600, lambda: bool(ran.append(time.monotonic()) or stop.set() or True))])
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and len(ran) == 1


class _Flaky(Runner):
    """Returns from run() the first time, as a runner whose thread died past its crash boundary would."""

    def __init__(self) -> None:
        super().__init__("flaky")
        self.starts = 0

    def once(self) -> None:
        return None

    def snooze(self, stop: threading.Event) -> None:
        stop.wait()

    def run(self, stop: threading.Event) -> None:
        self.starts += 1
        if self.starts > 1:
            stop.wait()


def test_the_supervisor_restarts_a_runner_that_stopped_and_stops_every_runner_when_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = _Flaky()
    stop = threading.Event()
    supervisor = threading.Thread(target=Supervisor([flaky]).run, args=(stop,))
    supervisor.start()
    try:
        assert _wait_for(lambda: flaky.starts == 2)
    finally:
        stop.set()
        supervisor.join(10)
    assert not supervisor.is_alive()
    assert "flaky stopped unexpectedly; restarting it" in caplog.text


def test_a_scheduler_without_jobs_waits_for_the_stop_instead_of_looking_dead() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=SchedulerRunner([]).run, args=(stop,))
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


class _Dying(Runner):
    """Returns from run() at once, every time: a bug past its crash boundary."""

    def once(self) -> None:
        return None

    def snooze(self, stop: threading.Event) -> None:
        stop.wait()

    def run(self, stop: threading.Event) -> None:
        return None


def test_the_supervisor_gives_up_on_a_runner_that_keeps_dying_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    assert Supervisor([_Dying("dying")], max_restarts=2).run(stop) is False, "the process must exit, not reload"
    assert stop.is_set() and "dying died 3 times" in caplog.text
