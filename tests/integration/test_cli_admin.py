"""Operators' commands of issue 16 against the real Dovecot, SMTP capture and databases: accounts, outbox retry,
cases filters, search and attachment export."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Desk
from tests.integration.test_first_path import CUSTOMER, FIRST


def cli_json(desk: Desk, capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert desk.cli(*args, "--json") == 0
    return json.loads(capsys.readouterr().out)


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


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_accounts_of_an_unknown_address_fail_in_one_line(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    assert desk.cli("accounts", "reset-password", "nadie@example.org") == 1
    assert capsys.readouterr().err == "mailbot: no contact nadie@example.org (see `mailbot accounts list`)\n"
    assert desk.cli("accounts", "list") == 0 and capsys.readouterr().out == "(nothing)\n"


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


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_outbox_list_shows_the_case_local_times_and_the_whole_last_error(
        desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    error = "550 5.1.1 " + "the recipient's mailbox is unavailable and will stay so " * 3
    desk.sink.reject_with(error.strip())
    desk.deliver(FIRST)
    desk.run_once()
    capsys.readouterr()
    assert desk.cli("outbox", "list") == 0
    shown = capsys.readouterr().out
    assert shown.splitlines()[0].split()[:3] == ["Id", "Caso", "Tipo"] and "CS0000001" in shown
    assert error.strip() in shown.replace("\n", " ")
