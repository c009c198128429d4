"""The log of a run over a real Dovecot and SMTP server: every line about one mail names it, none shows its body or
a secret."""

from __future__ import annotations

import json
import re

import pytest

from mailbot.demo import temporary_password
from tests.conftest import Desk
from tests.databases import sqlite_only
from tests.integration.test_cli import mailbot
from tests.integration.test_first_path import CUSTOMER, FIRST

pytestmark = sqlite_only  # the log, not storage


def run_logging(desk: Desk, format: str) -> str:
    desk.config_path.write_text(desk.config_path.read_text() + f'\n[logging]\nformat = "{format}"\n')
    desk.deliver(FIRST)
    ran = mailbot("run", "--once", config=desk.config_path)
    assert ran.returncode == 0, ran.stderr
    return ran.stderr


def test_every_json_line_about_a_mail_names_its_case_queue_message_id_and_uid(desk: Desk) -> None:
    stderr = run_logging(desk, "json")

    entries = [json.loads(line) for line in stderr.splitlines()]
    intake = [e for e in entries if e["logger"] == "mailbot.desk.ingest"]
    outgoing = [e for e in entries if e["msg"].startswith("outbox row")]
    assert len(intake) == 1 and intake[0]["msg"].startswith("new_case"), entries
    for entry in intake:
        assert (entry["case"], entry["queue"], entry["message_id"], entry["uid"]) == (
            "CS0000001", "mesadeayuda", "<first-1@transportes.example.org>", 1), entry
    assert len(outgoing) == 2, entries  # the credentials and the acknowledgement
    for entry in outgoing:
        assert entry["case"] == "CS0000001" and entry["queue"] == "mesadeayuda", entry
        assert re.fullmatch(r"<[^@>]+@[^>]+>", entry["message_id"]), entry
        assert f"sent to Marta Ruiz <{CUSTOMER}>" in entry["msg"]
    (credentials,) = [c.message for c in desk.sent_to(CUSTOMER) if temporary_password(c.message)]
    password = temporary_password(credentials)
    assert password and password not in stderr and "el token no aparece" not in stderr, "no secret, no body"


def test_text_lines_about_a_case_start_with_its_number(desk: Desk) -> None:
    stderr = run_logging(desk, "text")

    about = [line for line in stderr.splitlines() if "outbox row" in line or "mailbot.desk.ingest" in line]
    assert len(about) == 3, stderr
    assert all(re.search(r"(INFO|WARNING) mailbot\.[a-z_.]+: CS0000001: ", line) for line in about), about
