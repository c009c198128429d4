"""Start every runner in its own thread, restart one that dies, and stop them all when told (Mailman's master)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from .base import Runner

log = logging.getLogger(__name__)
MAX_RESTARTS = 10  # a runner that keeps dying past its own crash boundary is a bug worth stopping for
STOP_GRACE = 60.0  # seconds a runner gets to finish the pass in hand after SIGTERM


class Supervisor:
    def __init__(self, runners: Sequence[Runner]) -> None:
        self.runners = tuple(runners)
        self.restarts = {runner.name: 0 for runner in self.runners}

    def run(self, stop: threading.Event) -> None:
        """Block until `stop` is set; then let every runner finish its pass in hand and return."""
        threads = {runner.name: self._start(runner, stop) for runner in self.runners}
        while not stop.wait(1.0):
            for runner in self.runners:
                if threads[runner.name].is_alive() or stop.is_set():
                    continue
                self.restarts[runner.name] += 1
                if self.restarts[runner.name] > MAX_RESTARTS:
                    log.critical("%s died %d times; stopping mailbot", runner.name, MAX_RESTARTS)
                    stop.set()
                    break
                log.error("%s stopped unexpectedly; restarting it", runner.name)
                threads[runner.name] = self._start(runner, stop)
        for runner in self.runners:
            runner.wake()
        for name, thread in threads.items():
            thread.join(STOP_GRACE)
            if thread.is_alive():
                log.error("%s did not stop within %gs", name, STOP_GRACE)

    @staticmethod
    def _start(runner: Runner, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=runner.run, args=(stop,), name=runner.name, daemon=True)
        thread.start()
        return thread
