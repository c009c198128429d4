"""The daemon's runners on the real servers: a mailbox that hangs or fails never stalls another, or the outbox."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.daemon import run_forever
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.ports import free_port
from mailbot.servers.smtp_capture import SmtpCapture
from tests.conftest import Desk, write_desk_config
from tests.integration.test_first_path import CUSTOMER, FIRST
from tests.databases import sqlite_only

pytestmark = pytest.mark.integration


class BlackHole:
    """A TCP server that accepts connections and never says a word: an IMAP server that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        try:
            while True:
                self.accepted.append(self.listener.accept()[0])
        except OSError:
            return

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.close()


def _point_queue_at(config: Path, key: str, port: int) -> None:
    """Send one queue's IMAP connection to another port (the sections are written in order by the helper)."""
    text = config.read_text()
    head, _, tail = text.partition(f'key = "{key}"')
    tail = re.sub(r"port = \d+", f"port = {port}", tail, count=1)
    config.write_text(head + f'key = "{key}"' + tail)


@pytest.fixture
def three_queue_desk(tmp_path: Path, db_url: str, dovecot: PrivateDovecot, sink: SmtpCapture) -> Desk:
    path, users = write_desk_config(tmp_path, db_url, dovecot, sink, {
        "mesadeayuda": ("mesadeayuda@example.com", "Mesa de ayuda"),
        "colgada": ("colgada@example.com", "Buzón que no responde"),
        "caida": ("caida@example.com", "Buzón caído"),
    })
    desk = Desk(path, dovecot, sink, users)
    assert desk.cli("db", "upgrade") == 0
    return desk


@sqlite_only
def test_a_hung_and_a_refusing_mailbox_never_stall_the_others_and_each_outage_is_logged_once(
    three_queue_desk: Desk, black_hole: BlackHole, caplog: pytest.LogCaptureFixture,
) -> None:
    desk = three_queue_desk
    _point_queue_at(desk.config_path, "colgada", black_hole.port)
    _point_queue_at(desk.config_path, "caida", free_port())  # nothing listens there: connection refused
    caplog.set_level(logging.INFO)
    app = App.open(desk.config)
    stop = threading.Event()
    daemon = threading.Thread(target=run_forever, args=(app, stop))
    daemon.start()
    try:
        desk.deliver(FIRST)
        deadline = time.monotonic() + 20
        while len(desk.sent_to(CUSTOMER)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(desk.sent_to(CUSTOMER)) == 2, "credentials and acknowledgement while two mailboxes fail"
        time.sleep(3.5)  # long enough for the refused mailbox to be retried a few times (1 s, 2 s, … backoff)
    finally:
        black_hole.close()  # the hung connection ends, so its runner can see the stop
        stop.set()
        daemon.join(30)
        app.close()
    assert not daemon.is_alive()
    refused = [r for r in caplog.records if r.levelno >= logging.ERROR and r.getMessage().startswith("mailbox caida")]
    assert len(refused) == 1, [r.getMessage() for r in refused]
    assert desk.folder("INBOX") == []


def test_a_database_outage_is_an_outage_of_the_mailbox_runner_not_its_death(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """This used to kill the intake thread (the lease was taken outside the crash boundary), and after ten restarts
    the supervisor stopped every daemon sharing the database."""
    from sqlalchemy.orm import sessionmaker

    from mailbot import store
    from mailbot.runners.doorbell import Doorbell
    from mailbot.runners.intake import IntakeRunner
    from mailbot.templates import Templates

    config = desk.config
    engine = store.make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")  # nobody listens
    app = App(config, engine, sessionmaker(engine), Templates(config.templates_path), Doorbell())
    runner = IntakeRunner(app, config.queues[0])
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        time.sleep(2.5)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
        engine.dispose()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "database error" in errors[0], errors
