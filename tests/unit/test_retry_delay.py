"""Retry delays grow exponentially from retry_base, stop at retry_cap, and are jittered by ±20 %."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.config import SmtpConfig
from mailbot.desk.outbox_service import retry_delay


def smtp(base: float, cap: float) -> SmtpConfig:
    return SmtpConfig(host="smtp.example.com", port=25, tls="none", username=None, password=None, from_name="",
                      retry_base=base, retry_cap=cap)


@pytest.mark.parametrize(("attempts", "nominal"), [
    (1, 30),  # the first retry waits retry_base
    (2, 60),
    (3, 120),
    (7, 1920),
    (8, 3600),  # 3840 is over the cap
    (12, 3600),  # the default max_attempts
])
def test_the_delay_doubles_per_attempt_up_to_the_cap(attempts: int, nominal: float) -> None:
    seconds = retry_delay(smtp(30, 3600), attempts).total_seconds()
    assert nominal * 0.8 <= seconds <= nominal * 1.2


@given(attempts=st.integers(1, 100), base=st.floats(0, 86400), cap=st.floats(0, 7 * 86400))
def test_the_delay_is_never_more_than_the_cap_nor_off_its_nominal_by_more_than_a_fifth(
    attempts: int, base: float, cap: float
) -> None:
    nominal = min(cap, base * 2 ** (attempts - 1))
    seconds = retry_delay(smtp(base, cap), attempts).total_seconds()
    assert nominal * 0.8 - 1e-6 <= seconds <= nominal * 1.2 + 1e-6
    assert seconds <= cap * 1.2 + 1e-6
