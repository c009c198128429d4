"""Rate limits that hold across portal processes and restarts: attempts counted in the database per hashed key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from ..desk.models import PortalThrottle

# Attempts older than this are of no limit's concern any more: each recording sweeps them away.
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window` under one key, such as the failed logins of one address."""

    name: str
    count: int
    window: timedelta

    def key(self, value: str) -> str:
        """The stored key: a hash, so the table holds neither addresses nor IP addresses."""
        return hashlib.sha256(f"{self.name}:{value.strip().lower()}".encode()).hexdigest()


def reached(session: Session, limit: Limit, value: str, now: datetime) -> bool:
    """Whether `value` has used up its attempts: the next one is refused, unchecked. On PostgreSQL the key is
    locked until the transaction ends, so a count and the `record` after it are one step for parallel requests
    (SQLite's writer already is)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": limit.key(value)})
    used = session.scalar(select(func.count()).select_from(PortalThrottle)
                          .where(PortalThrottle.key == limit.key(value), PortalThrottle.at > now - limit.window))
    return (used or 0) >= limit.count


def record(session: Session, limit: Limit, value: str, now: datetime) -> int:
    """Count one attempt; its id, for `take_back` when it succeeds."""
    session.execute(delete(PortalThrottle).where(PortalThrottle.at < now - KEEP))
    attempt = PortalThrottle(key=limit.key(value), at=now)
    session.add(attempt)
    session.flush()
    return attempt.id


def take_back(session: Session, attempts: tuple[int, ...]) -> None:
    """Attempts that succeeded are no failures: they do not count towards any limit."""
    session.execute(delete(PortalThrottle).where(PortalThrottle.id.in_(attempts)))


def forget(session: Session, limit: Limit, value: str) -> None:
    """Start `value` afresh, as after a successful login."""
    session.execute(delete(PortalThrottle).where(PortalThrottle.key == limit.key(value)))
