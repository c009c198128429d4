"""Read where a MOVE or COPY put each message: the COPYUID response code of UIDPLUS (RFC 4315 §3)."""

from __future__ import annotations

import re

__all__ = ["copyuid", "uid_set"]

# RFC 4315 §4: "COPYUID" SP nz-number SP uid-set SP uid-set; the first is the destination's UIDVALIDITY.
_COPYUID = re.compile(rb"^\s*(\d+) ([\d:,]+) ([\d:,]+)\s*$")


def uid_set(text: str) -> list[int]:
    """'4,7:9' → [4, 7, 8, 9]; a range may be written high:low (RFC 3501 §9, seq-range). ValueError if malformed."""
    uids: list[int] = []
    for part in text.split(","):
        low, colon, high = part.partition(":")
        first, last = int(low), int(high) if colon else int(low)
        if first < 1 or last < 1:
            raise ValueError(f"not a UID set: {text!r}")
        uids.extend(range(min(first, last), max(first, last) + 1))
    return uids


def copyuid(data: bytes) -> tuple[int, dict[int, int]]:
    """b'1795555664 1:2 5:6' → (1795555664, {1: 5, 2: 6}): the destination's UIDVALIDITY and source UID →
    destination UID. The two sets name the messages in the same order (RFC 4315 §3). ValueError if malformed."""
    match = _COPYUID.match(data)
    if match is None:
        raise ValueError(f"not a COPYUID response: {data!r}")
    sources, targets = uid_set(match.group(2).decode()), uid_set(match.group(3).decode())
    if len(sources) != len(targets):
        raise ValueError(f"COPYUID sets differ in length: {data!r}")
    return int(match.group(1)), dict(zip(sources, targets))
