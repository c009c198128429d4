"""Mail over the size cap is left unread; the quarantine an admin works (list, show, retry, delete) on real Dovecot."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from mailbot.desk.models import Case, Outcome, Receipt
from mailbot.mail.imap_source import ImapSource
from mailbot.mail.source import Fetched
from tests.conftest import Desk
from tests.integration.test_first_path import FIRST, mail
from tests.databases import sqlite_only

BIG_BODY = ("x" * 76 + "\n") * (30 * 2**20 // 78)  # 30 MiB once delivered with CRLF: over the 25 MB cap


def no_sender(subject: str) -> str:
    """A mail with no From: the desk cannot answer it, so it is quarantined (route "no sender")."""
    return (f"To: mesadeayuda@example.com\nSubject: {subject}\nMessage-ID: <{uuid.uuid4().hex}@example.org>\n"
            "Date: Mon, 23 Nov 2026 10:00:00 -0500\n\nHola.\n")


def quarantine_json(desk: Desk, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert desk.cli("quarantine", "list", "--json") == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


@sqlite_only
def test_a_mail_over_the_cap_is_quarantined_unread_and_the_mail_behind_it_is_processed(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.deliver(mail("<big@example.org>", "Adjunto el video del error", body=BIG_BODY))
    desk.deliver(FIRST)
    downloaded: list[int] = []
    fetch_bodies = ImapSource._fetch_bodies

    def counting(self: ImapSource, uids: list[int]) -> dict[int, Fetched]:  # the real FETCH, with a tally
        downloaded.extend(uids)
        return fetch_bodies(self, uids)

    monkeypatch.setattr(ImapSource, "_fetch_bodies", counting)
    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.QUARANTINE, Outcome.NEW_CASE]
    assert report.verdicts[0].reason == "larger than the 25 MB limit (31 MB)"
    assert downloaded == [report.verdicts[1].uid]  # the big one's body was never asked for
    assert len(desk.folder("Cuarentena")) == 1 and len(desk.folder("Procesados")) == 1
    with desk.session() as session:
        receipt = session.scalars(select(Receipt).where(Receipt.outcome == Outcome.QUARANTINE)).one()
        assert (receipt.sender, receipt.subject, receipt.date) == (
            "marta.ruiz@transportes.example.org", "Adjunto el video del error", "Mon, 23 Nov 2026 10:00:00 -0500")
        assert receipt.size is not None and receipt.size > 30 * 2**20
        assert receipt.folder_uid == 1 and receipt.message_id == "<big@example.org>"
        assert len(session.scalars(select(Case)).all()) == 1


def test_list_show_retry_and_delete(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.deliver(no_sender("Sin remitente \x1b]0;hola\x07"))
    desk.deliver("esto no es un correo\n")
    desk.run_once()

    rows = quarantine_json(desk, capsys)
    assert [(r["subject"], r["folder_uid"]) for r in rows] == [("", 2), ("Sin remitente ]0;hola", 1)]
    assert rows[0]["reason"] == "not an e-mail: the input does not start with 'Name: value' header lines"
    no_from = rows[1]
    assert no_from["rule"] and "nobody to answer" in str(no_from["reason"])

    assert desk.cli("quarantine", "show", str(no_from["id"])) == 0
    shown = capsys.readouterr().out
    assert "Reason: " + str(no_from["reason"]) in shown and "Subject: Sin remitente" in shown
    assert "\x1b" not in shown and "\\x1b" in shown  # the terminal sees the escape, not its effect

    assert desk.cli("quarantine", "retry", "--all", "--reason", "NOT AN E-MAIL") == 0
    assert len(desk.folder("INBOX")) == 1 and len(desk.folder("Cuarentena")) == 1
    assert [r["id"] for r in quarantine_json(desk, capsys)] == [no_from["id"]]
    desk.run_once()  # processed again: a new verdict, a new receipt, back in quarantine
    rows = quarantine_json(desk, capsys)
    assert len(rows) == 2 and desk.folder("INBOX") == []

    assert desk.cli("quarantine", "delete", str(no_from["id"])) == 0
    assert [r["id"] for r in quarantine_json(desk, capsys)] == [rows[0]["id"]]
    assert len(desk.folder("Cuarentena")) == 1
    with desk.session() as session:
        assert session.get(Receipt, no_from["id"]).deleted_at is not None  # type: ignore[union-attr]

    assert desk.cli("quarantine", "retry", str(no_from["id"])) == 1  # deleted: nothing to retry
    assert "no quarantined mail" in capsys.readouterr().err


@sqlite_only
def test_retry_finds_the_mail_by_its_message_id_when_the_folder_uid_is_unknown(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.deliver(no_sender("Sin remitente"))
    desk.run_once()
    with desk.session() as session:  # as after a daemon that died between the MOVE and noting where it went
        for receipt in session.scalars(select(Receipt)):
            receipt.folder_uid = None
        session.commit()
    [row] = quarantine_json(desk, capsys)
    assert desk.cli("quarantine", "retry", str(row["id"])) == 0
    assert len(desk.folder("INBOX")) == 1 and desk.folder("Cuarentena") == []
    assert quarantine_json(desk, capsys) == []
