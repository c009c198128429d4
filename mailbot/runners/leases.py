"""Which claimed outbox rows one drain holds, and until when: so that no row is handed to SMTP unless its lease
outlives the longest send, however long it waited in the drain's queue."""

from __future__ import annotations

import time


class Leases:
    """Row id → the monotonic instant its lease ends (as last written to the database by the claim or a renewal).

    The instant is taken *before* the statement that wrote it, so it is never later than the database's."""

    def __init__(self) -> None:
        self._until: dict[int, float] = {}

    def hold(self, row_ids: list[int], until: float) -> None:
        """Rows claimed or renewed with a lease ending at `until`; a renewal may report fewer rows than it was
        asked about (one taken over, or no longer pending): call `keep_only` for those it asked about."""
        for row_id in row_ids:
            self._until[row_id] = until

    def keep_only(self, asked: list[int], renewed: list[int]) -> None:
        """Of the rows a renewal asked about, forget those it did not renew: they are no longer this drain's."""
        for row_id in set(asked) - set(renewed):
            self._until.pop(row_id, None)

    def drop(self, row_id: int) -> None:
        """The row is settled (marked sent or failed) or given up: nothing to renew any more."""
        self._until.pop(row_id, None)

    def held(self) -> list[int]:
        return sorted(self._until)

    def left(self, row_id: int) -> float:
        """Seconds of lease this drain can count on for a row; 0 for a row it does not hold."""
        until = self._until.get(row_id)
        return 0.0 if until is None else max(0.0, until - time.monotonic())
