"""Unit tests for mailbot.locks.lock_key: every daemon, of any version, computes the same advisory lock key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.locks import lock_key


# Pinned: a key that changed between versions would let an old and a new daemon both take "the" lock.
@pytest.mark.parametrize(("name", "key"), [
    ("mesadeayuda/INBOX", 3873457892868221761),
    ("soporte.clavesegura/INBOX", 5596655624156926184),
    ("escalation", -1867712990640229185),
    ("", 5106785815543870181),
])
def test_lock_key_is_pinned(name: str, key: int) -> None:
    assert lock_key(name) == key


@given(st.text())
def test_lock_key_is_a_postgresql_bigint(name: str) -> None:
    assert -(2**63) <= lock_key(name) < 2**63
