"""The outgoing runner and the outbox service on real aiosmtpd, SQLite and PostgreSQL: claims, leases, crashes."""

from __future__ import annotations

import dataclasses

import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from mailbot import store
from mailbot.config import DEFAULT_TEMPLATES, QueueConfig, load_config
from mailbot.desk import cases, outbox_service
from mailbot.desk.accounts import get_or_create_contact
from mailbot.desk.models import Contact, Direction, Entry, MailKind, Outbox, OutboxStatus, utcnow
from mailbot.desk.outbox import ack_context, enqueue_reply
from mailbot.mail.parse import parse_message
from mailbot.runners.base import Unavailable
from mailbot.runners.doorbell import CHANNEL, Doorbell, NotifyListener
from mailbot.runners.drain import DrainReport
from mailbot.runners.outgoing import OutgoingRunner
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.smtp_capture import Captured, SmtpCapture
from mailbot.templates import Templates
from tests.conftest import DESK_ADDRESS, OTHER_ADDRESS, Desk, write_desk_config
from tests.integration.test_first_path import CUSTOMER, FIRST, mail
from tests.databases import sqlite_only

MakeRunner = Callable[..., OutgoingRunner]


@pytest.fixture
def runners(desk: Desk) -> Iterator[MakeRunner]:
    """Outgoing runners on the desk, each with its own engine, as separate daemons would have."""
    engines: list[Engine] = []

    def make(config_path: Path | None = None, **options: Any) -> OutgoingRunner:
        config = load_config(config_path or desk.config_path)
        engine = store.make_engine(config.database_url)
        engines.append(engine)
        return OutgoingRunner(config, store.session_factory(engine), Templates(config.templates_path), **options)

    yield make
    for engine in engines:
        engine.dispose()


def queue_acks(desk: Desk, addresses: list[str], queue: QueueConfig | None = None) -> list[str]:
    """A new case and its queued acknowledgement per address, as ingest queues them; their Message-IDs."""
    config = desk.config
    queue = queue or config.queue("mesadeayuda")
    queued = []
    with desk.session() as session:
        for n, address in enumerate(addresses):
            contact, _ = get_or_create_contact(session, address, f"Cliente {n}", "example.org")
            case = cases.open_case(session, "CS", cases.NewCase(queue.key, f"Solicitud {n}", contact, "es"))
            answering = parse_message(mail(f"<q{n}@example.org>", f"Solicitud {n}", sender="x@example.org").encode())
            row = enqueue_reply(session, config, queue, MailKind.ACK, contact, answering,
                                ack_context(config, queue, case), case)
            queued.append(row.message_id)
        session.commit()
    return queued


def customers(count: int) -> list[str]:
    return [f"cliente{n}@example.org" for n in range(count)]


def rows(desk: Desk) -> list[Outbox]:
    with desk.session() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def message_ids(captured: list[Captured]) -> list[str]:
    return [str(c.message["Message-ID"]) for c in captured]


def test_two_runners_draining_one_outbox_at_once_send_each_row_once(desk: Desk, runners: MakeRunner) -> None:
    queued = queue_acks(desk, customers(24))
    pair = [runners(batch=2), runners(batch=2)]
    start = threading.Barrier(len(pair))
    reports: list[DrainReport] = []
    errors: list[BaseException] = []

    def drain(runner: OutgoingRunner) -> None:
        try:
            start.wait()
            reports.append(runner.drain())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=drain, args=(runner,)) for runner in pair]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert sorted(message_ids(desk.sink.captured)) == sorted(queued), "every row once, none twice"
    assert [report.sent > 0 for report in reports] == [True, True], f"both runners took part: {reports}"
    assert {(r.status, r.attempts, r.claimed_by) for r in rows(desk)} == {(OutboxStatus.SENT, 1, None)}


