"""Logins kept in the database: a random token in the cookie, its sha256 in `portal_session`, ended at will."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..config import PortalConfig
from ..desk.models import Contact, PortalSession
from .passwords import stamp


def token_id(token: str) -> str:
    """What the database keeps of a cookie's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, portal: PortalConfig, contact: Contact, remember: bool, now: datetime) -> str:
    """A new login for `contact`; returns the cookie's token (256 random bits), which is stored nowhere.

    A new token at every login, never one the browser brought along, so a planted cookie cannot ride a login
    (session fixation). Expired logins of anybody are swept away on the way."""
    session.execute(delete(PortalSession).where(PortalSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(days=portal.remember_days) if remember else timedelta(hours=portal.session_hours)
    session.add(PortalSession(id=token_id(token), contact_id=contact.id, password_stamp=stamp(contact.password_hash),
                              remember=remember, created_at=now, expires_at=now + lifetime))
    session.flush()
    return token


def find(session: Session, token: str, now: datetime) -> tuple[PortalSession, Contact] | None:
    """The live login a cookie names and its contact; None when it is unknown, expired, or was opened under a
    password that has changed since."""
    login = session.get(PortalSession, token_id(token))
    if login is None or login.expires_at <= now:
        return None
    contact = session.get(Contact, login.contact_id)
    if contact is None or login.password_stamp != stamp(contact.password_hash):
        return None
    return login, contact


def end(session: Session, token: str) -> None:
    session.execute(delete(PortalSession).where(PortalSession.id == token_id(token)))


def end_all(session: Session, contact: Contact) -> None:
    """Every login of the contact, on every device: after a password change."""
    session.execute(delete(PortalSession).where(PortalSession.contact_id == contact.id))

