"""Poison, concurrency, retries, TLS and the long-running daemon, on the real servers."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from mailbot import store
from mailbot.desk import actions, cases
from mailbot.desk.verdict import Verdict
from mailbot.desk.accounts import get_or_create_contact
from mailbot.desk.models import Case, Contact, Entry, Outbox, OutboxStatus, Outcome, Receipt
from tests.conftest import Desk
from tests.integration.test_first_path import CUSTOMER, FIRST, mail
from tests.databases import sqlite_only


def test_a_message_that_crashes_processing_is_quarantined_with_its_work_rolled_back(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exploding(action: actions.Action) -> actions.Action:
        def act(inbound: actions.Inbound) -> Verdict:
            if "veneno" in inbound.mail.subject:
                inbound.session.add(Contact(email="half-done@example.org"))  # work the savepoint must undo
                inbound.session.flush()
                raise RuntimeError("simulated bug in an action")
            return action(inbound)
        return act

    # Through the public route → action table, as a bug in any action would show.
    monkeypatch.setattr(actions, "ACTIONS", tuple((r, t, exploding(a)) for r, t, a in actions.ACTIONS))
    desk.deliver(mail("<poison@example.org>", "Mensaje veneno", sender="otro@example.org"))
    desk.deliver(FIRST)

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.QUARANTINE, Outcome.NEW_CASE]
    assert report.verdicts[0].reason == "processing failed: RuntimeError: simulated bug in an action"
    assert len(desk.folder("Cuarentena")) == 1 and len(desk.folder("Procesados")) == 1
    with desk.session() as session:
        assert session.scalars(select(Contact.email)).all() == [CUSTOMER]
        assert session.scalars(select(Receipt.outcome).order_by(Receipt.id)).all() == [
            Outcome.QUARANTINE, Outcome.NEW_CASE]


def test_case_numbers_stay_unique_under_concurrent_writers(desk: Desk) -> None:
    engine = store.make_engine(desk.config.database_url)
    sessions = store.session_factory(engine)
    with sessions() as session:
        contact, _ = get_or_create_contact(session, "ana@example.org", "Ana", "example.org")
        session.commit()
        contact_id = contact.id
    numbers: list[str] = []
    errors: list[BaseException] = []

    def open_some() -> None:
        try:
            for _ in range(10):
                with sessions() as session:
                    owner = session.get(Contact, contact_id)
                    assert owner is not None
                    case = cases.open_case(session, "CS", cases.NewCase("mesadeayuda", "x", owner, "es"))
                    session.commit()
                    numbers.append(case.number)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=open_some) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()

    assert errors == []
    assert sorted(numbers) == [f"CS{n:07d}" for n in range(1, 41)]


@sqlite_only
def test_a_configured_starttls_that_the_imap_server_lacks_is_an_error_not_plaintext(desk: Desk) -> None:
    text = desk.config_path.read_text()
    desk.config_path.write_text(text.replace('tls = "none"\nusername = "mesadeayuda', 'tls = "starttls"\nusername = "mesadeayuda'))
    desk.deliver(FIRST)

    report = desk.run_once()

    assert len(report.unavailable) == 1 and "STARTTLS" in report.unavailable[0]
    assert len(desk.folder("INBOX")) == 1, "nothing is read over a connection that should have been encrypted"


@sqlite_only
def test_a_configured_starttls_that_the_smtp_server_lacks_sends_nothing_in_plaintext(desk: Desk) -> None:
    text = desk.config_path.read_text()
    desk.config_path.write_text(re.sub(r'(\[smtp\]\nhost = "127.0.0.1"\nport = \d+\n)tls = "none"', r'\1tls = "starttls"', text))
    desk.deliver(FIRST)

    report = desk.run_once()

    assert desk.sink.captured == []
    assert report.outbox.unavailable is not None and "STARTTLS extension not supported" in report.outbox.unavailable
    with desk.session() as session:
        assert {r.status for r in session.scalars(select(Outbox))} == {OutboxStatus.PENDING}


@sqlite_only
def test_the_daemon_answers_new_mail_while_running_and_stops_cleanly_on_sigterm(desk: Desk) -> None:
    text = desk.config_path.read_text().replace("[daemon]\n", "[daemon]\npoll_interval = 0.2\n")
    desk.config_path.write_text(text)
    daemon = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(desk.config_path), "run"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        desk.deliver(FIRST)
        deadline = time.monotonic() + 30
        while len(desk.sent_to(CUSTOMER)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(desk.sent_to(CUSTOMER)) == 2
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr
    assert "mailbot stopped" in stderr and "Traceback" not in stderr


@sqlite_only
def test_a_changed_uidvalidity_is_noticed_and_the_ledger_still_knows_old_mail(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    from mailbot.desk.models import MailboxState

    with desk.session() as session:
        state = session.get(MailboxState, "mesadeayuda/INBOX")
        assert state is not None
        state.uidvalidity += 1  # as after the server rebuilt the mailbox
        session.commit()
    with desk.imap() as client:
        client.select_folder("Procesados")
        client.copy(client.search(["ALL"]), "INBOX")

    report = desk.run_once()

    assert "UIDVALIDITY changed" in caplog.text
    assert [v.outcome for v in report.verdicts] == [Outcome.DUPLICATE]
    with desk.session() as session:
        assert len(session.scalars(select(Case)).all()) == 1
        assert len(session.scalars(select(Entry)).all()) == 3


@sqlite_only
def test_a_message_the_imap_server_cannot_return_is_quarantined_and_the_rest_go_on(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError

    desk.deliver(mail("<broken@example.org>", "Mensaje dañado en el servidor", sender="otro@example.org"))
    desk.deliver(FIRST)
    with desk.imap() as client:
        client.select_folder("INBOX")
        broken_uid = min(client.search(["ALL"]))
    fetch = IMAPClient.fetch

    def refuse_the_broken_one(self, messages, data, modifiers=None):  # type: ignore[no-untyped-def]
        if broken_uid in messages:  # as Dovecot does for a message file it cannot read
            raise IMAPClientError("fetch failed: [SERVERBUG] Internal error occurred")
        return fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", refuse_the_broken_one)

    report = desk.run_once()
    monkeypatch.undo()

    assert [v.outcome for v in report.verdicts] == [Outcome.QUARANTINE, Outcome.NEW_CASE]
    assert report.verdicts[0].reason == (
        "the IMAP server could not return it: [SERVERBUG] Internal error occurred")
    assert len(desk.folder("Cuarentena")) == 1 and len(desk.folder("Procesados")) == 1


def test_a_storage_failure_rolls_the_batch_back_and_leaves_the_mail_in_the_inbox(desk: Desk) -> None:
    storage = desk.config.storage_path
    storage.parent.mkdir(parents=True, exist_ok=True)
    storage.write_text("a file where the storage folder should be")  # every write under it fails: NotADirectoryError
    desk.deliver(FIRST)

    report = desk.run_once()

    assert report.verdicts == [] and "storage error (NotADirectoryError)" in report.unavailable[0]
    assert len(desk.folder("INBOX")) == 1 and desk.folder("Cuarentena") == []
    storage.unlink()
    assert [v.outcome for v in desk.run_once().verdicts] == [Outcome.NEW_CASE]


def test_an_outage_of_several_cycles_is_not_counted_as_crashes(desk: Desk) -> None:
    """This used to quarantine a good first-time mail as "stopped the daemon 3 times" after four cycles of a
    storage outage: the in-flight mark of a batch that failed with a caught error was taken for a crash."""
    storage = desk.config.storage_path
    storage.parent.mkdir(parents=True, exist_ok=True)
    storage.write_text("a file where the storage folder should be")
    desk.deliver(FIRST)

    for _ in range(4):
        assert "storage error" in desk.run_once().unavailable[0]
    storage.unlink()
    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.NEW_CASE]
    assert desk.folder("Cuarentena") == [] and len(desk.folder("Procesados")) == 1
    with desk.session() as session:
        from mailbot.desk.models import CrashCount, MailboxState
        assert session.scalars(select(CrashCount)).all() == []
        assert session.get(MailboxState, "mesadeayuda/INBOX").in_flight_to is None  # type: ignore[union-attr]
