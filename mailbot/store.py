"""Engine and sessions for SQLite (embedded default) or PostgreSQL, and the schema's Alembic version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from .config import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaError(Exception):
    """The database schema is missing or behind this version of mailbot; str() says what to run."""


def make_engine(url: str, *, writer: bool = True) -> Engine:
    """An engine with SQLite set up for one writer and many readers (WAL, a busy timeout, foreign keys).

    A writer's transactions take SQLite's write lock at BEGIN (IMMEDIATE), so two writers queue on the busy
    timeout instead of failing when a read turns into a write; a reader's (`writer=False`) never block anyone."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            if writer:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            elif not Path(path).exists():
                raise SchemaError(f"no database at {path}: on a new desk `mailbot db upgrade` creates it; on a "
                                  "running one, check [database] url")
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"[database] url: {url.split(':', 1)[0]} needs the {exc.name} driver, which is not "
                          "installed: pip install 'mailbot[postgresql]'") from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs only at checkpoints, so a power loss can undo the last commits after their mails
    # left the inbox; FULL syncs the WAL at every commit (https://sqlite.org/pragma.html#pragma_synchronous).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Create or migrate the schema to this version's head (what `mailbot db upgrade` runs)."""
    command.upgrade(_alembic_config(engine), "head")


def ensure_schema(engine: Engine, create: bool = True) -> None:
    """Create a fresh SQLite schema if `create`; refuse a schema that is absent, behind or ahead of this code."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    fresh = current is None and not inspect(engine).get_table_names()
    if fresh and create and engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    if fresh:
        raise SchemaError("the database has no mailbot schema yet; run `mailbot db upgrade` first")
    if current is not None and _known(_scripts(), current):
        raise SchemaError(f"the database schema is at revision {current}, this mailbot needs {head}; "
                          "back up the database, then run `mailbot db upgrade`")
    raise SchemaError(f"the database schema is at revision {current or 'none'}, which this mailbot does not know "
                      f"(it needs {head}): it was written by a newer mailbot, or is not a mailbot database")


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown or malformed ids
        return False
