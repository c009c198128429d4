"""The IMAP source on a real Dovecot: IDLE wake-ups and renewal, the polling fallback, one-line errors."""

from __future__ import annotations

import logging
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

import pytest
from imapclient import IMAPClient

from mailbot.config import ImapConfig
from mailbot.mail import imap_idle
from mailbot.mail.imap_source import ImapSource
from mailbot.mail.source import MailSource, SourceUnavailable, WaitsForMail
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.ports import free_port
from tests.conftest import IMAP_PASSWORD

# Dovecot reports a change to an idling client after its own 0.5 s notify delay; the rest of the bound is room
# for a loaded test machine.
WAKE_BOUND = 1.5
T = TypeVar("T")


def mail(subject: str) -> bytes:
    return (f"From: Cliente <cliente@example.org>\r\nTo: mesadeayuda@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.org>\r\n\r\nBuenos días.\r\n").encode()


def imap_config(server: PrivateDovecot, user: str, *, port: int | None = None, password: str = IMAP_PASSWORD,
                inbox: str = "INBOX") -> ImapConfig:
    return ImapConfig(server.host, port or server.port, "none", user, password, inbox=inbox)


def deliver(server: PrivateDovecot, user: str, subject: str) -> float:
    """APPEND from another connection, as the desk's mail server delivers; returns when it was done."""
    with IMAPClient(server.host, port=server.port, ssl=False, timeout=5) as client:
        client.login(user, IMAP_PASSWORD)
        client.append("INBOX", mail(subject))
    return time.monotonic()


def subjects(source: ImapSource) -> list[str]:
    return [line.split(b": ", 1)[1].decode() for batch in source.batches(100) for item in batch.items
            for line in item.raw.split(b"\r\n") if line.startswith(b"Subject: ")]


def later(delay: float, action: Callable[[], T]) -> list[T]:
    """Run `action` in `delay` seconds on another thread; the list gets what it returned."""
    result: list[T] = []
    timer = threading.Timer(delay, lambda: result.append(action()))
    timer.daemon = True
    timer.start()
    return result


@pytest.fixture
def user() -> str:
    return f"idle-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def own_dovecot() -> Iterator[PrivateDovecot]:
    """A server of this test's own, for tests that kill it."""
    root = Path(tempfile.mkdtemp(prefix="mailbot-test-dovecot-"))
    with PrivateDovecot(root, password=IMAP_PASSWORD) as server:
        yield server
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot_without_idle() -> Iterator[PrivateDovecot]:
    root = Path(tempfile.mkdtemp(prefix="mailbot-test-dovecot-"))
    with PrivateDovecot(root, password=IMAP_PASSWORD, omit_capabilities=frozenset({"IDLE"})) as server:
        yield server
    shutil.rmtree(root, ignore_errors=True)


def test_the_imap_source_keeps_the_source_contract_and_can_wait(dovecot: PrivateDovecot, user: str) -> None:
    with ImapSource(imap_config(dovecot, user), "mesadeayuda/INBOX") as source:
        typed: MailSource = source
        assert isinstance(typed, WaitsForMail) and source.can_idle


def test_a_wait_wakes_soon_after_an_append_and_the_next_round_fetches_it(dovecot: PrivateDovecot, user: str) -> None:
    with ImapSource(imap_config(dovecot, user), "k") as source:
        assert subjects(source) == []
        delivered = later(0.3, lambda: deliver(dovecot, user, "Clave bloqueada"))

        assert source.wait_for_mail(timeout=10) is True
        woke = time.monotonic()

        assert woke - delivered[0] < WAKE_BOUND
        assert subjects(source) == ["Clave bloqueada"]


def test_mail_that_came_before_the_wait_wakes_it_at_once(dovecot: PrivateDovecot, user: str) -> None:
    """Dovecot reports such mail only in the same packet as "+ idling", or at DONE; neither may be missed."""
    with ImapSource(imap_config(dovecot, user), "k") as source:
        assert subjects(source) == []
        deliver(dovecot, user, "Llegó entre rondas")
        started = time.monotonic()

        assert source.wait_for_mail(timeout=10) is True

        assert time.monotonic() - started < WAKE_BOUND
        assert subjects(source) == ["Llegó entre rondas"]


