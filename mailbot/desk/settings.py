"""The desk secret that signs notification Message-IDs: configured, or generated once and kept in the database;
and the keys of its own each other use derives from it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..config import Config
from .models import Setting

DESK_SECRET = "desk_secret"


def desk_secret(session: Session, config: Config) -> bytes:
    """`[desk] secret`, else the one kept in the `setting` table, generated on first use. Two daemons that start
    together insert with ON CONFLICT DO NOTHING and both read back the one that won, so every id verifies."""
    if config.desk.secret:
        return config.desk.secret.encode()
    kept = session.get(Setting, DESK_SECRET)
    if kept is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(Setting).values(name=DESK_SECRET, value=secrets.token_hex(32))
                        .on_conflict_do_nothing(index_elements=["name"]))
        kept = session.scalars(select(Setting).where(Setting.name == DESK_SECRET)).one()
    return kept.value.encode()


def derived_key(secret: bytes, purpose: bytes) -> bytes:
    """A key for one `purpose` (survey links, temporary-password hashes, the portal's forms), derived from a secret:
    never the secret itself, which also signs agents' Message-IDs, so no token of one use is a valid MAC of another."""
    return hmac.new(secret, purpose, hashlib.sha256).digest()
