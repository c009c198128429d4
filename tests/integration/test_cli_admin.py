"""Operators' commands of issue 16 against the real Dovecot, SMTP capture and databases: accounts, outbox retry,
cases filters, search and attachment export."""

from __future__ import annotations

import base64
import fcntl
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Desk
from tests.integration.test_first_path import CUSTOMER, FIRST, mail
from tests.databases import sqlite_only


def cli_json(desk: Desk, capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert desk.cli(*args, "--json") == 0
    return json.loads(capsys.readouterr().out)


@sqlite_only
def test_accounts_list_show_and_a_password_reset_that_prints_no_password(
        desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    before = len(desk.sent_to(CUSTOMER))

    listed = cli_json(desk, capsys, "accounts", "list")
    assert isinstance(listed, list) and [(a["email"], a["cases"], a["has_password"]) for a in listed] == [
        (CUSTOMER, 1, True)]
    shown = cli_json(desk, capsys, "accounts", "show", CUSTOMER.upper())
    assert isinstance(shown, dict) and shown["cases"] == ["CS0000001"]
    assert shown["password_mail"]["kind"] == "credentials" and shown["password_mail"]["status"] == "sent"

    assert desk.cli("accounts", "reset-password", CUSTOMER) == 0
    assert "new temporary password is queued" in capsys.readouterr().out
    assert desk.cli("accounts", "reset-password", CUSTOMER) == 0
    assert "already on its way" in capsys.readouterr().out
    desk.run_once()

    mails = desk.sent_to(CUSTOMER)
    assert len(mails) == before + 1, "the second reset queued nothing"
    body = mails[-1].message.get_body(("plain",))
    assert body is not None and "Contraseña" in body.get_content()
    assert cli_json(desk, capsys, "accounts", "show", CUSTOMER)["password_mail"]["kind"] == "password_reset"  # type: ignore[index]


@sqlite_only
def test_accounts_of_an_unknown_address_fail_in_one_line(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    assert desk.cli("accounts", "reset-password", "nadie@example.org") == 1
    assert capsys.readouterr().err == "mailbot: no contact nadie@example.org (see `mailbot accounts list`)\n"
    assert desk.cli("accounts", "list") == 0 and capsys.readouterr().out == "(nothing)\n"


@sqlite_only
def test_outbox_retry_requeues_dead_rows_and_says_their_last_error(
        desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.sink.reject_with("550 5.1.1 mailbox unavailable")
    desk.deliver(FIRST)
    desk.run_once()
    dead = cli_json(desk, capsys, "outbox", "list", "--status", "dead")
    assert isinstance(dead, list) and [row["case"] for row in dead] == ["CS0000001", "CS0000001"]
    assert desk.cli("outbox", "retry", str(dead[0]["id"])) == 0
    assert "was dead after 1 attempt(s): 550 5.1.1 mailbox unavailable; requeued" in capsys.readouterr().out
    assert desk.cli("outbox", "retry", str(dead[0]["id"])) == 1
    assert "is pending; only dead or bounced rows are retried" in capsys.readouterr().err

    desk.sink.reject_with(None)
    assert desk.cli("outbox", "retry", "--dead") == 0
    assert capsys.readouterr().out.count("; requeued") == 1
    desk.run_once()
    rows = cli_json(desk, capsys, "outbox", "list")
    assert isinstance(rows, list) and {(row["status"], row["attempts"]) for row in rows} == {("sent", 1)}
    assert len(desk.sent_to(CUSTOMER)) == 2
    assert desk.cli("outbox", "retry", "--dead") == 0 and capsys.readouterr().out == "(nothing)\n"


@sqlite_only
def test_outbox_list_shows_the_case_local_times_and_the_whole_last_error(
        desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    error = "550 5.1.1 " + "the recipient's mailbox is unavailable and will stay so " * 3
    desk.sink.reject_with(error.strip())
    desk.deliver(FIRST)
    desk.run_once()
    capsys.readouterr()
    assert desk.cli("outbox", "list") == 0
    shown = capsys.readouterr().out
    assert shown.splitlines()[0].split()[:3] == ["Id", "Case", "Kind"] and "CS0000001" in shown
    assert error.strip() in shown.replace("\n", " ")


def numbers(desk: Desk, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    found = cli_json(desk, capsys, "cases", *args)
    assert isinstance(found, list)
    return [case["number"] for case in found]


@sqlite_only
def test_cases_list_by_contact_and_day_and_search_over_subjects_and_texts(
        desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.deliver(FIRST)  # CS0000001: "No puedo firmar con el token en Adobe"
    desk.deliver(mail("<b@example.org>", "Factura", body="El 100% del TOKEN_B falla.", sender="ana@example.org"))
    desk.deliver(mail("<c@example.org>", "Clave", body="Olvidé la clave.", sender="ana@example.org"))
    desk.run_once()

    assert numbers(desk, capsys, "list", "--contact", "ANA@example.org") == ["CS0000003", "CS0000002"]
    assert numbers(desk, capsys, "list", "--since", "2000-01-01", "--contact", CUSTOMER) == ["CS0000001"]
    assert numbers(desk, capsys, "list", "--since", "2999-01-01") == []
    assert numbers(desk, capsys, "search", "token") == ["CS0000002", "CS0000001"], "subject or text, any case"
    assert numbers(desk, capsys, "search", "100%") == ["CS0000002"]
    assert numbers(desk, capsys, "search", "0%") == ["CS0000002"], "% is the text, not a wildcard"
    assert numbers(desk, capsys, "search", "N_B") == ["CS0000002"]
    assert numbers(desk, capsys, "search", "n_b") == ["CS0000002"]
    assert numbers(desk, capsys, "search", "N%B") == []


@sqlite_only
def test_a_bad_since_day_is_a_usage_error(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        desk.cli("cases", "list", "--since", "23/11/2026")
    assert exit.value.code == 2 and "invalid day value: '23/11/2026'" in capsys.readouterr().err


@sqlite_only
def test_cases_attachment_writes_the_stored_file_and_never_overwrites(
        desk: Desk, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = b"%PDF-1.4 RUT de ejemplo"
    desk.deliver(
        f"From: {CUSTOMER}\nTo: {desk.config.queues[0].address}\nSubject: RUT\nMessage-ID: <pdf@example.org>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nAdjunto.\n"
        "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"../RUT.pdf\"\n"
        f"Content-Transfer-Encoding: base64\n\n{base64.b64encode(pdf).decode()}\n--b--\n")
    desk.run_once()
    capsys.readouterr()
    name = cli_json(desk, capsys, "cases", "show", "CS0000001")["entries"][0]["attachments"][0]["filename"]  # type: ignore[index]

    target = tmp_path / "out.pdf"
    assert desk.cli("cases", "attachment", "cs0000001", name, "-o", str(target)) == 0
    assert target.read_bytes() == pdf and f"{target}: {name} (application/pdf, {len(pdf)} bytes)" in capsys.readouterr().out
    target.write_bytes(b"mine")
    assert desk.cli("cases", "attachment", "CS0000001", name, "-o", str(target)) == 1
    assert "exists; not overwritten" in capsys.readouterr().err and target.read_bytes() == b"mine"

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert desk.cli("cases", "attachment", "CS0000001", name) == 0
    assert [p.name for p in work.iterdir()] == ["RUT.pdf"], "its own name, in the current folder, never a path"
    assert desk.cli("cases", "attachment", "CS0000001", "otro.pdf") == 1
    assert capsys.readouterr().err.endswith(f"no attachment otro.pdf on CS0000001; it has {name}\n")
    for blob in (desk.config.storage_path / "attachments").rglob("*"):
        if blob.is_file():
            blob.unlink()
    assert desk.cli("cases", "attachment", "CS0000001", name, "-o", str(tmp_path / "gone.pdf")) == 1
    assert "is missing from" in capsys.readouterr().err and not (tmp_path / "gone.pdf").exists()


@sqlite_only
@pytest.mark.parametrize(("typed", "said"), [
    ("1", "mailbot: no case 1 (did you mean CS0000001?)\n"),
    ("cs0000009", "mailbot: no case CS0000009\n"),
    ("caso-1", "mailbot: no case CASO-1 (case numbers look like CS0000001)\n"),
])
def test_an_unknown_case_number_hints_at_the_format(
        desk: Desk, capsys: pytest.CaptureFixture[str], typed: str, said: str) -> None:
    assert desk.cli("cases", "show", typed) == 1
    assert capsys.readouterr().err == said


def test_a_second_demo_in_the_same_folder_refuses_to_start() -> None:
    """The running demo holds var/demo.lock (flock); a second one stops before it touches var/demo."""
    checkout = Path(__file__).resolve().parents[2]
    (checkout / "var").mkdir(exist_ok=True)
    with (checkout / "var" / "demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = subprocess.run([str(checkout / "run"), "demo", "--once"], capture_output=True, text=True,
                                timeout=30)
    assert second.returncode == 1
    assert f"another ./run demo is running in {checkout}; stop it first" in second.stderr
