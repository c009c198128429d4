"""Unit tests for mailbot.desk.durations: the SLA and escalation durations of the configuration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.desk.durations import Duration, parse_duration

# (text, days, clock, canonical text)
GOOD = [
    ("30m", 0, timedelta(minutes=30), "30m"),
    ("4h", 0, timedelta(hours=4), "4h"),
    ("2d", 2, timedelta(), "2d"),
    ("1d4h", 1, timedelta(hours=4), "1d4h"),
    ("90s", 0, timedelta(seconds=90), "1m30s"),
    ("1h30m", 0, timedelta(minutes=90), "1h30m"),
    ("90m", 0, timedelta(minutes=90), "1h30m"),
    ("1d2h3m4s", 1, timedelta(hours=2, minutes=3, seconds=4), "1d2h3m4s"),
    (" 2D ", 2, timedelta(), "2d"),
    ("0m", 0, timedelta(), "0m"),
]


@pytest.mark.parametrize(("text", "days", "clock", "canonical"), GOOD)
def test_parse_duration(text: str, days: int, clock: timedelta, canonical: str) -> None:
    duration = parse_duration(text)
    assert duration == Duration(days, clock)
    assert str(duration) == canonical


@pytest.mark.parametrize("text", ["", "4 hours", "h", "4h1d", "1.5h", "-2h", "2w", "4hh", "1234567h", "4h 30m"])
def test_a_bad_duration_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_duration(text)
    assert str(error.value) == (
        f'expected a duration such as "30m", "4h", "2d" or "1d4h" (units d, h, m, s, largest first), got {text!r}'
    )


def test_a_negative_duration_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="a duration cannot be negative"):
        Duration(0, timedelta(minutes=-5))


@given(st.integers(0, 999), st.timedeltas(timedelta(), timedelta(days=30)).map(lambda d: d - d % timedelta(seconds=1)))
def test_the_canonical_text_reads_back(days: int, clock: timedelta) -> None:
    duration = Duration(days, clock)
    assert parse_duration(str(duration)) == duration
