"""The SMTP server's last error when it took no mail at all, kept in the desk (a `setting` row) so that
`outbox list`, another process than the daemon's, can say why nothing goes out while no row was charged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import Setting, utcnow

SMTP_LAST_ERROR = "smtp_last_error"


@dataclass(frozen=True)
class ServerError:
    server: str  # host:port
    error: str  # the server's or the network's own words, one line
    at: datetime


def remember(session: Session, server: str, unavailable: str | None, sent: int, now: datetime | None = None) -> None:
    """After a drain: keep the error of a server that took no mail (`unavailable`); forget it once it accepted one."""
    if unavailable is not None:
        value = json.dumps({"server": server, "error": unavailable, "at": (now or utcnow()).isoformat()})
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # An upsert: two daemons that meet the same outage at once both write, neither fails.
        session.execute(insert(Setting).values(name=SMTP_LAST_ERROR, value=value)
                        .on_conflict_do_update(index_elements=["name"], set_={"value": value}))
    elif sent:
        session.execute(delete(Setting).where(Setting.name == SMTP_LAST_ERROR))


def last_error(session: Session) -> ServerError | None:
    kept = session.get(Setting, SMTP_LAST_ERROR)
    if kept is None:
        return None
    data = json.loads(kept.value)
    return ServerError(data["server"], data["error"], datetime.fromisoformat(data["at"]))
