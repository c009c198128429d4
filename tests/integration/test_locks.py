"""Daemons kept apart for real: PostgreSQL advisory locks across sessions and processes, the SQLite lock file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from mailbot import store
from mailbot.locks import AdvisoryLock, LockError, database_lock
from tests.conftest import POSTGRES_URL

# A holder in a process of its own: it takes the lock, says so, and waits to be killed.
HOLDER = """
import sys, time
from mailbot import store
from mailbot.locks import AdvisoryLock, database_lock
kind, url, name = sys.argv[1:]
if kind == "advisory":
    assert AdvisoryLock(store.make_engine(url), name).try_acquire()
    print("held", flush=True)
    time.sleep(60)
else:
    with database_lock(url):
        print("held", flush=True)
        time.sleep(60)
"""


@pytest.fixture
def postgres() -> Iterator[Engine]:
    engine = store.make_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


@pytest.fixture
def name() -> str:
    """A lock name of this test's own: other test runs may share the database and its schema."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def holder() -> Iterator[list[subprocess.Popen[str]]]:
    """Started holder processes, killed at the end whatever the test did."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def start_holder(holder: list[subprocess.Popen[str]], kind: str, url: str, name: str = "") -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, kind, url, name], stdout=subprocess.PIPE, text=True)
    holder.append(process)
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)  # no cleanup, no unlock: as the kernel's OOM killer would
    process.wait()


def test_a_held_lock_refuses_a_second_session_until_released(postgres: Engine, name: str) -> None:
    first, second = AdvisoryLock(postgres, name), AdvisoryLock(postgres, name)

    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.try_acquire() and first.still_held()  # asking again while holding keeps one hold

    first.release()

    assert not first.still_held()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_two_names_do_not_conflict(postgres: Engine, name: str) -> None:
    mailbox, other = AdvisoryLock(postgres, f"{name}/INBOX"), AdvisoryLock(postgres, f"{name}/escalation")

    assert mailbox.try_acquire() and other.try_acquire()

    mailbox.release()
    other.release()


def test_desks_in_two_schemas_of_one_database_do_not_share_a_lock(name: str) -> None:
    """Advisory locks belong to the whole database: the key holds the schema, or two desks would take turns."""
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    separator = "&" if "?" in POSTGRES_URL else "?"
    engines = [store.make_engine(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{s}") for s in schemas]
    with admin.connect() as connection:
        for schema in schemas:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        one, other, same = (AdvisoryLock(engines[0], name), AdvisoryLock(engines[1], name),
                            AdvisoryLock(engines[0], name))
        assert one.try_acquire() and other.try_acquire()
        assert not same.try_acquire()
        one.release()
        other.release()
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_lock_of_a_killed_holder_is_free_at_once(postgres: Engine, name: str,
                                                     holder: list[subprocess.Popen[str]]) -> None:
    process = start_holder(holder, "advisory", POSTGRES_URL, name)
    successor = AdvisoryLock(postgres, name)
    assert not successor.try_acquire()

    kill(process)
    killed_at = time.monotonic()
    while not successor.try_acquire():  # what a daemon waiting for the mailbox does, only faster
        assert time.monotonic() - killed_at < 5, "the dead holder's lock was not released"
        time.sleep(0.05)

    assert successor.still_held()
    successor.release()


def test_a_lock_whose_session_the_server_ended_is_no_longer_held(postgres: Engine, name: str) -> None:
    lock, successor = AdvisoryLock(postgres, name), AdvisoryLock(postgres, name)
    assert lock.try_acquire()
    key = lock.key
    assert key is not None
    with postgres.connect() as admin:  # as an administrator's pg_terminate_backend, or a server restart, would
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                           "AND classid = :high AND objid = :low AND objsubid = 1"),
                      {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF})
        admin.commit()

    assert not lock.still_held()
    assert successor.try_acquire()
    successor.release()
    lock.release()  # harmless when no longer held


def test_on_sqlite_the_advisory_lock_always_succeeds(tmp_path: Path, name: str) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'mailbot.db'}")
    first, second = AdvisoryLock(engine, name), AdvisoryLock(engine, name)

    assert first.try_acquire() and second.try_acquire() and first.still_held()

    first.release()
    assert not first.still_held()
    engine.dispose()


def test_the_sqlite_lock_file_refuses_a_second_mailbot_then_frees_when_it_dies(
        tmp_path: Path, holder: list[subprocess.Popen[str]]) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    process = start_holder(holder, "database", url)

    with pytest.raises(LockError) as refused:
        with database_lock(url):
            pass  # pragma: no cover - refused before the block
    database = tmp_path / "mailbot.db"
    assert str(refused.value).startswith(
        f"another mailbot is running on {database} (PID {process.pid}, according to {database}.lock); stop it first")

    kill(process)

    with database_lock(url):
        assert (tmp_path / "mailbot.db.lock").read_text() == f"{os.getpid()}\n"
    with database_lock(url):
        pass  # released on leaving the block, so the same daemon can take it again


@pytest.mark.parametrize("url", [
    pytest.param(POSTGRES_URL, id="postgresql-allows-several-daemons"),
    pytest.param("sqlite:///:memory:", id="sqlite-in-memory"),
    pytest.param("sqlite://", id="sqlite-default-in-memory"),
])
def test_database_lock_is_not_needed(url: str) -> None:
    with database_lock(url), database_lock(url):
        pass
