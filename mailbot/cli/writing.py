"""A writing database session for the commands that change the desk (never creating a database or a schema)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from .. import store
from ..config import Config


@contextmanager
def write_session(config: Config) -> Iterator[Session]:
    """Like `read_session`, but a writer: a mistyped path or a schema behind still fails instead of creating one."""
    engine = store.make_engine(config.database_url)
    try:
        store.ensure_schema(engine, create=False)
        with store.session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()
