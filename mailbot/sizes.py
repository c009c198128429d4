"""Parse the byte sizes of the configuration ("25MB", "20 MiB", "512kB") into a number of bytes."""

from __future__ import annotations

import re
from decimal import Decimal

# One rule, the SI and IEC one (IEC 80000-13): k, M, G are powers of 1000; Ki, Mi, Gi are powers of 1024.
# Units are read case-insensitively ("25mb" is 25 MB): nobody means millibits in a mail limit.
UNITS = {
    "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}
EXPECTED = 'a number of bytes such as 25000000, or a string with a unit such as "25MB" or "20 MiB" (kB, MB, GB are ' \
           "powers of 1000; KiB, MiB, GiB powers of 1024)"
_SIZE = re.compile(r"(\d{1,12}(?:\.\d{1,6})?)\s*([a-z]+)")


def parse_size(text: str) -> int:
    """Bytes in "25MB" (25 000 000), "20 MiB" (20 971 520), "1.5 GB", "900 B"; a fraction of a byte is dropped.

    A string needs its unit: "25" alone could mean bytes or megabytes, so it is refused. ValueError says what is
    expected."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None or match.group(2) not in UNITS:
        raise ValueError(f"expected {EXPECTED}, got {text!r}")
    return int(Decimal(match.group(1)) * UNITS[match.group(2)])
