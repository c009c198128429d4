"""Which rows a drain holds and for how long: a renewal that skips a row means the row is no longer the drain's."""

from __future__ import annotations

import time

from mailbot.runners.leases import Leases


def test_a_row_counts_only_the_lease_last_written_and_is_forgotten_when_a_renewal_skips_it() -> None:
    leases = Leases()
    now = time.monotonic()
    leases.hold([1, 2, 3], now + 10)

    leases.keep_only([1, 2, 3], [1, 3])  # row 2 was taken over or settled elsewhere
    leases.hold([1, 3], now + 20)
    leases.drop(3)

    assert leases.held() == [1]
    assert 19 < leases.left(1) <= 20
    assert leases.left(2) == leases.left(3) == 0.0


def test_an_expired_lease_has_nothing_left() -> None:
    leases = Leases()
    leases.hold([7], time.monotonic() - 1)
    assert leases.left(7) == 0.0 and leases.held() == [7]
