"""The portal's password rules (NIST SP 800-63B): length, not common, not the temporary one, not the address."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.desk.accounts import mint_password
from mailbot.desk.password_hashes import hash_chosen, hash_temporary, temporary_key
from mailbot.portal.passwords import MIN_LENGTH, problems, stamp, verify

ADDRESS = "marta.ruiz@transportes.example.org"
TEMPORARY = "9LT7PGcAdw3hfg2D"
KEY = temporary_key(b"desk secret of example.com")
TEMPORARY_HASH = hash_temporary(KEY, TEMPORARY)


@pytest.mark.parametrize(("new", "expected"), [
    pytest.param("caballo correcto batería grapa", [], id="a passphrase"),
    pytest.param("Zq8#mW2!vR5t", [], id="twelve mixed characters"),
    pytest.param("corto123", ["err_too_short"], id="short"),
    pytest.param("a" * 11, ["err_too_short"], id="eleven"),
    pytest.param("x" * 1001, ["err_too_long"], id="a megabyte is not a password"),
    pytest.param("contraseña2024", ["err_common"], id="common Spanish"),
    pytest.param("Contrasena2024!", ["err_common"], id="common, accents and case and a trailing symbol"),
    pytest.param("qwertyuiop123", ["err_common"], id="keyboard row"),
    pytest.param("123456789012", ["err_common"], id="counting"),
    pytest.param("abababababab", ["err_common"], id="two characters repeated"),
    pytest.param("Colombia2025", ["err_common"], id="country and year"),
    pytest.param(TEMPORARY, ["err_unchanged"], id="the temporary password itself"),
    pytest.param(f"{ADDRESS}!", ["err_is_address"], id="the address"),
    pytest.param(f"x{ADDRESS.upper()}x", ["err_is_address"], id="the address in capitals"),
])
def test_new_password_rules(new: str, expected: list[str]) -> None:
    assert problems(KEY, new, ADDRESS, TEMPORARY_HASH) == expected


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=MIN_LENGTH - 1))
def test_anything_shorter_than_twelve_is_refused_for_its_length(new: str) -> None:
    assert problems(KEY, new, ADDRESS, None) == ["err_too_short"]


@pytest.mark.parametrize("scheme", [hash_chosen, lambda password: hash_temporary(KEY, password)],
                         ids=["argon2id", "keyed"])
def test_verify_checks_either_hash_and_nothing_verifies_without_one(scheme: object) -> None:
    assert callable(scheme)
    password = mint_password()
    password_hash = scheme(password)
    assert verify(KEY, password_hash, password)
    assert not verify(KEY, password_hash, password + "x")
    assert not verify(KEY, None, password)
    assert not verify(KEY, "not a hash", password)


def test_the_stamp_changes_with_the_password() -> None:
    assert stamp(hash_chosen("uno dos tres cuatro")) != stamp(hash_chosen("uno dos tres cuatro"))  # salted
    assert stamp(TEMPORARY_HASH) == stamp(TEMPORARY_HASH)
