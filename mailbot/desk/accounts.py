"""Contacts and their portal credentials: temporary passwords are minted at send time and kept only as hashes
(desk/password_hashes.py)."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import Contact

# No look-alikes (0/O, 1/l/I) and nothing HTML or a mail client would mangle.
PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
PASSWORD_LENGTH = 16


def mint_password() -> str:
    """A temporary password from `secrets`: 16 characters from 57, about 93 bits."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def get_or_create_contact(session: Session, email: str, name: str, account: str, *, searched: bool = False,
                          found: Contact | None = None) -> tuple[Contact, bool]:
    """The contact for an address, and whether this call created it; safe when two daemons race on one address.

    `searched`: the caller has looked the address up already (a batch's lookups) and `found` is what it found. A
    contact created since (by another mail of the batch, another daemon) is still found: the insert gives way."""
    email = email.lower()
    contact = found if searched else session.scalars(select(Contact).where(Contact.email == email)).one_or_none()
    if contact is not None:
        if name and not contact.name:
            contact.name = name
        return contact, False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = session.scalars(
        insert(Contact)
        .values(email=email, name=name, account=account, must_change_password=True)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(Contact)  # the new row itself: no second query to read it
    ).one_or_none()
    if created is not None:
        return created, True
    return session.scalars(select(Contact).where(Contact.email == email)).one(), False  # another daemon's
