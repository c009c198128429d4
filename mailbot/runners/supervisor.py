"""Start every runner in its own thread, restart one that dies, and stop them all when told (Mailman's master)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from .base import Runner

log = logging.getLogger(__name__)
# A runner that dies past its own crash boundary this often in RESTART_WINDOW seconds is a bug worth stopping for
# (exit 1, so systemd's Restart=on-failure starts a fresh process); fewer deaths, spread out, are restarted.
MAX_RESTARTS, RESTART_WINDOW = 10, 600.0
STOP_GRACE = 60.0  # seconds all runners together get to finish the pass in hand after SIGTERM or SIGHUP


class Supervisor:
    def __init__(self, runners: Sequence[Runner], max_restarts: int = MAX_RESTARTS) -> None:
        self.runners = tuple(runners)
        self.max_restarts = max_restarts
        self.deaths: dict[str, deque[float]] = {runner.name: deque() for runner in self.runners}

    def run(self, stop: threading.Event) -> bool:
        """Block until `stop` is set; then let every runner finish its pass in hand. True when they all ended;
        False when a runner kept dying or one did not stop in time: the caller must not start new runners beside
        it (the process exits instead)."""
        threads = {runner.name: self._start(runner, stop) for runner in self.runners}
        gave_up = False
        while not stop.wait(1.0):
            for runner in self.runners:
                if threads[runner.name].is_alive() or stop.is_set():
                    continue
                deaths = self.deaths[runner.name]
                deaths.append(time.monotonic())
                while deaths and deaths[0] < time.monotonic() - RESTART_WINDOW:
                    deaths.popleft()
                if len(deaths) > self.max_restarts:
                    log.critical("%s died %d times in %gs; stopping mailbot", runner.name, len(deaths),
                                 RESTART_WINDOW)
                    gave_up = True
                    stop.set()
                    break
                log.error("%s stopped unexpectedly; restarting it", runner.name)
                threads[runner.name] = self._start(runner, stop)
        for runner in self.runners:
            runner.wake()
        deadline = time.monotonic() + STOP_GRACE
        for name, thread in threads.items():
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [name for name, thread in threads.items() if thread.is_alive()]
        if stuck:
            log.critical("%s did not stop within %gs", ", ".join(stuck), STOP_GRACE)
        return not gave_up and not stuck

    @staticmethod
    def _start(runner: Runner, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=runner.run, args=(stop,), name=runner.name, daemon=True)
        thread.start()
        return thread
