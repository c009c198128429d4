"""Parse the SLA and escalation durations of the configuration ("30m", "4h", "2d", "1d4h") into a value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# Units largest first, each at most once; up to six digits each, so a typo cannot overflow timedelta.
_DURATION = re.compile(r"(?:(?P<d>\d{1,6})d)?(?:(?P<h>\d{1,6})h)?(?:(?P<m>\d{1,6})m)?(?:(?P<s>\d{1,6})s)?")


@dataclass(frozen=True)
class Duration:
    """Business days plus business clock time.

    Days are kept apart because a business day is not 24 hours: `BusinessCalendar.add` moves them as whole open
    days ("2d" from Tuesday 15:00 is Thursday 15:00), then adds the clock time as open time.
    """

    days: int = 0
    clock: timedelta = timedelta()

    def __post_init__(self) -> None:
        if self.days < 0 or self.clock < timedelta():
            raise ValueError(f"a duration cannot be negative, got {self.days} days and {self.clock}")

    def __str__(self) -> str:
        """The canonical text, which `parse_duration` reads back: Duration(1, timedelta(hours=4)) → "1d4h"."""
        minutes, seconds = divmod(int(self.clock.total_seconds()), 60)
        hours, minutes = divmod(minutes, 60)
        parts = [f"{n}{unit}" for n, unit in ((self.days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
        return "".join(parts) or "0m"


def parse_duration(text: str) -> Duration:
    """Read "30m", "4h", "2d", "1d4h", "90s" (units d, h, m, s, largest first); ValueError says what is expected."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or not any(match.groups()):
        raise ValueError(
            f'expected a duration such as "30m", "4h", "2d" or "1d4h" (units d, h, m, s, largest first), got {text!r}'
        )
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return Duration(days, timedelta(hours=hours, minutes=minutes, seconds=seconds))
