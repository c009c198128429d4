"""The README's first set-up command, as a user runs it (in-process: it starts its own Dovecot and SMTP capture)."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest

from mailbot import cli, demo


def test_the_demo_desk_processes_its_mails_prints_the_cases_and_stops(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "demo"

    assert demo.main(["--once", "--dir", str(root)]) == 0

    out = capsys.readouterr().out
    assert "CS0000005" in out and "Number" in out
    box = mailbox.mbox(root / "sent.mbox")
    try:
        recipients = [str(message["To"]) for message in box]
    finally:
        box.close()
    to_agents = [r for r in recipients if r.endswith(("andres.gomez@example.com", "laura.rios@example.com"))]
    assert len(recipients) - len(to_agents) == 8  # 5 acknowledgements, 3 credentials
    assert len(to_agents) == 7  # the agents are told of the 5 new cases and the 2 follow-ups
    assert cli.main(["--config", str(root / "mailbot.toml"), "cases", "list", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert {c["subject"] for c in cases} >= {"Renovación del certificado digital", "Error al ingresar al portal"}
    shown = cli.main(["--config", str(root / "mailbot.toml"), "cases", "show", "CS0000002", "--json"])
    assert shown == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert entries[-1]["subject"].startswith("RV: RE: caso CS0000002"), "the reply by number threads"


def test_the_demo_refuses_to_delete_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")

    assert demo.main(["--once", "--dir", str(tmp_path)]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
