"""Portal password hashes: a keyed HMAC-SHA-256 for the random temporary passwords, argon2id for chosen ones.

A temporary password (accounts.mint_password, 57^16 ≈ 2^93) cannot be guessed faster than by trying them all, so a
fast keyed hash protects it as well as argon2id at a ten-thousandth of the CPU; a password a person chose could be
in a dictionary, so it keeps argon2id's cost. One `verify` reads the scheme from the hash's prefix, so argon2 hashes
stored before keep verifying. The numbers and the key's life are in docs/passwords.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from .settings import derived_key

# argon2id with OWASP's minimum (m = 19 MiB, t = 2, p = 1). The parameters are stored in each hash, so raising
# them later needs no migration.
ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
TEMPORARY_PREFIX = "$mbk1$"
_PURPOSE = b"mailbot temporary password hashes"
_SALT_BYTES = 16
_TEMPORARY = re.compile(r"\$mbk1\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})")


def temporary_key(desk_secret: bytes) -> bytes:
    """The key of temporary-password hashes, derived from the desk secret (never the secret itself, which also
    signs agents' Message-IDs)."""
    return derived_key(desk_secret, _PURPOSE)


def hash_temporary(key: bytes, password: str) -> str:
    """`$mbk1$<salt>$<HMAC-SHA-256(key, salt || password)>`, both in unpadded base64url."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{TEMPORARY_PREFIX}{_b64(salt)}${_b64(_mac(key, salt, password))}"


def hash_chosen(password: str) -> str:
    return ARGON2.hash(password)


def is_temporary(password_hash: str) -> bool:
    """A keyed hash: of a password we minted and mailed, never of one a person chose."""
    return password_hash.startswith(TEMPORARY_PREFIX)


def verify(key: bytes, password_hash: str, password: str) -> bool:
    """Whether `password` matches the hash, of either scheme; False for a malformed hash or another key's."""
    if is_temporary(password_hash):
        match = _TEMPORARY.fullmatch(password_hash)
        return match is not None and hmac.compare_digest(_unb64(match[2]), _mac(key, _unb64(match[1]), password))
    try:
        return ARGON2.verify(password_hash, password)
    except (Argon2Error, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether an argon2 hash was made with weaker parameters than today's; a keyed hash never needs one."""
    return not is_temporary(password_hash) and ARGON2.check_needs_rehash(password_hash)


def _mac(key: bytes, salt: bytes, password: str) -> bytes:
    return hmac.new(key, salt + password.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
