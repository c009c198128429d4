"""Outages with real servers stopped and started (issue 14): SMTP down for several cycles, an IMAP server killed
and restarted under a running daemon, PostgreSQL backends terminated mid-batch, SQLite's write lock held; and the
one database error that is a mail's own fault (a statement past the database's limits), told from an outage."""

from __future__ import annotations

import collections
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from mailbot.desk import actions
from mailbot.desk.models import Case, Outbox, OutboxStatus, Outcome, Receipt
from mailbot.desk.verdict import Verdict
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.smtp_capture import SmtpCapture
from tests.conftest import DESK_ADDRESS, IMAP_PASSWORD, OTHER_ADDRESS, POSTGRES_URL, Desk, write_desk_config
from tests.integration.test_first_path import mail
from tests.databases import sqlite_only

pytestmark = pytest.mark.integration
QUEUES = {"mesadeayuda": (DESK_ADDRESS, "Mesa de ayuda"), "clavesegura": (OTHER_ADDRESS, "Soporte Clave Segura")}


def _new_customers(tag: str, count: int, to: str = DESK_ADDRESS) -> list[str]:
    return [mail(f"<{tag}-{i}@example.org>", f"Solicitud {tag} {i}", sender=f"{tag}{i}@example.org", to=to)
            for i in range(count)]


def _daemon(desk: Desk) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(desk.config_path), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _stop(daemon: subprocess.Popen[str]) -> str:
    daemon.send_signal(signal.SIGTERM)
    errors = daemon.communicate(timeout=30)[1]
    assert daemon.returncode == 0, errors
    return errors


def _fast_daemon(desk: Desk, **keys: object) -> None:
    lines = "".join(f"{key} = {value}\n" for key, value in {"poll_interval": 0.3, **keys}.items())
    desk.config_path.write_text(desk.config_path.read_text().replace("[daemon]\n", f"[daemon]\n{lines}"))


def _until(done: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def _counts(desk: Desk) -> tuple[int, int, int]:
    """(receipts, cases, outbox rows not sent yet)."""
    with desk.session() as session:
        return (session.scalar(select(func.count()).select_from(Receipt)) or 0,
                session.scalar(select(func.count()).select_from(Case)) or 0,
                session.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != OutboxStatus.SENT))
                or 0)


def _each_customer_got_credentials_and_an_ack_once(desk: Desk, customers: int) -> None:
    per_recipient = collections.Counter(rcpt for c in desk.sink.captured for rcpt in c.rcpt_tos)
    assert len(per_recipient) == customers and set(per_recipient.values()) == {2}, per_recipient
    message_ids = [c.message["Message-ID"] for c in desk.sink.captured]
    assert len(set(message_ids)) == len(message_ids)


def test_smtp_down_for_several_cycles_ingest_goes_on_and_the_outbox_is_delivered_once_when_it_returns(
    tmp_path: Path, db_url: str, dovecot: PrivateDovecot
) -> None:
    smtp = SmtpCapture()  # its port stays closed until started: connections are refused
    path, users = write_desk_config(tmp_path, db_url, dovecot, smtp, QUEUES)
    desk = Desk(path, dovecot, smtp, users)
    assert desk.cli("db", "upgrade") == 0
    try:
        for cycle in range(1, 4):
            for raw in _new_customers(f"ciclo{cycle}", 2):
                desk.deliver(raw)
            report = desk.run_once()
            assert len(report.verdicts) == 2
            assert [u for u in report.unavailable if u.startswith("SMTP")], report.unavailable
            assert _counts(desk) == (2 * cycle, 2 * cycle, 4 * cycle), "ingest goes on, the outbox grows"
            assert desk.folder("INBOX") == []
        with desk.session() as session:
            assert {(r.status, r.attempts) for r in session.scalars(select(Outbox))} == {(OutboxStatus.PENDING, 0)}

        smtp.start()
        report = desk.run_once()
        assert report.unavailable == [] and report.outbox.sent == 12
        assert desk.run_once().outbox.sent == 0
    finally:
        smtp.stop()
    assert _counts(desk) == (6, 6, 0)
    _each_customer_got_credentials_and_an_ack_once(desk, 6)


def _drop_into_maildir(server: PrivateDovecot, user: str, raw: str) -> None:
    """Deliver as an MDA does while the IMAP server is down: a file in the user's Maildir `new/`."""
    new = server.root / "mail" / user / "new"
    target = new / f"{int(time.time())}.outage-{uuid.uuid4().hex}.localhost"
    target.write_bytes(raw.replace("\n", "\r\n").encode())
    if os.geteuid() == 0:
        shutil.chown(target, "dovecot", "dovecot")


@pytest.fixture
def own_dovecot() -> Iterator[PrivateDovecot]:
    """A Dovecot of this test's own, to kill and restart (the session's one serves the other tests)."""
    root = Path(tempfile.mkdtemp(prefix="mailbot-test-outage-"))
    server = PrivateDovecot(root, password=IMAP_PASSWORD).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@sqlite_only
