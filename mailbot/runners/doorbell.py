"""Wake the outgoing runner as soon as ingest commits outbox rows, instead of at its next poll."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = "mailbot_outbox"


class Doorbell:
    """An in-process event; on PostgreSQL the writer also NOTIFYs, so another daemon's sender wakes too."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def announce(self, session: Session) -> None:
        """Inside the transaction that adds outbox rows: PostgreSQL delivers the NOTIFY only if it commits."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"NOTIFY {CHANNEL}"))

    def ring(self) -> None:
        """After the commit: wake this process's sender."""
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Block until rung or `timeout` seconds pass; True when rung."""
        rung = self._event.wait(timeout)
        self._event.clear()
        return rung