def test_a_wait_with_nothing_arriving_returns_false_after_the_timeout(dovecot: PrivateDovecot, user: str) -> None:
    with ImapSource(imap_config(dovecot, user), "k") as source:
        started = time.monotonic()

        assert source.wait_for_mail(timeout=0.7) is False

        assert 0.7 <= time.monotonic() - started < 0.7 + WAKE_BOUND
        assert subjects(source) == []  # out of IDLE and usable


def test_idle_is_renewed_and_still_wakes_on_mail_appended_after_a_renewal(
    dovecot: PrivateDovecot, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    renewals: list[float] = []
    done = imap_idle.Idle.done

    def counted(self: imap_idle.Idle) -> None:
        renewals.append(time.monotonic())
        done(self)

    monkeypatch.setattr(imap_idle.Idle, "done", counted)
    with ImapSource(imap_config(dovecot, user), "k", idle_renewal=0.3) as source:
        delivered = later(1.2, lambda: deliver(dovecot, user, "Después de renovar"))

        assert source.wait_for_mail(timeout=10) is True

        assert len([t for t in renewals if t < delivered[0]]) >= 2
        assert time.monotonic() - delivered[0] < WAKE_BOUND
        assert subjects(source) == ["Después de renovar"]


def test_stop_ends_a_wait_promptly(dovecot: PrivateDovecot, user: str) -> None:
    stop = threading.Event()
    with ImapSource(imap_config(dovecot, user), "k") as source:
        later(0.3, stop.set)
        started = time.monotonic()

        assert source.wait_for_mail(timeout=30, stop=stop) is False

        assert time.monotonic() - started < 0.3 + imap_idle.STOP_CHECK + 0.5
        assert subjects(source) == []


def test_a_server_without_idle_is_polled_and_each_round_sees_new_mail(
    dovecot_without_idle: PrivateDovecot, user: str
) -> None:
    with ImapSource(imap_config(dovecot_without_idle, user), "k") as source:
        assert source.can_idle is False
        assert subjects(source) == []
        deliver(dovecot_without_idle, user, "Sin IDLE")
        started = time.monotonic()

        assert source.wait_for_mail(timeout=0.4) is False  # a plain sleep

        assert time.monotonic() - started >= 0.4
        assert subjects(source) == ["Sin IDLE"]


Rewrite = Callable[[bytes], bytes]


class Relay:
    """A TCP relay to a real server that rewrites what passes, to make the real Dovecot behave as other servers
    do. A rewrite sees whatever one recv() returned; the commands and answers rewritten here are single lines."""

    def __init__(self, server: PrivateDovecot, to_server: Rewrite = bytes, to_client: Rewrite = bytes) -> None:
        self.server = server
        self.rewrites = (to_server, to_client)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.server.host, self.server.port))
            for pair in ((downstream, upstream, self.rewrites[0]), (upstream, downstream, self.rewrites[1])):
                threading.Thread(target=self._pump, args=pair, daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, rewrite: Rewrite) -> None:
        """A rewrite that raises OSError cuts the connection, both ways and at once (shutdown wakes the other
        direction's recv, which a close from this thread would not)."""
        try:
            with suppress(OSError):  # the other direction may have closed both already
                while data := source.recv(65536):
                    target.sendall(rewrite(data))
        finally:
            for end in (source, target):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def relay(dovecot: PrivateDovecot, request: pytest.FixtureRequest) -> Iterator[Relay]:
    relay = Relay(dovecot, *request.param)
    yield relay
    relay.close()


def renaming_idle(data: bytes) -> bytes:
    """Dovecot answers an unknown command with a tagged BAD, as a server that refuses IDLE does."""
    return data.replace(b" IDLE\r\n", b" XIDLE\r\n")


def exists_with_every_noop(data: bytes) -> bytes:
    """RFC 3501 lets a server repeat EXISTS unasked; this one does with every NOOP."""
    return re.sub(rb"(?m)^(\w+ OK NOOP)", rb"* 1 EXISTS\r\n\1", data)


