"""The portal's password rules and checks: at least 12 characters, not a common or reused one; checks that take
one argon2 verification's time whatever the hash (desk/password_hashes.py)."""

from __future__ import annotations

import hashlib
import unicodedata

from ..desk import password_hashes
from .common_passwords import COMMON_PASSWORDS

MIN_LENGTH = 12
# argon2 hashes anything, but a megabyte of "password" is a denial of service, not a password.
MAX_LENGTH = 1000
# Verified when the address has no argon2 hash (none, or a temporary password's keyed hash, which takes
# microseconds), so that every check costs one argon2 verification and the answer's timing tells neither which
# addresses have a user nor which kind of password they have.
_DUMMY_HASH = password_hashes.hash_chosen("mailbot portal: no such user")


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "Contraseña2024!" and "contrasena2024!" are the same common password."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_COMMON = frozenset(map(_fold, COMMON_PASSWORDS))


def verify(key: bytes, password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash (`key`: password_hashes.temporary_key); False for no hash. Always costs
    one argon2 verification."""
    if len(password) > MAX_LENGTH:
        return False
    if password_hash is None or password_hash.startswith(password_hashes.TEMPORARY_PREFIX):
        password_hashes.verify(key, _DUMMY_HASH, password)
    return password_hash is not None and password_hashes.verify(key, password_hash, password)


def problems(key: bytes, new: str, email: str, current_hash: str | None) -> list[str]:
    """What is wrong with a new password, as message keys (empty when it may be used).

    The rules follow NIST SP 800-63B §5.1.1.2: a minimum length, no composition rules, and no password that is
    common, already in use (the temporary one) or the user's own address."""
    if len(new) < MIN_LENGTH:
        return ["err_too_short"]
    if len(new) > MAX_LENGTH:
        return ["err_too_long"]
    found = []
    folded = _fold(new)
    # "Contraseña2024!" is as common as "contrasena2024": trailing symbols add nothing an attacker would not try.
    if folded.rstrip("!.?*#@$&%_-+ ") in _COMMON or len(set(folded)) <= 2:
        found.append("err_common")
    if email and _fold(email) in folded:
        found.append("err_is_address")
    if current_hash is not None and verify(key, current_hash, new):
        found.append("err_unchanged")
    return found


def stamp(password_hash: str | None) -> str:
    """A fingerprint of the hash a session was opened under: when the password changes, so does the stamp."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()