def test_a_live_lease_is_left_alone_and_an_expired_one_is_taken_over(desk: Desk, runners: MakeRunner) -> None:
    held, abandoned, free = queue_acks(desk, customers(3))
    with desk.session() as session:
        outbox_service.claim(session, "other-host:41:live", 1, timedelta(hours=1))
        outbox_service.claim(session, "other-host:42:died", 1, timedelta(milliseconds=1))
        session.commit()
    time.sleep(0.01)

    report = runners().drain()

    assert report.sent == 2 and sorted(message_ids(desk.sink.captured)) == sorted([abandoned, free])
    first = rows(desk)[0]
    assert (first.message_id, first.status, first.claimed_by) == (held, OutboxStatus.PENDING, "other-host:41:live")


def with_connections(desk: Desk, connections: int) -> Path:
    """The desk's configuration with `[smtp] connections` set."""
    desk.config_path.write_text(desk.config_path.read_text().replace("[smtp]\n", f"[smtp]\nconnections = {connections}\n"))
    return desk.config_path


@sqlite_only
def test_one_drain_over_one_connection_delivers_everything_due_in_claimed_batches_in_order(
    desk: Desk, runners: MakeRunner
) -> None:
    queued = queue_acks(desk, customers(7))

    report = runners(with_connections(desk, 1), batch=3).drain()

    assert (report.sent, report.retried, report.dead, report.unavailable) == (7, 0, 0, None)
    assert message_ids(desk.sink.captured) == queued and len({c.peer for c in desk.sink.captured}) == 1


@sqlite_only
def test_a_server_that_takes_no_mail_makes_the_pass_unavailable_and_charges_nothing(
    desk: Desk, runners: MakeRunner
) -> None:
    queue_acks(desk, customers(2))
    desk.sink.reject_sender_with("530 5.7.0 Authentication required")

    with pytest.raises(Unavailable) as unavailable:
        runners().once()

    assert str(unavailable.value) == (f"SMTP 127.0.0.1:{desk.sink.port}: sender refused: "
                                      "530 5.7.0 Authentication required")
    assert [(r.status, r.attempts, r.claimed_by) for r in rows(desk)] == [(OutboxStatus.PENDING, 0, None)] * 2


# A real fault after acceptance: the database itself refuses our mails' entries.
REFUSE_OUT_ENTRIES = {
    "sqlite": ["""CREATE TRIGGER refuse_out_entries BEFORE INSERT ON entry WHEN NEW.direction = 'out'
                  BEGIN SELECT RAISE(ABORT, 'out entries refused by a test trigger'); END"""],
    "postgresql": ["""CREATE FUNCTION refuse_out_entries() RETURNS trigger LANGUAGE plpgsql AS $$
                      BEGIN
                          IF NEW.direction = 'out' THEN RAISE EXCEPTION 'out entries refused by a test trigger'; END IF;
                          RETURN NEW;
                      END $$""",
                   """CREATE TRIGGER refuse_out_entries BEFORE INSERT ON entry
                      FOR EACH ROW EXECUTE FUNCTION refuse_out_entries()"""],
}


def test_bookkeeping_that_fails_after_acceptance_never_sends_the_mail_again(desk: Desk) -> None:
    """It used to: the entry failed in the commit that marked the row sent, so the row was retried, and each retry
    of the credentials mail carried a new password whose hash was never stored."""
    with desk.session() as session:
        for statement in REFUSE_OUT_ENTRIES[session.get_bind().dialect.name]:
            session.execute(text(statement))
        session.commit()
    desk.deliver(FIRST)

    for _ in range(3):
        desk.run_once()

    credentials, _ = desk.first_mails(CUSTOMER)
    assert len(desk.sink.captured) == 2
    assert [(r.kind, r.status, r.attempts) for r in rows(desk)] == [
        (MailKind.CREDENTIALS, OutboxStatus.SENT, 1), (MailKind.ACK, OutboxStatus.SENT, 1)]
    assert password_verifies(desk, password_in(credentials))
    with desk.session() as session:
        assert session.scalars(select(Contact.credentials_sent_at)).one() is not None
        assert session.scalars(select(Entry).where(Entry.direction == Direction.OUT)).all() == []


