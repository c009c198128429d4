"""The doorbell wakes the outgoing runner once per ring, and a ring while nobody waits is not lost."""

from __future__ import annotations

import threading
import time

from mailbot.runners.doorbell import Doorbell


def test_a_ring_before_the_wait_wakes_it_at_once_and_only_once() -> None:
    doorbell = Doorbell()
    doorbell.ring()
    assert doorbell.wait(0) is True
    assert doorbell.wait(0) is False


def test_a_ring_while_nobody_waits_is_kept_for_the_next_wait() -> None:
    doorbell = Doorbell()
    assert doorbell.wait(0.01) is False
    doorbell.ring()  # e.g. ingest committed between two of the runner's waits
    assert doorbell.wait(0) is True


def test_a_ring_from_another_thread_ends_the_wait() -> None:
    doorbell = Doorbell()
    threading.Timer(0.05, doorbell.ring).start()
    began = time.monotonic()
    assert doorbell.wait(10) is True
    assert time.monotonic() - began < 5
