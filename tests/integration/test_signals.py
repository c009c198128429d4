"""A real `mailbot run` process: SIGTERM ends it promptly with the batch in hand committed and moved; SIGHUP
reloads the configuration and keeps the running one when the new one does not load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot import store
from mailbot.desk.models import Receipt
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.ports import free_port
from mailbot.servers.smtp_capture import SmtpCapture
from tests.conftest import DESK_ADDRESS, Desk, write_desk_config

ROOT = Path(__file__).resolve().parents[2]


def customer_mail(n: int) -> bytes:
    return (f"From: Cliente {n} <cliente{n}@example.org>\r\nTo: {DESK_ADDRESS}\r\nSubject: Consulta {n}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.org>\r\n\r\nBuenos días.\r\n").encode()


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def receipts(desk: Desk) -> int:
    """Read with the database path alone: the test may have broken the configuration file on purpose."""
    engine = store.make_engine(f"sqlite:///{desk.config_path.parent / 'mailbot.db'}", writer=False)
    try:
        with store.session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Receipt)) or 0
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_desk(tmp_path: Path, dovecot: PrivateDovecot, sink: SmtpCapture) -> Desk:
    path, users = write_desk_config(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}", dovecot, sink,
                                    {"mesadeayuda": (DESK_ADDRESS, "Mesa de ayuda")})
    desk = Desk(path, dovecot, sink, users)
    assert desk.cli("db", "upgrade") == 0
    return desk


@pytest.fixture
def start_daemon(sqlite_desk: Desk) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `mailbot run` on the desk's configuration as it is when called; killed at the end if still running."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started.append(subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(sqlite_desk.config_path), "run", *options],
            env=env, stderr=subprocess.PIPE, text=True))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


@pytest.mark.parametrize("smtp", [
    "smtp-down",
    "accepting",
])
def test_sigterm_finishes_the_batch_in_hand_and_exits_0(
    sqlite_desk: Desk, start_daemon: Callable[[], subprocess.Popen[str]], smtp: str
) -> None:
    if smtp == "smtp-down":  # no SMTP server: the outbox backs off, so only the intake runner has work in hand
        sqlite_desk.config_path.write_text(sqlite_desk.config_path.read_text().replace(
            f"port = {sqlite_desk.sink.port}\n", f"port = {free_port()}\n"))
    daemon = start_daemon()
    with sqlite_desk.imap() as client:
        client.multiappend("INBOX", [customer_mail(n) for n in range(400)])
    wait_for(lambda: receipts(sqlite_desk) > 0)
    daemon.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert daemon.wait(timeout=60) == 0
    took = time.monotonic() - started

    done = receipts(sqlite_desk)
    assert done < 400  # it stopped between batches instead of draining the mailbox
    assert len(sqlite_desk.folder("Procesados")) == done  # what was committed was moved, nothing else
    assert len(sqlite_desk.folder("INBOX")) == 400 - done
    assert took < 5, (took, daemon.stderr.read()[-3000:] if daemon.stderr else "")


def test_sighup_keeps_the_running_configuration_when_the_new_one_does_not_load(
    sqlite_desk: Desk, start_daemon: Callable[[], subprocess.Popen[str]]
) -> None:
    daemon = start_daemon()
    sqlite_desk.deliver(customer_mail(1))
    wait_for(lambda: receipts(sqlite_desk) == 1)
    good = sqlite_desk.config_path.read_text()
    sqlite_desk.config_path.write_text(good + "\n[daemon]\npoll_interval = \"often\"\n")
    daemon.send_signal(signal.SIGHUP)
    time.sleep(2)
    sqlite_desk.deliver(customer_mail(2))  # still served, by the old configuration
    wait_for(lambda: receipts(sqlite_desk) == 2)

    sqlite_desk.config_path.write_text(good)
    daemon.send_signal(signal.SIGHUP)
    sqlite_desk.deliver(customer_mail(3))  # served by the reloaded one
    wait_for(lambda: receipts(sqlite_desk) == 3)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=15) == 0
    assert daemon.stderr is not None
    log = daemon.stderr.read()
    assert "SIGHUP: the configuration no longer loads, keeping the running one" in log
    assert "SIGHUP: configuration reloaded from" in log


def test_the_demos_daemon_stops_on_sighup_as_a_closed_terminal_means(
    sqlite_desk: Desk, start_daemon: Callable[..., subprocess.Popen[str]]
) -> None:
    daemon = start_daemon("--hangup-stops")  # what ./run demo runs in the foreground
    sqlite_desk.deliver(customer_mail(1))
    wait_for(lambda: receipts(sqlite_desk) == 1)
    daemon.send_signal(signal.SIGHUP)
    assert daemon.wait(timeout=15) == 0
