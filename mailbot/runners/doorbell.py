"""Wake the outgoing runner as soon as ingest commits outbox rows, instead of at its next poll."""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import first_line
from .base import Runner, Unavailable

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
        """Block until rung or `timeout` seconds pass; True when rung. Only a ring that woke us is consumed, so a
        ring that comes while nobody waits wakes the next wait at once."""
        if not self._event.wait(timeout):
            return False
        self._event.clear()
        return True


class NotifyListener(Runner):
    """On PostgreSQL: LISTEN on its own connection and ring the doorbell on every NOTIFY, whichever connection or
    daemon sent it. A lost connection is an outage (`Runner.run` retries with backoff); a new one rings once, since
    a NOTIFY sent while nobody listened is gone for good."""

    def __init__(self, engine: Engine, doorbell: Doorbell, wait: float = 1.0) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"LISTEN/NOTIFY needs PostgreSQL, not {engine.dialect.name}")
        super().__init__("notify-listener")
        self.engine, self.doorbell, self.wait = engine, doorbell, wait
        self._connection: Connection | None = None

    def once(self) -> int:
        """Listen for up to `wait` seconds, ringing at each NOTIFY as it arrives; how many arrived."""
        received = 0
        try:
            connection = self._connection
            if connection is None:
                # Notifications arrive between transactions: the listening connection must not sit in one.
                connection = self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                connection.exec_driver_sql(f"LISTEN {CHANNEL}")
                self.doorbell.ring()
            psycopg_connection = connection.connection.driver_connection
            assert psycopg_connection is not None
            for _ in psycopg_connection.notifies(timeout=self.wait):  # psycopg 3.2+
                self.doorbell.ring()
                received += 1
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error, OSError) as exc:
            self.close()
            raise Unavailable(f"LISTEN {CHANNEL}: {first_line(exc)}") from exc
        return received

    def snooze(self, stop: threading.Event) -> None:
        """`once` waits by itself."""

    def run(self, stop: threading.Event) -> None:
        try:
            super().run(stop)
        finally:
            self.close()  # a listening connection left to the garbage collector would keep its LISTEN open

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.invalidate()  # never back to the pool: it may be broken, and it would keep its LISTEN
            connection.close()
