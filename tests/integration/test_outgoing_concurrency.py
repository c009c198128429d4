"""The concurrent drain on real aiosmtpd, SQLite and PostgreSQL: several connections at once, group-committed marks
that fail and are waited out, acknowledgements that never wait behind a password's hash, one pass that sends all."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select, text

from mailbot.desk import cases
from mailbot.desk.accounts import get_or_create_contact
from mailbot.desk.models import Contact, MailKind, OutboxStatus
from mailbot.desk.outbox import credentials_context, enqueue_reply
from mailbot.mail.parse import parse_message
from mailbot.runners.drain import DrainReport
from mailbot.servers.ports import free_port
from tests.conftest import CREDENTIALS, Desk
from tests.integration.test_first_path import mail
from tests.integration.test_outgoing import (  # noqa: F401 - `runners` is a fixture
    MakeRunner, customers, message_ids, password_in, queue_acks, rows, runners, with_connections,
)


class Gate:
    """An SMTP handler that holds every DATA until `wanted` sessions are inside DATA at once: a mail gets through
    only if the client really sends over that many connections concurrently (else 451 after `patience`)."""

    def __init__(self, wanted: int, patience: float = 10.0) -> None:
        self.wanted, self.patience = wanted, patience
        self.inside: set[str] = set()
        self.most = 0
        self.peers: list[str] = []
        self._open: asyncio.Event | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        opened = self._open = self._open or asyncio.Event()
        peer = str(session.peer)
        self.inside.add(peer)
        self.most = max(self.most, len(self.inside))
        if len(self.inside) >= self.wanted:
            opened.set()
        try:
            await asyncio.wait_for(opened.wait(), self.patience)
        except TimeoutError:
            return f"451 4.3.0 only {self.most} session(s) at once"
        finally:
            self.inside.discard(peer)
        self.peers.append(peer)
        return "250 2.0.0 Ok"


@pytest.fixture
def gate(desk: Desk) -> Iterator[Callable[[int], Gate]]:
    """Point the desk's [smtp] at a gated aiosmtpd of its own."""
    controllers: list[Controller] = []

    def start(wanted: int) -> Gate:
        handler, port = Gate(wanted), free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        config = desk.config_path.read_text()
        desk.config_path.write_text(config.replace(f"port = {desk.sink.port}\n", f"port = {port}\n"))
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_drain_sends_over_as_many_connections_at_once_as_configured(
    desk: Desk, runners: MakeRunner, gate: Callable[[int], Gate]  # noqa: F811
) -> None:
    with_connections(desk, 3)
    held = gate(3)
    queue_acks(desk, customers(6))

    report = runners().drain()

    assert (report.sent, report.retried) == (6, 0), report
    assert held.most == 3 and len(set(held.peers)) == 3, "three sessions were inside DATA at the same time"


REFUSE_SENT_MARKS = {
    "sqlite": ["""CREATE TRIGGER refuse_sent_marks BEFORE UPDATE OF status ON outbox WHEN NEW.status = 'sent'
                  BEGIN SELECT RAISE(ABORT, 'sent marks refused by a test trigger'); END"""],
    "postgresql": ["""CREATE FUNCTION refuse_sent_marks() RETURNS trigger LANGUAGE plpgsql AS $$
                      BEGIN
                          IF NEW.status = 'sent' THEN RAISE EXCEPTION 'sent marks refused by a test trigger'; END IF;
                          RETURN NEW;
                      END $$""",
                   """CREATE TRIGGER refuse_sent_marks BEFORE UPDATE ON outbox
                      FOR EACH ROW EXECUTE FUNCTION refuse_sent_marks()"""],
}
UNDO = {"sqlite": ["DROP TRIGGER refuse_sent_marks"], "postgresql": ["DROP TRIGGER refuse_sent_marks ON outbox"]}


def test_accepted_mail_whose_group_mark_fails_is_marked_once_the_database_takes_it_and_never_resent(
    desk: Desk, runners: MakeRunner, caplog: pytest.LogCaptureFixture
) -> None:
    queued = queue_acks(desk, customers(6))
    with desk.session() as session:
        dialect = session.get_bind().dialect.name
        for statement in REFUSE_SENT_MARKS[dialect]:
            session.execute(text(statement))
        session.commit()
    runner = runners(with_connections(desk, 3))
    reports: list[DrainReport] = []
    draining = threading.Thread(target=lambda: reports.append(runner.drain()))

    with caplog.at_level(logging.ERROR, logger="mailbot.runners.sent_marks"):
        draining.start()
        deadline = time.monotonic() + 20
        while "cannot be marked sent yet" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # a retry of the group and of each row alone fails too
        accepted_while_refused = len(desk.sink.captured)
        with desk.session() as session:
            for statement in UNDO[dialect]:
                session.execute(text(statement))
            session.commit()
        draining.join(30)

    assert "cannot be marked sent yet" in caplog.text
    assert 1 <= accepted_while_refused <= 3, "each connection waits for its mark before it sends another mail"
    assert not draining.is_alive() and reports[0].sent == 6
    assert sorted(message_ids(desk.sink.captured)) == sorted(queued), "every mail once, none twice"
    assert {(r.status, r.attempts, r.claimed_by) for r in rows(desk)} == {(OutboxStatus.SENT, 1, None)}


def queue_credentials(desk: Desk, addresses: list[str]) -> None:
    """A first-time customer's case and credentials mail per address, as ingest queues them."""
    config = desk.config
    queue = config.queue("mesadeayuda")
    with desk.session() as session:
        for n, address in enumerate(addresses):
            contact, _ = get_or_create_contact(session, address, f"Nuevo {n}", "example.org")
            case = cases.open_case(session, "CS", cases.NewCase(queue.key, f"Primera {n}", contact, "es"))
            answering = parse_message(mail(f"<new{n}@example.org>", f"Primera {n}", sender=address).encode())
            enqueue_reply(session, config, queue, MailKind.CREDENTIALS, contact, answering,
                          credentials_context(config, queue, contact, case), case)
        session.commit()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_credentials_and_acknowledgements_mixed_all_go_out_each_password_under_its_keyed_hash(
    desk: Desk, runners: MakeRunner
) -> None:
    """Six credentials mails queued first, more than the connections, and six acknowledgements behind them: one
    drain sends all twelve, and each stored hash is the keyed one of the password its mail carried."""
    addresses = [f"nuevo{n}@example.org" for n in range(6)]
    queue_credentials(desk, addresses)
    acks = queue_acks(desk, customers(6))

    report = runners().drain()

    assert report.sent == 12
    credentials = [c for c in desk.sink.captured if CREDENTIALS in str(c.message["Subject"])]
    assert sorted(set(message_ids(desk.sink.captured)) - set(acks)) == sorted(message_ids(credentials))
    with desk.session() as session:
        stored = dict(session.execute(select(Contact.email, Contact.password_hash)
                                      .where(Contact.email.in_(addresses))).all())
    for captured in credentials:
        password_hash = stored[captured.rcpt_tos[0]]
        assert password_hash is not None and password_hash.startswith("$mbk1$")
        assert desk.password_verifies(password_hash, password_in(captured))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_run_once_delivers_everything_queued_in_one_pass(desk: Desk) -> None:
    queued = queue_acks(desk, customers(60))  # more than one claim (50 rows)

    report = desk.run_once()

    assert (report.outbox.sent, report.unavailable) == (60, [])
    assert sorted(message_ids(desk.sink.captured)) == sorted(queued)
