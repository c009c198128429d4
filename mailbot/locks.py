"""Keep daemons apart: one `mailbot run` per SQLite database, one holder per named job on PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError


class LockError(Exception):
    """Another daemon holds the lock; str() says who and what to do."""


@contextlib.contextmanager
def database_lock(url: str) -> Iterator[None]:
    """Hold `<database file>.lock` for the life of the block: SQLite has one writer, so one daemon per database.

    An exclusive flock, which the kernel drops when the holder exits however it dies, so a crash never leaves a
    stale lock. The file keeps the holder's PID for the refusal message and is never deleted (deleting it would let
    a newcomer lock a fresh file while an old holder still has the unlinked one). PostgreSQL (several daemons
    are allowed) and in-memory SQLite need nothing: the block runs without a lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        yield
        return
    database = Path(str(parsed.database))
    database.parent.mkdir(parents=True, exist_ok=True)
    path = database.with_name(database.name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise LockError(f"another mailbot is running on {database} (PID {pid}, according to {path}); "
                            "stop it first, or give this one its own [database] url. SQLite takes one daemon per "
                            "database; run several on PostgreSQL") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)


def lock_key(name: str) -> int:
    """The PostgreSQL advisory lock key (a signed bigint) for `name`; the same on every machine, since every daemon
    of the desk must compute the same key (AdvisoryLock names it with the schema; daemons of two versions are not
    run side by side: README, upgrading)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=b"mailbot-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


# The server drops a session whose client stopped answering after about 5 + 3 × 2 s, so a daemon whose machine
# died (no FIN, no RST) loses its locks in seconds, not after the kernel's two-hour default.
_KEEPALIVES = ("SELECT set_config('tcp_keepalives_idle', '5', false), "
               "set_config('tcp_keepalives_interval', '2', false), set_config('tcp_keepalives_count', '3', false)")


class AdvisoryLock:
    """A named lock across every daemon of one desk on PostgreSQL (a mailbox's intake, the escalation pass).

    Advisory locks belong to the whole database, so the key is made of the name and the schema the connection
    works in (its search_path): two desks in two schemas of one database never wait for each other.

    A session-level `pg_try_advisory_lock` on a connection of its own, outside the pool and outside any
    transaction, kept open while held: the lock lives exactly as long as that connection, so when the holder
    dies, its connection closes and the lock is free at once for the next daemon that tries. On SQLite it always
    succeeds (`database_lock` already makes the daemon alone). Not thread-safe: one owner at a time."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        self.key: int | None = None  # known once taken: it depends on the connection's schema
        self._engine = engine
        self._shared = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self._held_alone = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or already ours); False if another session holds it. Never waits.

        Raises SQLAlchemyError when the database cannot be reached: that is not the same as "someone else has it"."""
        if not self._shared:
            self._held_alone = True
            return True
        if self.still_held():
            return True  # asking again would stack a second hold that one unlock does not undo
        connection = self._engine.connect()
        try:
            connection.execution_options(isolation_level="AUTOCOMMIT")  # never idle in a transaction for hours
            connection.detach()  # closing it must end the session, and so the lock, not return it to the pool
            connection.execute(text(_KEEPALIVES))
            schema: str = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = lock_key(f"{schema}:{self.name}")
            taken: bool = connection.execute(text("SELECT pg_try_advisory_lock(CAST(:key AS bigint))"),
                                             {"key": key}).scalar_one()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection, self.key = connection, key
        return True

    def still_held(self) -> bool:
        """Whether the lock is still ours: its connection answers. If the connection died, so did the lock, and
        another daemon may hold it now; the caller stops the work the lock guards."""
        if not self._shared:
            return self._held_alone
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._close()
            return False

    def release(self) -> None:
        """Give the lock up now (unlock, then close its connection); harmless when not held."""
        self._held_alone = False
        if self._connection is None:
            return
        # An explicit unlock frees it before this returns; closing alone frees it only when the server notices.
        with contextlib.suppress(SQLAlchemyError):  # a dead connection took the lock with it
            self._connection.execute(text("SELECT pg_advisory_unlock(CAST(:key AS bigint))"), {"key": self.key})
        self._close()

    def _close(self) -> None:
        assert self._connection is not None
        connection, self._connection = self._connection, None
        connection.close()