def test_an_imap_server_killed_and_restarted_leaves_the_other_mailbox_served_and_loses_nothing(
    desk: Desk, own_dovecot: PrivateDovecot
) -> None:
    head, last = desk.config_path.read_text().rsplit("[queues.imap]", 1)
    last = last.replace(f"port = {desk.dovecot.port}", f"port = {own_dovecot.port}")
    desk.config_path.write_text(f"{head}[queues.imap]{last}")  # clavesegura lives on the server to be killed
    _fast_daemon(desk)
    other = Desk(desk.config_path, own_dovecot, desk.sink, desk.users)

    def processed(queue_desk: Desk, queue: str, count: int) -> Callable[[], bool]:
        return lambda: len(queue_desk.folder("Procesados", queue)) == count

    desk.deliver(mail("<a1@example.org>", "Antes A", sender="a1@example.org"))
    other.deliver(mail("<b1@example.org>", "Antes B", sender="b1@example.org", to=OTHER_ADDRESS), "clavesegura")
    daemon = _daemon(desk)
    try:
        _until(processed(desk, "mesadeayuda", 1), 15, "first mail of the first server")
        _until(processed(other, "clavesegura", 1), 15, "first mail of the second server")

        own_dovecot.kill()
        _drop_into_maildir(own_dovecot, desk.users["clavesegura"],
                           mail("<b2@example.org>", "Durante B", sender="b2@example.org", to=OTHER_ADDRESS))
        desk.deliver(mail("<a2@example.org>", "Durante A", sender="a2@example.org"))
        _until(processed(desk, "mesadeayuda", 2), 10, "the other mailbox is served during the outage")
        time.sleep(2)  # several failed polls of the dead server

        own_dovecot.start()
        _until(processed(other, "clavesegura", 2), 20, "mail delivered during the outage, after the restart")
        _until(lambda: _counts(desk) == (4, 4, 0), 10, "the outbox drained")
    finally:
        errors = _stop(daemon)
    assert desk.folder("INBOX") == [] and other.folder("INBOX", "clavesegura") == []
    assert "Traceback" not in errors, errors
    outage_lines = [line for line in errors.splitlines() if "retrying with backoff" in line]
    assert len(outage_lines) == 1 and "clavesegura" in outage_lines[0], errors
    _each_customer_got_credentials_and_an_ack_once(desk, 4)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_backends_terminated_mid_batch_lose_and_double_nothing(desk: Desk) -> None:
    app_name = f"mailbot-outage-{uuid.uuid4().hex[:8]}"
    text_ = desk.config_path.read_text()
    url = desk.config.database_url
    desk.config_path.write_text(text_.replace(url, f"{url}&application_name={app_name}"))
    _fast_daemon(desk, batch_size=10)
    mails = _new_customers("pg", 60)
    with desk.imap() as client:
        for raw in mails:
            client.append("INBOX", raw.replace("\n", "\r\n").encode())

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    terminated = 0
    daemon = _daemon(desk)
    try:
        _until(lambda: _counts(desk)[0] > 0, 15, "the first batch committed")  # cut mid-way, not at start-up
        with admin.connect() as connection:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                terminated += len(connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"
                    " AND pid <> pg_backend_pid()"), {"name": app_name}).all())
                time.sleep(0.15)
        _until(lambda: _counts(desk) == (60, 60, 0) and len(desk.sink.captured) >= 120, 60,
               "every mail processed and its two answers sent")
    finally:
        errors = _stop(daemon)
        admin.dispose()
    assert terminated > 0, "the daemon's connections were never seen, so none was cut"
    assert "retrying with backoff" in errors, errors
    assert desk.folder("INBOX") == [] and len(desk.folder("Procesados")) == 60
    _each_customer_got_credentials_and_an_ack_once(desk, 60)


