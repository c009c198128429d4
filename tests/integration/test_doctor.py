"""`mailbot doctor` against the real Dovecot, SMTP server and databases: all OK, and each broken part FAILs its row."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from imapclient import IMAPClient

from mailbot import cli
from mailbot.config import DEFAULT_TEMPLATES, Config, load_config
from mailbot.doctor import Check, check_database, check_storage, check_templates, run_checks
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.ports import free_port
from mailbot.servers.smtp_capture import SmtpCapture
from tests.conftest import IMAP_PASSWORD, write_desk_config

QUEUES = {"mesadeayuda": ("mesadeayuda@example.com", "Mesa de ayuda"),
          "clavesegura": ("soporte.clavesegura@example.com", "Soporte Clave Segura")}


@pytest.fixture
def config_path(tmp_path: Path, dovecot: PrivateDovecot, sink: SmtpCapture) -> Path:
    path, _ = write_desk_config(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}", dovecot, sink, QUEUES)
    assert cli.main(["--config", str(path), "db", "upgrade"]) == 0
    return path


def rows(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def folders(dovecot: PrivateDovecot, user: str) -> set[str]:
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
        client.login(user, IMAP_PASSWORD)
        return {name for _, _, name in client.list_folders()}


def test_a_working_desk_is_all_ok_and_doctor_creates_no_folder(config_path: Path, dovecot: PrivateDovecot,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(config_path)

    code = cli.main(["doctor", "--config", str(config_path)])

    table = capsys.readouterr().out
    assert code == 0, table
    assert [line.split()[0] for line in table.splitlines()[1:]] == [
        "config", "database", "imap", "imap", "smtp", "templates", "storage", "database"]
    assert "FAIL" not in table
    found = rows(run_checks(config))
    imap = found["imap mesadeayuda"].detail
    assert "login ok" in imap and "IDLE yes" in imap and "MOVE yes" in imap
    assert "'Procesados' missing (mailbot run creates it)" in imap
    assert folders(dovecot, config.queue("mesadeayuda").imap.username) == {"INBOX"}
    assert found["smtp"].detail.endswith("connected (no TLS); no login configured")
    assert "schema at revision" in found["database"].detail


def test_a_wrong_imap_password_fails_that_row_with_the_server_words(config_path: Path) -> None:
    config = load_config(config_path)
    wrong = replace(config.queues[0], imap=replace(config.queues[0].imap, password="not-the-password"))

    found = rows(run_checks(replace(config, queues=(wrong, config.queues[1]))))

    assert not found["imap mesadeayuda"].ok
    assert "login refused: [AUTHENTICATIONFAILED]" in found["imap mesadeayuda"].detail
    assert "b'" not in found["imap mesadeayuda"].detail
    assert [name for name, check in found.items() if not check.ok] == ["imap mesadeayuda"]


def test_a_missing_inbox_fails_that_row_and_nothing_is_created(config_path: Path, dovecot: PrivateDovecot) -> None:
    config = load_config(config_path)
    queue = config.queues[1]
    missing = replace(queue, imap=replace(queue.imap, inbox="Entrada"))

    found = rows(run_checks(replace(config, queues=(config.queues[0], missing))))

    assert not found["imap clavesegura"].ok
    assert found["imap clavesegura"].detail.endswith("no folder 'Entrada' to read ([queues.imap] inbox)")
    assert found["imap mesadeayuda"].ok
    assert folders(dovecot, queue.imap.username) == {"INBOX"}


def test_an_unreachable_smtp_server_fails_its_row(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path.write_text(config_path.read_text().replace(
        f'port = {load_config(config_path).smtp.port}\ntls = "none"\n', f'port = {free_port()}\ntls = "none"\n'))

    code = cli.main(["--config", str(config_path), "doctor", "--json"])

    found = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert code == 1
    assert not found["smtp"]["ok"] and "cannot connect" in found["smtp"]["detail"]
    assert "Connect call failed" in found["smtp"]["detail"] or "refused" in found["smtp"]["detail"]
    assert [name for name, row in found.items() if not row["ok"]] == ["smtp"]


def test_a_missing_sqlite_database_fails_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.db"

    check = check_database(f"sqlite:///{path}")

    assert not check.ok and f"no database at {path}" in check.detail and "mailbot db upgrade" in check.detail
    assert not path.exists()


def test_a_database_without_schema_fails_with_what_to_run(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()

    check = check_database(db_url)

    assert not check.ok and "run `mailbot db upgrade` first" in check.detail


def test_a_broken_template_fails_with_file_and_line(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    (templates / "en" / "ack.html.j2").write_text("<p>\n{% if case %}\n<b>{{ case.number }}</b>\n")
    (templates / "es" / "credentials.txt.j2").unlink()

    check = check_templates(templates, ["mesadeayuda"])

    assert not check.ok
    assert "credentials" in check.detail
    assert "en/ack.html.j2:" in check.detail and "endif" in check.detail
    assert check_templates(DEFAULT_TEMPLATES, ["mesadeayuda"]).ok


@pytest.mark.parametrize(("below", "min_free", "expected"), [
    ("", 1, "{root}: writable; "),
    ("not/yet", 1, "{root}/not/yet (not made yet; checked {root}): writable; "),
    ("a-file/storage", 1, "{root}/a-file/storage (not made yet; checked {root}/a-file): not writable: Not a directory"),
    ("", 1 << 62, "{root}: only "),
])
def test_storage_must_be_writable_with_room(config_path: Path, below: str, min_free: int, expected: str) -> None:
    root = config_path.parent / "storage"
    root.mkdir()
    (root / "a-file").write_text("not a folder")
    config: Config = replace(load_config(config_path), storage_path=root / below if below else root)

    storage = check_storage(config, min_free=min_free)[0]

    assert storage.detail.startswith(expected.format(root=root))
    assert storage.ok is expected.endswith("writable; ")
    assert [p.name for p in root.iterdir()] == ["a-file"]  # nothing made, and the probe file is gone
