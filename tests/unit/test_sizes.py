"""Byte sizes of the configuration: SI units are powers of 1000, IEC units powers of 1024, a string needs its unit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.sizes import UNITS, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("25MB", 25_000_000),
        ("20 MiB", 20 * 1024 * 1024),
        ("25mb", 25_000_000),
        ("512kB", 512_000),
        ("64 KiB", 65_536),
        ("1.5GB", 1_500_000_000),
        ("2 GiB", 2 * 1024**3),
        ("900 B", 900),
        ("  10MB  ", 10_000_000),
        ("0.5 KiB", 512),
        ("1.0001 kB", 1000),
    ],
    ids=["si-mega", "iec-mebi-with-space", "unit-case-ignored", "si-kilo", "iec-kibi", "decimal-fraction",
         "iec-gibi", "bytes", "outer-spaces", "fraction-of-kibi", "fraction-of-a-byte-dropped"],
)
def test_a_size_is_read_in_bytes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text",
    ["25", "", "MB", "25 megabytes", "25M", "-5MB", "1e3MB", "25 MB extra", "1,5MB", "25TB"],
    ids=["no-unit-is-ambiguous", "empty", "no-number", "unit-spelled-out", "unit-without-b", "negative",
         "exponent", "trailing-words", "decimal-comma", "unit-too-large"],
)
def test_a_size_that_is_not_a_number_and_a_known_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r'expected a number of bytes such as 25000000, or a string with a unit'):
        parse_size(text)


@given(st.integers(0, 10**9), st.sampled_from(sorted(UNITS)), st.sampled_from(["", " "]), st.booleans())
def test_any_whole_number_with_any_unit_is_that_many_units(number: int, unit: str, space: str, upper: bool) -> None:
    text = f"{number}{space}{unit.upper() if upper else unit}"
    assert parse_size(text) == number * UNITS[unit]
