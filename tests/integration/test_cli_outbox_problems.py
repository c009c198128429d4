"""What an operator is told when mail does not go out: a broken template fails `run --once`, and an SMTP server
that took no mail at all is named by `outbox list` in a later process."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mailbot.config import DEFAULT_TEMPLATES
from tests.conftest import Desk
from tests.databases import sqlite_only
from tests.integration.test_cli import mailbot
from tests.integration.test_first_path import FIRST

pytestmark = sqlite_only  # reporting, not storage


def test_run_once_exits_1_naming_the_row_case_and_template_that_kept_a_mail_back(desk: Desk, tmp_path: Path) -> None:
    templates = tmp_path / "plantillas"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    ack = templates / "es" / "ack.txt.j2"
    ack.write_text(ack.read_text().replace("{{ desk.portal_url }}", "{{ caso.numero }}"))
    desk.config_path.write_text(desk.config_path.read_text() + f'\n[templates]\npath = "{templates}"\n')
    desk.deliver(FIRST)

    ran = mailbot("run", "--once", config=desk.config_path)

    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    last = ran.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"mailbot: outbox row \d+ \(CS0000001, ack\) not sent: template: {ack}:\d+: .*caso.*", last)
    assert len(desk.sent_to("marta.ruiz@transportes.example.org")) == 1, "the credentials went; the ack waits"


def test_outbox_list_shows_the_servers_last_error_when_no_row_was_charged(desk: Desk) -> None:
    working = desk.config_path.read_text()
    desk.config_path.write_text(re.sub(r"(\[smtp\]\nhost = \"127.0.0.1\"\nport = )\d+", r"\g<1>9", working))
    desk.deliver(FIRST)
    assert mailbot("run", "--once", config=desk.config_path).returncode == 1

    shown = mailbot("outbox", "list", config=desk.config_path)

    assert shown.returncode == 0
    assert re.search(r"^SMTP 127\.0\.0\.1:9, last error at \d{4}-\d\d-\d\d \d\d:\d\d: .*Connect call failed",
                     shown.stdout, re.M), shown.stdout
    as_json = mailbot("outbox", "list", "--json", config=desk.config_path)
    assert as_json.stdout.startswith("[") and "Connect call failed" in as_json.stderr  # the array stays stable

    desk.config_path.write_text(working)  # the server is back: a mail it accepts clears the error
    assert mailbot("run", "--once", config=desk.config_path).returncode == 0
    assert "last error" not in mailbot("outbox", "list", config=desk.config_path).stdout
