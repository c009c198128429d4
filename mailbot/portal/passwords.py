"""The portal's password rules and checks: argon2id hashes, at least 12 characters, not a common or reused one."""

from __future__ import annotations

import hashlib
import unicodedata

from argon2.exceptions import InvalidHashError, VerificationError

from ..desk.accounts import HASHER, hash_password
from .common_passwords import COMMON_PASSWORDS

MIN_LENGTH = 12
# argon2 hashes anything, but a megabyte of "password" is a denial of service, not a password.
MAX_LENGTH = 1000
# Verified when the address has no usable hash, so that a wrong address costs as long as a wrong password and the
# answer's timing does not tell which addresses have a user.
_DUMMY_HASH = hash_password("mailbot portal: no such user")


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "Contraseña2024!" and "contrasena2024!" are the same common password."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_COMMON = frozenset(map(_fold, COMMON_PASSWORDS))


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the argon2 hash; False for no hash. Always costs one argon2 verification."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (they are kept in each hash)."""
    return HASHER.check_needs_rehash(password_hash)


def problems(new: str, email: str, current_hash: str | None) -> list[str]:
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
    if current_hash is not None and verify(current_hash, new):
        found.append("err_unchanged")
    return found


def stamp(password_hash: str | None) -> str:
    """A fingerprint of the hash a session was opened under: when the password changes, so does the stamp."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()
