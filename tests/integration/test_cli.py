"""The `mailbot` command as a user runs it: a real process, its exit code, its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from mailbot import store
from tests.conftest import Desk
from tests.integration.test_first_path import CUSTOMER, FIRST
from tests.databases import sqlite_only

CASE_KEYS = {"number", "subject", "queue", "state", "priority", "contact", "account", "owner", "participants",
             "first_response_at", "created_at", "updated_at", "escalation_level", "next_escalation_at", "sla",
             "escalations", "rating"}
ENTRY_KEYS = {"direction", "kind", "author", "subject", "text", "attachments", "message_id", "flags", "at"}


def mailbot(*args: str, config: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mailbot", *(["--config", str(config)] if config else []), *args]
    return subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120)


@sqlite_only
def test_run_once_then_cases_and_outbox_as_json(desk: Desk) -> None:
    desk.deliver(FIRST)

    ran = mailbot("run", "--once", env={"MAILBOT_CONFIG": str(desk.config_path)})
    assert ran.returncode == 0, ran.stderr

    listing = json.loads(mailbot("cases", "list", "--json", config=desk.config_path).stdout)
    assert [set(case) for case in listing] == [CASE_KEYS]
    assert listing[0]["number"] == "CS0000001" and listing[0]["contact"] == CUSTOMER
    assert (listing[0]["state"], listing[0]["priority"]) == ("Nuevo", "3 - Moderada")

    shown = json.loads(mailbot("cases", "show", "cs0000001", "--json", config=desk.config_path).stdout)
    assert set(shown) == CASE_KEYS | {"entries"}
    assert [set(e) for e in shown["entries"]] == [ENTRY_KEYS] * 3
    assert [(e["direction"], e["kind"]) for e in shown["entries"]] == [("in", "customer"), ("out", "system"), ("out", "system")]
    assert shown["entries"][0]["message_id"] == "<first-1@transportes.example.org>"

    outbox = json.loads(mailbot("outbox", "list", "--json", config=desk.config_path).stdout)
    assert sorted((row["kind"], row["status"], row["attempts"]) for row in outbox) == [
        ("ack", "sent", 1), ("credentials", "sent", 1)]

    table = mailbot("cases", "list", config=desk.config_path).stdout
    assert "CS0000001" in table and "3 - Moderada" in table


@sqlite_only
def test_showing_an_unknown_case_says_so(desk: Desk) -> None:
    shown = mailbot("cases", "show", "CS9999999", config=desk.config_path)
    assert (shown.returncode, shown.stderr.strip()) == (1, "mailbot: no case CS9999999")


@sqlite_only
def test_an_unreachable_mailbox_fails_run_once_with_its_reason(desk: Desk) -> None:
    (desk.config_path.parent / "imap.password").write_text("wrong\n")

    ran = mailbot("run", "--once", config=desk.config_path)

    assert ran.returncode == 1
    assert "IMAP mesadeayuda-" in ran.stderr and "AUTHENTICATIONFAILED" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_schema_from_a_newer_mailbot_is_refused(desk: Desk) -> None:
    engine = store.make_engine(desk.config.database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    ran = mailbot("run", "--once", config=desk.config_path)

    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert "schema is at revision 9999, which this mailbot does not know" in ran.stderr
    assert "written by a newer mailbot" in ran.stderr


def test_a_schema_behind_this_version_is_refused_until_db_upgrade(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    current = store.head_revision()
    monkeypatch.setattr(store, "head_revision", lambda: "9998")  # as if this mailbot shipped a newer migration
    engine = store.make_engine(desk.config.database_url)
    with pytest.raises(store.SchemaError) as refused:
        store.ensure_schema(engine)
    engine.dispose()
    assert str(refused.value) == (f"the database schema is at revision {current}, this mailbot needs 9998; "
                                  "back up the database, then run `mailbot db upgrade`")


def test_looking_at_a_database_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text(Path(__file__).with_name("minimal.toml").read_text().replace("DB_URL", "sqlite:///typo/m.db"))

    shown = mailbot("cases", "list", config=config)

    assert shown.returncode == 1 and "no database at" in shown.stderr and "Traceback" not in shown.stderr
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_run_refuses_an_empty_postgresql_until_db_upgrade(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text(Path(__file__).with_name("minimal.toml").read_text().replace("DB_URL", db_url))

    refused = mailbot("cases", "list", config=config)
    assert refused.returncode == 1 and "run `mailbot db upgrade` first" in refused.stderr

    upgraded = mailbot("db", "upgrade", config=config)
    assert upgraded.returncode == 0 and f"revision {store.head_revision()}" in upgraded.stdout
    assert mailbot("cases", "list", config=config).stdout.strip() == "(nothing)"


def test_a_bad_configuration_names_file_key_and_expectation(tmp_path: Path) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text(Path(__file__).with_name("minimal.toml").read_text()
                      .replace("DB_URL", "sqlite:///x.db").replace("port = 25", 'port = "smtp"'))

    ran = mailbot("run", "--once", config=config)

    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.strip() == (
        f"mailbot: configuration error: {config}: [smtp] port: expected an integer 1–65535, got 'smtp'")


def test_no_configuration_at_all_says_how_to_give_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MAILBOT_CONFIG"}
    ran = subprocess.run([sys.executable, "-m", "mailbot", "cases", "list"], env=env, capture_output=True, text=True)
    assert ran.returncode == 2
    assert "no configuration: pass --config FILE or set MAILBOT_CONFIG" in ran.stderr


def test_run_creates_a_fresh_sqlite_schema_by_itself(tmp_path: Path, dovecot, sink) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DESK_ADDRESS, OTHER_ADDRESS, Desk, write_desk_config

    path, users = write_desk_config(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}", dovecot, sink,
                                    {"mesadeayuda": (DESK_ADDRESS, "Mesa de ayuda"),
                                     "clavesegura": (OTHER_ADDRESS, "Soporte Clave Segura")})
    desk = Desk(path, dovecot, sink, users)
    desk.deliver(FIRST)

    ran = mailbot("run", "--once", config=path)

    assert ran.returncode == 0, ran.stderr
    assert json.loads(mailbot("cases", "list", "--json", config=path).stdout)[0]["number"] == "CS0000001"


@sqlite_only  # output, not storage: one database is enough
def test_terminal_output_never_prints_a_mails_control_characters(desk: Desk) -> None:
    """A mail could retitle the admin's terminal and clear the screen through `cases show` (ESC, BEL)."""
    from tests.integration.test_first_path import mail

    desk.deliver(mail("<esc@example.org>", "=?utf-8?q?T=C3=ADtulo_=1B]0;pwned=07?=",
                      body="Hola \x1b[2J\x1b]0;owned\x07 texto", sender="otro@example.org"))
    assert mailbot("run", "--once", config=desk.config_path).returncode == 0

    for args in (("cases", "list"), ("cases", "show", "CS0000001"), ("outbox", "list")):
        shown = mailbot(*args, config=desk.config_path)
        assert shown.returncode == 0 and "\x1b" not in shown.stdout and "\x07" not in shown.stdout, args
    assert "\\x1b[2J" in mailbot("cases", "show", "CS0000001", config=desk.config_path).stdout
    as_json = mailbot("cases", "show", "CS0000001", "--json", config=desk.config_path).stdout
    assert "\x1b" not in as_json and json.loads(as_json)["entries"][0]["text"].startswith("Hola \x1b[2J")
