"""The README's first set-up command, as a user runs it (in-process: it starts its own Dovecot and SMTP capture)."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
from email.message import EmailMessage
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
        sent = [email.message_from_bytes(message.as_bytes(), policy=email.policy.default) for message in box]
    finally:
        box.close()
    recipients = [str(message["To"]) for message in sent]
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
    assert cli.main(["--config", str(root / "mailbot.toml"), "cases", "show", "CS0000001", "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)["entries"][-1]
    assert reply["text"].startswith("Adjunto una captura") and [a["filename"] for a in reply["attachments"]] == [
        "captura-error.png"], "the reply carries the attachment it mentions"


def test_the_scripted_reply_quotes_the_acknowledgement_as_it_was_sent() -> None:
    ack = EmailMessage()
    ack["From"], ack["To"] = "Mesa de ayuda <mesadeayuda@example.com>", "marta.ruiz@transportes.example.org"
    ack["Subject"], ack["Date"] = "[CS0000001] No puedo firmar en Adobe Reader", "Tue, 24 Nov 2026 10:00:00 -0500"
    ack["Message-ID"] = "<ack@mailbot.example.com>"
    ack.set_content("Recibimos su solicitud y la registramos con el número de caso CS0000001.\n\nHorario: 7 a 19.\n")
    invoice = EmailMessage()
    invoice["To"], invoice["Subject"] = "andres.gomez@austral.example.org", "[CS0000002] Solicitud de factura"

    (queue, raw), _ = demo.replies([ack, invoice])

    reply = email.message_from_bytes(raw, policy=email.policy.default)
    text = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Mesa de ayuda escribió:\n> Recibimos su solicitud y la registramos con el número de caso CS0000001.\n>\n" \
           "> Horario: 7 a 19.\n" in text
    assert [part.get_filename() for part in reply.iter_attachments()] == ["captura-error.png"]


def test_the_demo_refuses_to_delete_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")

    assert demo.main(["--once", "--dir", str(tmp_path)]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
