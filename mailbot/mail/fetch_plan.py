"""Split a run of messages into batches whose bodies fit a byte budget, and leave those over the size cap unread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Planned", "megabytes", "plan", "too_large"]


@dataclass(frozen=True)
class Planned:
    """One batch: `fetch` are the UIDs to download, `skip` the ones over the cap (UID → the reason)."""

    uids: tuple[int, ...]
    fetch: tuple[int, ...]
    skip: dict[int, str]


def plan(sizes: Sequence[tuple[int, int | str]], max_size: int, budget: int) -> list[Planned]:
    """Consecutive batches of `sizes` ((UID, RFC822.SIZE), oldest first) in their order; a size that is a
    string is why the server could not even give it, and the message is left unread with that reason.

    A batch downloads at most `budget` bytes, or a single message when one alone is bigger; a message over
    `max_size` is never downloaded and costs nothing. So 25 mails of 30 MB under a 25 MB cap are read as 25
    reasons, not 750 MB, and 100 mails of 1 MB are read a budget at a time, not in one FETCH."""
    batches: list[Planned] = []
    uids: list[int] = []
    fetch: list[int] = []
    skip: dict[int, str] = {}
    spent = 0
    for uid, size in sizes:
        if isinstance(size, str) or size > max_size:
            uids.append(uid)
            skip[uid] = size if isinstance(size, str) else too_large(size, max_size)
            continue
        if fetch and spent + size > budget:
            batches.append(Planned(tuple(uids), tuple(fetch), skip))
            uids, fetch, skip, spent = [], [], {}, 0
        uids.append(uid)
        fetch.append(uid)
        spent += size
    if uids:
        batches.append(Planned(tuple(uids), tuple(fetch), skip))
    return batches


def too_large(size: int, max_size: int) -> str:
    """'larger than the 25 MB limit (31 MB)': the reason a message was left unread, in the units of the config."""
    limit = megabytes(max_size)
    found = megabytes(size)
    if found == limit:  # 25.4 MB over a 25 MB limit must not read "(25 MB)"
        found = f"{size:,} bytes"
        limit = f"{max_size:,}-byte"
    return f"larger than the {limit} limit ({found})"


def megabytes(count: int) -> str:
    """'25 MB', '2.5 MB', '700 kB': SI units, as `[limits]` sizes are read (mailbot/sizes.py)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{count} bytes"
