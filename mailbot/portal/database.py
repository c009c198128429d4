"""The portal's way into the desk's database: short reading sessions, and writing transactions that commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session

from .. import store


class Database:
    """Two engines on one database. On SQLite a writer's transaction takes the write lock at BEGIN (IMMEDIATE), so
    pages only read through the reader, which never waits for the daemon's batch; forms write through the writer,
    which queues behind it on the busy timeout. A fresh SQLite database gets its schema, as `mailbot run` does."""

    def __init__(self, url: str) -> None:
        self._writer = store.make_engine(url)
        store.ensure_schema(self._writer)
        self._reader = store.make_engine(url, writer=False)
        self.writer = store.session_factory(self._writer)
        self.reader = store.session_factory(self._reader)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.reader() as session:
            yield session

    def write(self) -> AbstractContextManager[Session]:
        """One transaction, committed when the block ends without an exception, else rolled back."""
        return self.writer.begin()

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()