@sqlite_only
def test_a_pass_waits_for_sqlites_write_lock_held_by_another_connection_then_succeeds(desk: Desk) -> None:
    for raw in _new_customers("lock", 5):
        desk.deliver(raw)
    database = desk.config.database_url.removeprefix("sqlite:///")
    held = threading.Event()

    def hold_the_write_lock() -> None:
        connection = sqlite3.connect(database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(3)
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert held.wait(5)
    started = time.monotonic()
    report = desk.run_once()
    waited = time.monotonic() - started
    holder.join()

    assert waited >= 2.5, "the pass must wait for the lock, not fail around it"
    assert report.unavailable == [] and len(report.verdicts) == 5 and report.outbox.sent == 10
    assert desk.run_once().verdicts == []
    assert _counts(desk) == (5, 5, 0) and desk.folder("INBOX") == []
    _each_customer_got_credentials_and_an_ack_once(desk, 5)


def test_a_connection_dropped_mid_fetch_moves_nothing_and_the_next_pass_takes_every_mail_once(
    desk: Desk, dovecot: PrivateDovecot
) -> None:
    from tests.integration.test_imap_source import Relay

    dropped: list[bool] = []

    def drop_in_fetch(data: bytes) -> bytes:
        """The first FETCH answer never arrives: the connection is cut as a flaky network would."""
        if b"BODY[]" in data and not dropped:
            dropped.append(True)
            raise ConnectionResetError("cut in the middle of a FETCH")
        return data

    relay = Relay(dovecot, bytes, drop_in_fetch)
    try:
        text = desk.config_path.read_text()
        head, _, tail = text.partition('key = "mesadeayuda"')
        desk.config_path.write_text(head + 'key = "mesadeayuda"' + tail.replace(f"port = {dovecot.port}",
                                                                                  f"port = {relay.port}", 1))
        for raw in _new_customers("corte", 3):
            desk.deliver(raw)

        first = desk.run_once()

        assert dropped and first.verdicts == [] and any("mesadeayuda" in u for u in first.unavailable)
        assert len(desk.folder("INBOX")) == 3 and _counts(desk)[0] == 0, "nothing moved, nothing recorded"
        second = desk.run_once()
    finally:
        relay.close()
    assert len(second.verdicts) == 3 and desk.folder("INBOX") == []
    _each_customer_got_credentials_and_an_ack_once(desk, 3)


# A database error that is one mail's fault, and those that are not ------------------------------------------------

def _failing_for(subject_word: str, fail: Callable[[actions.Inbound], None]) -> tuple[tuple[Any, ...], ...]:
    """The action table, with `fail` run first for a mail whose subject has `subject_word`."""
    def wrapped(action: actions.Action) -> actions.Action:
        def act(inbound: actions.Inbound) -> Verdict:
            if subject_word in inbound.mail.subject:
                fail(inbound)
            return action(inbound)
        return act
    return tuple((route, thread, wrapped(action)) for route, thread, action in actions.ACTIONS)


def _three_mails(desk: Desk) -> None:
    desk.deliver(mail("<before@example.org>", "Primera consulta", sender="primera@example.org"))
    desk.deliver(mail("<poison@example.org>", "Mensaje veneno", sender="otro@example.org"))
    desk.deliver(mail("<after@example.org>", "Otra consulta", sender="tercero@example.org"))


def test_a_statement_one_mail_makes_too_big_for_the_database_sets_that_mail_aside_not_the_mailbox(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300,000 bound parameters: past SQLite's and PostgreSQL's limits. The database refuses the statement and
    answers right after, so the mail is quarantined and the mails around it are processed, on both databases."""
    def too_many_parameters(inbound: actions.Inbound) -> None:
        inbound.session.execute(select(Receipt.id).where(Receipt.id.in_(range(300_000))))

    monkeypatch.setattr(actions, "ACTIONS", _failing_for("veneno", too_many_parameters))
    _three_mails(desk)

    report = desk.run_once()

    assert report.unavailable == [], report.unavailable
    assert [v.outcome for v in report.verdicts] == [Outcome.NEW_CASE, Outcome.QUARANTINE, Outcome.NEW_CASE]
    reason = report.verdicts[1].reason
    assert reason.startswith("processing failed: OperationalError: ") and "\n" not in reason, reason
    assert desk.folder("INBOX") == [] and len(desk.folder("Cuarentena")) == 1
    assert _counts(desk)[:2] == (3, 2)


def _raising(driver_error: Exception) -> Callable[[actions.Inbound], None]:
    def fail(_inbound: actions.Inbound) -> None:
        raise OperationalError("INSERT INTO entry …", {}, driver_error)
    return fail


def _refused_then_gone(inbound: actions.Inbound) -> None:
    """A refusal for size, but the connection is gone with it: the database does not answer the check after."""
    inbound.session.connection().invalidate()
    raise OperationalError("SELECT …", {}, sqlite3.OperationalError("too many SQL variables"))


@pytest.mark.parametrize("fail", [
    _raising(sqlite3.OperationalError("database is locked")),
    _raising(sqlite3.OperationalError("database or disk is full")),
    _raising(sqlite3.OperationalError("attempt to write a readonly database")),
    _raising(sqlite3.OperationalError("no such table: entry")),
    _raising(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")),
    _raising(psycopg.errors.DiskFull("could not extend file: No space left on device")),
    _raising(psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")),
    _refused_then_gone,
], ids=["locked", "disk-full", "read-only", "no-table", "statement-timeout", "pg-disk-full", "pg-gone",
        "refused-then-gone"])
@sqlite_only
def test_a_database_that_fails_while_one_mail_is_processed_is_an_outage_and_sets_nothing_aside(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, fail: Callable[[actions.Inbound], None]
) -> None:
    """Each of these would fail every mail alike, though most leave the database answering a SELECT: taken for the
    mail's fault, they would quarantine the whole inbox while they last."""
    monkeypatch.setattr(actions, "ACTIONS", _failing_for("veneno", fail))
    _three_mails(desk)

    report = desk.run_once()

    assert report.verdicts == [] and any("database error" in line for line in report.unavailable), report
    assert len(desk.folder("INBOX")) == 3 and desk.folder("Cuarentena") == []
    assert _counts(desk) == (0, 0, 0)