def password_in(captured: Captured) -> str:
    body = captured.message.get_body(("plain",))
    assert body is not None
    found = re.search(r"^([A-Za-z0-9]{16})$", body.get_content(), re.M)
    assert found is not None
    return found.group(1)


def password_verifies(desk: Desk, password: str) -> bool:
    with desk.session() as session:
        stored = session.scalars(select(Contact.password_hash)).one()
    return desk.password_verifies(stored, password)


# A sender in its own process, with a short lease so that the restart need not wait long to take over.
SENDER = """
import sys
from datetime import timedelta
from mailbot import store
from mailbot.config import load_config
from mailbot.runners.outgoing import OutgoingRunner
from mailbot.templates import Templates
config = load_config(sys.argv[1])
sessions = store.session_factory(store.make_engine(config.database_url))
sys.stdin.readline()  # the test arms the SMTP server with this process's pid first
runner = OutgoingRunner(config, sessions, Templates(config.templates_path), lease=timedelta(seconds=LEASE))
print(runner.drain())
"""
LEASE = 0.5
CREDENTIALS_SUBJECT = "[CS0000001] Mesa de ayuda Ejemplo: su usuario ha sido creado"


def run_sender(desk: Desk, kill_on_data: bool) -> subprocess.CompletedProcess[str]:
    child = subprocess.Popen([sys.executable, "-c", SENDER.replace("LEASE", str(LEASE)), str(desk.config_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_on_data:
        desk.sink.signal_on_next_data(child.pid, signal.SIGKILL, subject=CREDENTIALS_SUBJECT)
    try:
        out, err = child.communicate("go\n", timeout=60)
    finally:
        desk.sink.signal_on_next_data(None)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def test_a_sender_killed_right_after_the_server_accepted_credentials_never_leaves_two_passwords(desk: Desk) -> None:
    """It used to: the restart re-sent the same Message-ID with another password (5 of 12 kills did)."""
    with_connections(desk, 1)  # the acknowledgement is sent and marked before the credentials go out
    desk.sink.reject_sender_with("421 4.3.2 Servicio no disponible")  # queue the mails, send nothing yet
    desk.deliver(FIRST)
    desk.run_once()
    desk.sink.reject_sender_with(None)

    killed = run_sender(desk, kill_on_data=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _, delivered = desk.sink.captured
    assert delivered.message["Subject"] == CREDENTIALS_SUBJECT
    assert password_verifies(desk, password_in(delivered)), "its hash was stored before the mail was handed over"
    time.sleep(LEASE * 2)  # the dead sender's lease runs out (a claim holds its rows a fifth longer)
    restarted = run_sender(desk, kill_on_data=False)
    assert restarted.returncode == 0, restarted.stderr

    mailed = [c for c in desk.sent_to(CUSTOMER) if c.message["Subject"] == CREDENTIALS_SUBJECT]
    assert len(mailed) == 2, "the accepted mail, then the restart's (the window README's promise names)"
    passwords: dict[str, set[str]] = {}
    for captured in mailed:
        passwords.setdefault(str(captured.message["Message-ID"]), set()).add(password_in(captured))
    assert sorted(len(each) for each in passwords.values()) == [1, 1], "one password per Message-ID"
    first, last = (password_in(c) for c in mailed)
    assert first != last
    assert (password_verifies(desk, first), password_verifies(desk, last)) == (False, True)
    with desk.session() as session:
        assert session.scalars(select(Contact)).one().credentials_sent_at is not None
        credentials = session.scalars(select(Outbox).where(Outbox.kind == MailKind.CREDENTIALS)).one()
    assert (credentials.status, credentials.message_id) == (OutboxStatus.SENT, str(mailed[-1].message["Message-ID"]))
    assert len(desk.sent_to(CUSTOMER)) == 3, "and the acknowledgement, once"


@sqlite_only
def test_a_retried_ack_keeps_its_message_id_and_credentials_get_a_new_one_each_attempt(desk: Desk) -> None:
    desk.sink.reject_with("451 4.3.0 Intente más tarde")
    desk.deliver(FIRST)
    desk.run_once()
    first_try = {r.kind: r.message_id for r in rows(desk)}
    desk.sink.reject_with(None)

    desk.run_once()

    sent = {r.kind: r.message_id for r in rows(desk)}
    assert sent[MailKind.ACK] == first_try[MailKind.ACK]
    assert sent[MailKind.CREDENTIALS] != first_try[MailKind.CREDENTIALS]
    assert sorted(message_ids(desk.sent_to(CUSTOMER))) == sorted(sent.values())


@pytest.mark.parametrize(("offered", "status", "error"), [
    (False, OutboxStatus.DEAD, "josé.pérez@example.org needs SMTPUTF8 (RFC 6531), which the SMTP server "
                               "127.0.0.1:{port} does not offer"),
    (True, OutboxStatus.SENT, ""),
])
@sqlite_only
def test_a_recipient_that_needs_smtputf8_is_dead_at_once_where_the_server_lacks_it(
    tmp_path: Path, db_url: str, dovecot: PrivateDovecot, offered: bool, status: OutboxStatus, error: str
) -> None:
    with SmtpCapture(smtputf8=offered) as server:
        path, users = write_desk_config(tmp_path, db_url, dovecot, server, {"mesadeayuda": (DESK_ADDRESS, "Mesa")})
        desk = Desk(path, dovecot, server, users)
        assert desk.cli("db", "upgrade") == 0
        queue_acks(desk, ["josé.pérez@example.org", "ana@example.org"])

        report = desk.run_once()

    assert [(r.status, r.attempts, r.last_error) for r in rows(desk)] == [
        (status, 1, error.format(port=server.port)), (OutboxStatus.SENT, 1, "")]
    assert report.outbox.dead == (not offered) and report.outbox.unavailable is None


@pytest.fixture
def broken_templates(tmp_path: Path) -> Path:
    """A copy of the templates in which an admin's edit broke the acknowledgement's text."""
    path = tmp_path / "broken-templates"
    shutil.copytree(DEFAULT_TEMPLATES, path)
    (path / "es" / "ack.txt.j2").write_text("{% block subject %}[{{ case.number }]{% endblock %}\n")
    return path


@pytest.mark.parametrize(("broken", "error"), [
    ("template", r"template: .*/broken-templates/es/ack\.txt\.j2:1: unexpected '\}'"),
    ("queue", r"queue: 'retirada' is not configured in .*/mailbot\.toml"),
])
@sqlite_only
def test_a_render_failure_says_what_failed_and_waits_for_a_fix(
    desk: Desk, runners: MakeRunner, broken_templates: Path, broken: str, error: str
) -> None:
    config_path = desk.config_path
    if broken == "template":
        config_path.write_text(config_path.read_text() + f'\n[templates]\npath = "{broken_templates}"\n')
        queue_acks(desk, customers(1))
    else:  # a row queued for a queue an admin has since taken out of the configuration
        gone = dataclasses.replace(desk.config.queue("mesadeayuda"), key="retirada", address=OTHER_ADDRESS,
                                   name="Retirada")
        queue_acks(desk, customers(1), queue=gone)

    report = runners(config_path).drain()

    (row,) = rows(desk)
    assert (report.retried, row.status, row.attempts) == (1, OutboxStatus.PENDING, 1)
    assert re.fullmatch(error, row.last_error), row.last_error
    assert desk.sink.captured == []


def test_a_database_error_while_sending_charges_no_row_and_names_the_database(desk: Desk, runners: MakeRunner) -> None:
    queue_acks(desk, customers(2))
    runner = runners()
    with desk.session() as session:  # a real fault that only the read of the row's case meets
        session.execute(text('ALTER TABLE "case" RENAME TO case_elsewhere'))
        session.commit()

    with pytest.raises(Unavailable, match=r"^outbox: database error: .*case"):
        runner.once()

    assert [(r.status, r.attempts, r.last_error, r.claimed_by) for r in rows(desk)] == [
        (OutboxStatus.PENDING, 0, "", None)] * 2, "released at once, charged nothing"
    with desk.session() as session:
        session.execute(text('ALTER TABLE case_elsewhere RENAME TO "case"'))
        session.commit()
    assert runner.once().sent == 2


@sqlite_only
def test_snooze_wakes_when_the_next_row_falls_due_and_at_once_when_rung(desk: Desk, runners: MakeRunner) -> None:
    queue_acks(desk, customers(1))
    with desk.session() as session:
        session.scalars(select(Outbox)).one().next_attempt_at = utcnow() + timedelta(seconds=0.6)
        session.commit()
    runner, stop = runners(), threading.Event()

    began = time.monotonic()
    runner.snooze(stop)
    waited = time.monotonic() - began
    runner.doorbell.ring()
    runner.snooze(stop)
    rung = time.monotonic() - began - waited

    assert 0.4 < waited < 5, "poll_interval is 60 s: the row falling due woke it"
    assert rung < 0.2


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_notify_from_another_connection_wakes_a_waiting_runner(desk: Desk, runners: MakeRunner) -> None:
    engine = store.make_engine(desk.config.database_url)
    doorbell, stop = Doorbell(), threading.Event()
    listener = NotifyListener(engine, doorbell)
    runner = runners(doorbell=doorbell)  # poll_interval is 60 s and nothing is due: only the doorbell wakes it
    wakes: list[float] = []

    def snooze() -> None:
        while not stop.is_set():
            runner.snooze(stop)
            wakes.append(time.monotonic())

    listening = threading.Thread(target=listener.run, args=(stop,))
    snoozing = threading.Thread(target=snooze)
    listening.start()
    try:
        assert doorbell.wait(10), "a new LISTEN connection rings once: a NOTIFY sent before it is lost"
        snoozing.start()
        time.sleep(0.5)  # a listener that had to reconnect under load rings once more: let that settle
        announced = time.monotonic()
        with desk.session() as session:  # as ingest in another daemon announces the rows it queues
            Doorbell().announce(session)
            session.commit()
        deadline = announced + 5
        while not any(w >= announced for w in wakes) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(w >= announced for w in wakes), "the NOTIFY woke the snoozing runner"
        assert len([w for w in wakes if w >= announced]) <= 2, "and it does not spin"
    finally:
        stop.set()
        for thread in (listening, snoozing):
            if thread.ident is not None:  # started
                thread.join()
        listener.close()
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_listener_reconnects_after_losing_its_connection(desk: Desk) -> None:
    name = f"mailbot-listener-{uuid.uuid4().hex[:8]}"
    engine = store.make_engine(f"{desk.config.database_url}&application_name={name}")
    doorbell = Doorbell()
    listener = NotifyListener(engine, doorbell, wait=0.2)
    try:
        listener.once()
        assert doorbell.wait(0)
        with desk.session() as session:  # as a server restart or a network cut would
            session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                            {"n": name})
            session.commit()

        with pytest.raises(Unavailable, match=f"^LISTEN {CHANNEL}: "):
            listener.once()
        listener.once()

        assert doorbell.wait(0), "reconnected, it rings for what it may have missed"
        with desk.session() as session:
            Doorbell().announce(session)
            session.commit()
        assert listener.once() >= 1 and doorbell.wait(0)
    finally:
        listener.close()
        engine.dispose()
