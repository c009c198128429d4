"""The command line as operators use it: --version, --config after the command, help, and JSON logs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailbot import cli
from tests.conftest import Desk
from tests.integration.test_cli import mailbot
from tests.integration.test_first_path import FIRST
from tests.unit.test_config import MINIMAL
from tests.databases import sqlite_only

COMMANDS = [["run"], ["cases", "list"], ["cases", "show"], ["outbox", "list"], ["db", "upgrade"], ["doctor"]]


def test_version_is_printed() -> None:
    shown = mailbot("--version")
    assert shown.returncode == 0 and re.fullmatch(r"mailbot \S+\n", shown.stdout)


@sqlite_only
def test_config_and_verbose_may_follow_the_command(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(desk.config_path)

    assert cli.main(["cases", "list", "--config", config]) == 0
    assert cli.main(["outbox", "list", "--json", "--config", config, "-v"]) == 0
    assert cli.main(["--config", "/nonexistent/mailbot.toml", "db", "upgrade", "--config", config]) == 0
    assert cli.main(["--config", config, "-v", "cases", "list"]) == 0, "before the command, as always"
    assert capsys.readouterr().out.splitlines()[:2] == ["(nothing)", "[]"]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main([*command, "--help"])
    shown = capsys.readouterr().out
    assert exit.value.code == 0
    assert "--config CONFIG" in shown and "usage: mailbot " + " ".join(command) in shown


def every_command() -> list[list[str]]:
    """`mailbot run`, `mailbot cases list`, …: every command and command group, as typed."""
    return [parser.prog.split()[1:] for parser in cli._commands(cli._parser())]


@pytest.mark.parametrize("command", every_command(), ids=" ".join)
def test_every_commands_help_shows_an_example_in_english(command: list[str],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main([*command, "--help"])
    shown = capsys.readouterr().out
    assert exit.value.code == 0
    assert re.search(rf"^examples:\n(  .*\n)*  mailbot (--config \S+ )?{' '.join(command)}\b", shown, re.M), shown
    assert not re.search("[áéíóúñ¿¡]", shown), "help is in one language: English"


def test_the_main_help_gives_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    shown = capsys.readouterr().out
    assert "examples:\n  mailbot --config /etc/mailbot/mailbot.toml doctor" in shown
    assert "exit status: 0 success; 1 an expected failure" in shown and "2 a configuration or usage error" in shown


@sqlite_only
def test_json_logs_are_one_object_per_line_without_secrets(desk: Desk) -> None:
    password = (desk.config_path.parent / "imap.password").read_text().strip()
    desk.config_path.write_text(desk.config_path.read_text() + '\n[logging]\nformat = "json"\nlevel = "debug"\n')
    desk.deliver(FIRST)

    ran = mailbot("run", "--once", "--config", str(desk.config_path))

    assert ran.returncode == 0, ran.stderr
    entries = [json.loads(line) for line in ran.stderr.splitlines()]
    assert {"ts", "level", "logger", "msg"} <= set(entries[0])
    assert any(e["msg"].startswith("outbox row") and e["level"] == "INFO" for e in entries)
    assert any(e["level"] == "DEBUG" for e in entries)
    assert password not in ran.stderr and "Buenos días" not in ran.stderr


def test_a_wrong_logging_key_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "mailbot.toml").write_text(MINIMAL + '\n[logging]\nformat = "yaml"\n')
    shown = mailbot("cases", "list", "--config", str(tmp_path / "mailbot.toml"))
    assert shown.returncode == 2
    assert shown.stderr == (f"mailbot: configuration error: {tmp_path / 'mailbot.toml'}: [logging] format: "
                            "expected \"text\" or \"json\", got 'yaml'\n")
