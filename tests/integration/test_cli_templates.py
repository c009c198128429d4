"""`mailbot templates check|preview` as an admin runs them after an edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailbot.config import DEFAULT_TEMPLATES
from tests.conftest import DESK_ADDRESS, Desk
from tests.databases import sqlite_only
from tests.integration.test_first_path import CUSTOMER, FIRST


@pytest.fixture
def edited(desk: Desk, tmp_path: Path) -> Path:
    """The desk reads a copy of the templates, as an admin's /etc/mailbot/templates."""
    copy = tmp_path / "plantillas"
    shutil.copytree(DEFAULT_TEMPLATES, copy)
    desk.config_path.write_text(desk.config_path.read_text() + f'\n[templates]\npath = "{copy}"\n')
    return copy


@sqlite_only
def test_check_passes_then_names_the_file_and_line_of_an_unknown_variable(
    desk: Desk, edited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert desk.cli("templates", "check") == 0
    ack = edited / "es" / "ack.txt.j2"
    lines = ack.read_text().splitlines()
    lines.insert(3, "{{ caso.numero }}")
    ack.write_text("\n".join(lines) + "\n")
    capsys.readouterr()

    assert desk.cli("templates", "check") == 1
    assert f"{ack}:4:" in capsys.readouterr().out


@sqlite_only
def test_preview_prints_the_subject_and_a_queue_override_wins(
    desk: Desk, edited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    override = edited / "mesadeayuda" / "es"
    override.mkdir(parents=True)
    (override / "_signature.txt.j2").write_text("Firma propia de la mesa\n")
    capsys.readouterr()

    assert desk.cli("templates", "preview", "ack", "--queue", "mesadeayuda") == 0
    shown = capsys.readouterr().out
    assert shown.startswith("From: Mesa de ayuda <mesadeayuda@example.com>\nTo: Marta Ruiz <marta.ruiz@example.org>\n"
                            "Subject: [CS0000001] ") and "Firma propia de la mesa" in shown
    assert desk.cli("templates", "preview", "ack", "--queue", "clavesegura") == 0
    assert "Firma propia de la mesa" not in capsys.readouterr().out


@sqlite_only
def test_preview_renders_from_a_real_case_with_its_headers(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    capsys.readouterr()

    assert desk.cli("templates", "preview", "ack", "--case", "cs0000001") == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"From: Mesa de ayuda <{DESK_ADDRESS}>\nTo: Marta Ruiz <{CUSTOMER}>\n"
                            "Subject: [CS0000001] No puedo firmar con el token en Adobe\n\n")
    assert desk.cli("templates", "preview", "agent_notify", "--case", "CS0000001") == 0
    shown = capsys.readouterr().out
    assert "\nTo: (the desk's agents)\n" in shown and "el token no aparece en Adobe Reader" in shown
    assert "Marta Ruiz" in shown and "Adobe Reader con el token" not in shown, "the case's mail, not the sample's"


@sqlite_only
def test_preview_of_an_unknown_case_is_one_line_that_hints_at_the_format(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    assert desk.cli("templates", "preview", "ack", "--case", "1") == 1
    assert capsys.readouterr().err == "mailbot: no case 1 (did you mean CS0000001?)\n"
    assert desk.cli("templates", "preview", "ack", "--case", "CS0000009") == 1
    assert capsys.readouterr().err == "mailbot: no case CS0000009\n"
