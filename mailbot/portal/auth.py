"""Logging in, choosing a new password and asking for a temporary one: the rules, the limits, and what is logged.

Password checks run outside any transaction, so a SQLite write lock is never held while a password is hashed; nothing
here logs a password, a token or an address typed at the login (only contact ids and client addresses).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Config, PortalConfig
from ..desk import submissions
from ..desk.models import Contact
from ..desk.password_hashes import hash_chosen, needs_rehash
from . import passwords, sessions, throttle
from .database import Database
from .throttle import Limit

log = logging.getLogger(__name__)
# Resets per client address are this many times the per-address limit: one office may share one address.
CLIENT_RESET_FACTOR = 4


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown address or wrong password: the page never says which
    THROTTLED = "throttled"
    EXPIRED = "expired"  # the right temporary password, too old to use


@dataclass(frozen=True)
class Login:
    outcome: Outcome
    token: str | None = field(default=None, repr=False)  # the new session's cookie
    must_change: bool = False


@dataclass(frozen=True)
class _Known:
    """What a login needs of the contact, read before any password is checked."""

    id: int
    password_hash: str | None
    must_change: bool
    credentials_sent_at: datetime | None
    reset_password_hash: str | None
    reset_sent_at: datetime | None


def login_limits(portal: PortalConfig) -> tuple[Limit, Limit]:
    """Failed logins per address typed and per client address."""
    window = timedelta(seconds=portal.login_failure_window)
    return (Limit("login-address", portal.login_failures_per_account, window),
            Limit("login-client", portal.login_failures_per_client, window))


def reset_limits(portal: PortalConfig) -> tuple[Limit, Limit]:
    """Temporary passwords asked for, per address typed and per client address."""
    hour = timedelta(hours=1)
    return (Limit("reset-address", portal.resets_per_hour, hour),
            Limit("reset-client", portal.resets_per_hour * CLIENT_RESET_FACTOR, hour))


def log_in(db: Database, config: Config, key: bytes, username: str, password: str, remember: bool, client: str,
           now: datetime, replacing: str | None = None) -> Login:
    """Check the password and open a session, ending the one the browser had (`replacing`, its token); `key`
    checks temporary passwords (password_hashes.temporary_key).

    Each try is counted before any password is checked, in the transaction that read the counts (serialised per
    key), so parallel tries cannot slip past a limit together; a success takes its counts back. Over the client's
    limit nothing is checked. Over the address's limit the chosen password is not checked either, but a reset
    password still is: it is random (93 bits), so guessing it is hopeless, and a stranger's failures cannot lock
    the customer out of "Restablecer contraseña". Every path costs two argon2 verifications, so neither the answer
    nor its time tells who has a user, or which password matched."""
    address = username.strip().lower()
    by_address, by_client = login_limits(config.portal)
    with db.write() as session:
        if throttle.reached(session, by_client, client, now):
            log.warning("portal: login refused, too many failures (client %s)", client)
            return Login(Outcome.THROTTLED)
        address_over = throttle.reached(session, by_address, address, now)
        tries = (throttle.record(session, by_address, address, now), throttle.record(session, by_client, client, now))
        known = _known(session, address)
    current = passwords.verify(key, known.password_hash if known and not address_over else None, password)
    # Always a second verification, so that the time taken tells nothing of which password matched, or whether any
    # reset is waiting: a reset password works beside the current one until it is used or expires.
    by_reset = passwords.verify(key, known.reset_password_hash if known else None, password)
    if known is not None and by_reset and not current:
        if temporary_expired(config.portal, known.reset_sent_at, now):
            log.info("portal: contact %d logged in with an expired reset password", known.id)
            return Login(Outcome.EXPIRED)
        with db.write() as session:  # the reset password becomes the password, to be changed at once
            contact = session.get(Contact, known.id)
            assert contact is not None
            if contact.reset_password_hash == known.reset_password_hash:
                contact.password_hash, contact.reset_password_hash = contact.reset_password_hash, None
                contact.must_change_password, contact.credentials_sent_at = True, contact.reset_sent_at
        known = _known_by_id(db, known.id)
        current = True
    if not current:
        log.info("portal: failed login (%s, client %s)", f"contact {known.id}" if known else "no such user", client)
        return Login(Outcome.THROTTLED if address_over else Outcome.WRONG)
    assert known is not None and known.password_hash is not None
    if known.must_change and temporary_expired(config.portal, known.credentials_sent_at, now):
        log.info("portal: contact %d logged in with an expired temporary password", known.id)
        return Login(Outcome.EXPIRED)
    rehashed = hash_chosen(password) if needs_rehash(known.password_hash) else None
    with db.write() as session:
        contact = session.get(Contact, known.id)
        assert contact is not None
        if rehashed is not None and contact.password_hash == known.password_hash:
            contact.password_hash = rehashed
        throttle.forget(session, by_address, address)
        throttle.take_back(session, tries)
        if replacing:
            sessions.end(session, replacing)
        token = sessions.start(session, config.portal, contact, remember, now)
    log.info("portal: contact %d logged in (client %s)", known.id, client)
    return Login(Outcome.OK, token, known.must_change)


def temporary_expired(portal: PortalConfig, sent_at: datetime | None, now: datetime) -> bool:
    """A temporary password is good for `temporary_password_days` after the mail that carried it was sent."""
    return sent_at is None or now - sent_at > timedelta(days=portal.temporary_password_days)


def change_password(db: Database, config: Config, key: bytes, contact_id: int, current: str, new: str,
                    confirm: str, remember: bool, now: datetime) -> tuple[list[str], str | None]:
    """(problems as message keys, the new session's token). A contact who must change a temporary password just
    typed it to log in, so only the others are asked for their current one. Every other session ends."""
    by_address, _ = login_limits(config.portal)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        email, old_hash, forced = contact.email, contact.password_hash, contact.must_change_password
        if not forced:  # a stolen session must not become a way to guess the real password without limit
            if throttle.reached(session, by_address, email, now):
                return ["err_login_throttled_short"], None
            tries = (throttle.record(session, by_address, email, now),)
    if not forced and not passwords.verify(key, old_hash, current):
        return ["err_current_wrong"], None
    if not forced:
        with db.write() as session:
            throttle.take_back(session, tries)
    found = passwords.problems(key, new, email, old_hash)
    if new != confirm:
        found.append("err_mismatch")
    if found:
        return found, None
    new_hash = hash_chosen(new)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        if contact.password_hash != old_hash:  # a reset mail went out meanwhile: that password rules now
            return ["err_current_wrong"], None
        contact.password_hash, contact.reset_password_hash = new_hash, None  # a reset asked for before is moot
        contact.must_change_password = False
        sessions.end_all(session, contact)
        token = sessions.start(session, config.portal, contact, remember, now)
    log.info("portal: contact %d chose a new password", contact_id)
    return [], token


def request_reset(db: Database, config: Config, username: str, client: str, now: datetime) -> bool:
    """Queue a temporary password for the address if it has a user and is under its limit. False only when the
    client address is over its limit: the answer never depends on the address typed."""
    address = username.strip().lower()
    by_address, by_client = reset_limits(config.portal)
    with db.write() as session:
        if throttle.reached(session, by_client, client, now):
            log.warning("portal: password reset refused, too many requests (client %s)", client)
            return False
        throttle.record(session, by_client, client, now)
        if throttle.reached(session, by_address, address, now):
            return True
        throttle.record(session, by_address, address, now)
        contact = session.scalars(select(Contact).where(Contact.email == address)).one_or_none()
        if contact is not None and submissions.enqueue_password_reset(session, config, contact) is not None:
            log.info("portal: temporary password queued for contact %d (client %s)", contact.id, client)
    return True


def _known(session: Session, address: str) -> _Known | None:
    contact = session.scalars(select(Contact).where(Contact.email == address)).one_or_none()
    if contact is None:
        return None
    return _Known(contact.id, contact.password_hash, contact.must_change_password, contact.credentials_sent_at,
                  contact.reset_password_hash, contact.reset_sent_at)


def _known_by_id(db: Database, contact_id: int) -> _Known:
    with db.read() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        return _Known(contact.id, contact.password_hash, contact.must_change_password, contact.credentials_sent_at,
                      contact.reset_password_hash, contact.reset_sent_at)
