"""The two password hash schemes behind one verify: keyed HMAC for temporary passwords, argon2id for chosen ones."""

from __future__ import annotations

import pytest

from mailbot.desk.accounts import mint_password
from mailbot.desk.password_hashes import (ARGON2, TEMPORARY_PREFIX, hash_chosen, hash_temporary, needs_rehash,
                                          temporary_key, verify)

KEY = temporary_key(b"desk secret of example.com")
PASSWORD = "9LT7PGcAdw3hfg2D"


def test_a_temporary_hash_is_keyed_salted_and_holds_no_password() -> None:
    first, second = hash_temporary(KEY, PASSWORD), hash_temporary(KEY, PASSWORD)
    assert first.startswith(TEMPORARY_PREFIX) and first != second, "salted"
    assert PASSWORD not in first
    assert verify(KEY, first, PASSWORD) and verify(KEY, second, PASSWORD)
    assert not verify(KEY, first, PASSWORD[:-1] + "x")
    assert not needs_rehash(first)


def test_the_key_is_derived_not_the_secret_and_another_key_verifies_nothing() -> None:
    assert KEY != b"desk secret of example.com"
    stored = hash_temporary(KEY, PASSWORD)
    assert not verify(temporary_key(b"rotated desk secret"), stored, PASSWORD)


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda h: _flip(h, len(h) - 2), id="mac changed"),
    pytest.param(lambda h: _flip(h, len(TEMPORARY_PREFIX) + 1), id="salt changed"),
    pytest.param(lambda h: h[:-1], id="mac cut short"),
    pytest.param(lambda h: h + "$", id="trailing field"),
    pytest.param(lambda h: TEMPORARY_PREFIX, id="prefix only"),
    pytest.param(lambda h: h.replace(TEMPORARY_PREFIX, "$mbk2$"), id="unknown scheme"),
    pytest.param(lambda h: "not a hash", id="garbage"),
])
def test_a_tampered_or_malformed_hash_verifies_nothing(tamper: object) -> None:
    assert callable(tamper)
    assert not verify(KEY, tamper(hash_temporary(KEY, PASSWORD)), PASSWORD)


def test_a_chosen_password_is_argon2id_and_verifies_with_any_key() -> None:
    stored = hash_chosen("caballo correcto batería grapa")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify(KEY, stored, "caballo correcto batería grapa")
    assert not verify(KEY, stored, "caballo correcto bateria grapa")


def test_a_temporary_password_hashed_with_argon2_before_still_verifies() -> None:
    password = mint_password()
    stored = ARGON2.hash(password)  # how every temporary password was kept until the keyed hash
    assert verify(KEY, stored, password) and not verify(KEY, stored, mint_password())
    assert not needs_rehash(stored)