@pytest.mark.parametrize("relay", [(renaming_idle, bytes)], indirect=True)
def test_a_server_that_refuses_idle_is_polled_from_then_on(
    dovecot: PrivateDovecot, relay: Relay, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), ImapSource(imap_config(dovecot, user, port=relay.port), "k") as source:
        advertised = source.can_idle
        started = time.monotonic()

        assert source.wait_for_mail(timeout=0.4) is False
        assert source.wait_for_mail(timeout=0.4) is False

        assert (advertised, source.can_idle) == (True, False)
        assert time.monotonic() - started >= 0.8  # slept, not spun
        deliver(dovecot, user, "Tras el rechazo")
        assert subjects(source) == ["Tras el rechazo"]
    refusals = [r.getMessage() for r in caplog.records if "refused IDLE" in r.getMessage()]
    assert len(refusals) == 1 and "BAD" in refusals[0] and "polling" in refusals[0]


@pytest.mark.parametrize("relay", [(bytes, exists_with_every_noop)], indirect=True)
def test_a_server_that_repeats_exists_does_not_wake_the_wait_until_mail_comes(
    dovecot: PrivateDovecot, relay: Relay, user: str
) -> None:
    with ImapSource(imap_config(dovecot, user, port=relay.port), "k") as source:
        assert subjects(source) == []
        started = time.monotonic()

        assert source.wait_for_mail(timeout=0.5) is False
        assert time.monotonic() - started >= 0.5

        delivered = later(0.3, lambda: deliver(dovecot, user, "Por fin"))
        assert source.wait_for_mail(timeout=10) is True
        assert time.monotonic() - delivered[0] < WAKE_BOUND
        assert subjects(source) == ["Por fin"]


def test_a_server_killed_while_idling_raises_source_unavailable(own_dovecot: PrivateDovecot, user: str) -> None:
    source = ImapSource(imap_config(own_dovecot, user), "k").__enter__()
    try:
        later(0.3, own_dovecot.kill)
        started = time.monotonic()

        with pytest.raises(SourceUnavailable) as raised:
            source.wait_for_mail(timeout=30)

        assert time.monotonic() - started < 0.3 + WAKE_BOUND
        assert str(raised.value) == (f"IMAP {user}@127.0.0.1:{own_dovecot.port}/INBOX: waiting for mail "
                                     "failed: socket error: EOF")
    finally:
        started = time.monotonic()
        source.close()
    assert time.monotonic() - started < 0.5  # no LOGOUT on a dead connection


def test_a_wrong_password_is_one_clean_line_and_fast(dovecot: PrivateDovecot, user: str) -> None:
    """It used to print a raw b'[AUTHENTICATIONFAILED] …', and each failure slowed the next logins by seconds."""
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(SourceUnavailable) as raised:
            ImapSource(imap_config(dovecot, user, password="wrong"), "k").__enter__()
        assert time.monotonic() - started < 1

        assert str(raised.value) == (f"IMAP {user}@127.0.0.1:{dovecot.port}/INBOX: login refused: "
                                     "[AUTHENTICATIONFAILED] Authentication failed.")
    started = time.monotonic()
    with ImapSource(imap_config(dovecot, user), "k"):
        assert time.monotonic() - started < 0.5  # no penalty left behind for the tests that follow


def test_a_missing_inbox_is_an_error_before_any_folder_is_created(dovecot: PrivateDovecot, user: str) -> None:
    """It used to create Procesados and Cuarentena, then fail to select the inbox."""
    with pytest.raises(SourceUnavailable) as raised:
        ImapSource(imap_config(dovecot, user, inbox="Entrada"), "k").__enter__()

    assert str(raised.value) == (f"IMAP {user}@127.0.0.1:{dovecot.port}/Entrada: no folder 'Entrada' on the "
                                 "server; check [queues.imap] inbox")
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5) as client:
        client.login(user, IMAP_PASSWORD)
        assert [name for _, _, name in client.list_folders()] == ["INBOX"]


def test_an_unreachable_server_is_one_clean_line(user: str) -> None:
    port = free_port()
    config = ImapConfig("127.0.0.1", port, "none", user, IMAP_PASSWORD)

    with pytest.raises(SourceUnavailable) as raised:
        ImapSource(config, "k").__enter__()

    assert str(raised.value) == f"IMAP {user}@127.0.0.1:{port}/INBOX: cannot connect: [Errno 111] Connection refused"
