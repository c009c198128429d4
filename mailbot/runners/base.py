"""What every runner shares: a loop of one pass, one crash boundary, capped backoff, one log line per outage."""

from __future__ import annotations

import abc
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """What a runner talks to (a mailbox, the SMTP server, the database, the disk) cannot be used now.

    str() is one line that says which and why. It is an outage, not a bug: logged once, retried with backoff."""


@dataclass
class Backoff:
    """Capped exponential delays with ±20 % jitter, so runners that failed together do not retry in lockstep."""

    base: float = 1.0
    cap: float = 300.0
    failures: int = 0

    def next_delay(self) -> float:
        self.failures += 1
        delay: float = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0


@dataclass
class OutageLog:
    """Say an outage once when it starts, and once when it ends, not on every retry."""

    name: str
    current: str | None = field(default=None)

    def failed(self, why: str) -> None:
        if self.current is None:
            log.error("%s: %s; retrying with backoff", self.name, why)
        elif why != self.current:
            log.error("%s: still failing, now: %s", self.name, why)
        self.current = why

    def ok(self) -> None:
        if self.current is not None:
            log.warning("%s: working again", self.name)
        self.current = None


class Runner(abc.ABC):
    """A loop of one small step, as Mailman's `Runner.run` → `_one_iteration` → `_snooze`.

    `run --once` and the tests call `once()`; the daemon calls `run(stop)` in the runner's own thread. `run` is the
    runner's crash boundary: an outage (`Unavailable`) is logged once and retried with capped backoff; anything
    else is a bug, logged with its traceback and retried the same way, so one runner's failure never stops another.
    """

    name: str

    def __init__(self, name: str, backoff: Backoff | None = None) -> None:
        self.name = name
        self.backoff = backoff or Backoff()
        self.outage = OutageLog(name)

    @abc.abstractmethod
    def once(self) -> object:
        """One pass: do everything that is due now, then return a report. Raise `Unavailable` for an outage."""

    @abc.abstractmethod
    def snooze(self, stop: threading.Event) -> None:
        """Wait until the next pass is due, or `stop` is set."""

    def wake(self) -> None:
        """Cut `snooze` short (the supervisor calls it on stop); a runner whose snooze watches `stop` needs none."""

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.guarded(self.once):
                self.snooze(stop)
            else:
                stop.wait(self.backoff.next_delay())

    def guarded(self, step: Callable[[], object]) -> bool:
        """Run `step()` inside the crash boundary; True when it succeeded."""
        done = guarded(step, self.outage)
        if done:
            self.backoff.reset()
        return done


def guarded(step: Callable[[], object], outage: OutageLog) -> bool:
    """A crash boundary: an `Unavailable` is an outage, logged once by `outage`; anything else is a bug, logged with
    its traceback. True when `step()` succeeded."""
    try:
        step()
    except Unavailable as exc:
        outage.failed(str(exc))
        return False
    except Exception as exc:  # the crash boundary: a bug in one pass never stops the daemon
        log.exception("%s: pass failed", outage.name)
        outage.failed(f"{type(exc).__name__}: {exc}")
        return False
    outage.ok()
    return True
