"""compose's headers on the wire: the same bytes as the email package's default policy, RFC 2047 for non-ASCII
names and subjects, long subjects folded, hostile names kept to one header."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtplib.email import flatten_message

from mailbot.mail.compose import Envelope, compose
from mailbot.templates import Rendered

DATE = datetime(2026, 11, 25, 9, 15, tzinfo=UTC)
LONG_SUBJECT = "[CS0000001] " + " ".join(["No puedo firmar con el token en Adobe Acrobat"] * 4)
# A literal encoded word: what a double-encoded name or subject is once the inbound parser decoded it.
INJECTING = "=?utf-8?q?Marta=0D=0ABcc=3A_victim=40example=2Enet=0D=0A=0D=0AHola?="
NAMES = ["Marta Ruiz", "Marta Ruiz Ñandú", 'Ruiz, "Marta" <jefa@example.net>', "Marta\r\nBcc: victim@example.net",
         INJECTING, f"Marta {INJECTING} Ruiz,", "José 日本語 " * 12]
SPANISH = "[CS0000001] Contraseña: ¿cómo la cambio?"
SUBJECTS = ["[CS0000001] No puedo firmar", f"[CS0000001] {INJECTING} firmar", SPANISH, LONG_SUBJECT,
            "[CS0000001] " + "Contraseña vencida " * 8]


def envelope(name: str, recipient: str = "marta.ruiz@example.org") -> Envelope:
    return Envelope("Mesa de Ayuda Ñ", "soporte@example.com", recipient, "<abc.123@example.com>",
                    "<orig-1@example.org>", "<orig-0@example.org> <orig-1@example.org>", "CS0000001",
                    "soporte@example.com", name)


def wire(message: EmailMessage, utf8: bool = False) -> bytes:
    """The bytes aiosmtplib sends, with the random MIME boundary made constant."""
    return re.sub(rb"={15}\d+==", b"BOUNDARY", flatten_message(message, utf8=utf8))


def head(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def as_default_policy(message: EmailMessage) -> EmailMessage:
    """The same headers and parts set through email.policy.default, as compose built them before."""
    again = EmailMessage(policy=policy.default)
    for name, value in message.items():
        if not name.lower().startswith(("content-", "mime-")):
            again[name] = value
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    again.set_content(text.get_content())
    again.add_alternative(html.get_content(), subtype="html")
    return again


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_bytes_are_the_default_policys(name: str, subject: str) -> None:
    message = compose(envelope(name), Rendered(subject, "Hola,\n\nRecibimos su solicitud.\n", "<p>Hola</p>\n"), DATE)
    assert wire(message) == wire(as_default_policy(message))
    assert wire(message, utf8=True) == wire(as_default_policy(message), utf8=True)


def test_non_ascii_names_and_subjects_are_encoded_words_and_long_subjects_fold() -> None:
    message = compose(envelope("Marta Ruiz Ñandú"), Rendered(SPANISH, "Hola\n", None), DATE)
    data = head(wire(message))
    assert data.isascii()
    assert b"To: Marta Ruiz =?utf-8?q?=C3=91and=C3=BA?= <marta.ruiz@example.org>\r\n" in data
    assert b"From: Mesa de Ayuda =?utf-8?q?=C3=91?= <soporte@example.com>\r\n" in data
    assert b"Subject: [CS0000001] =?utf-8?b?Q29udHJhc2XDsWE6IMK/Y8OzbW8=?= la cambio?\r\n" in data

    folded = head(wire(compose(envelope("Marta"), Rendered(LONG_SUBJECT, "Hola\n", None), DATE)))
    assert all(len(line) <= 78 for line in folded.split(b"\r\n"))
    subject = re.search(rb"^Subject: .*?(?=\r\n\S)", folded, re.M | re.S)
    assert subject is not None and subject[0].count(b"\r\n ") >= 2
    assert subject[0].replace(b"\r\n", b"") == b"Subject: " + LONG_SUBJECT.encode()


@pytest.mark.parametrize("name", NAMES[2:6])
@pytest.mark.parametrize("utf8", [False, True])
def test_a_hostile_display_name_or_subject_adds_no_header_or_body_line(name: str, utf8: bool) -> None:
    subject = f"[CS0000001] {' '.join(name.split())}"  # a template's subject is one line
    message = compose(envelope(name), Rendered(subject, "Hola\n", None), DATE)
    lines = head(wire(message, utf8)).split(b"\r\n")
    assert not any(line.startswith((b"Bcc", b"Hola")) for line in lines)
    assert [line.split(b":")[0] for line in lines if not line.startswith(b" ")] == [
        b"From", b"To", b"Subject", b"Reply-To", b"Date", b"Message-ID", b"In-Reply-To", b"References",
        b"Auto-Submitted", b"X-Auto-Response-Suppress", b"X-Mailbot-Case", b"Content-Type",
        b"Content-Transfer-Encoding", b"MIME-Version"]
    to = message["To"].addresses[0]
    assert to.addr_spec == "marta.ruiz@example.org" and "\n" not in to.display_name


@pytest.mark.parametrize("utf8", [False, True])
def test_a_hostile_message_id_of_the_customer_adds_no_header_or_body_line(utf8: bool) -> None:
    hostile = "<a=?utf-8?q?=0D=0ABcc:_victim@example.net=0D=0A=0D=0AHola?=@example.org>"
    threading = dataclasses.replace(envelope("Marta"), in_reply_to=hostile, references=f"<b@example.org> {hostile}")
    message = compose(threading, Rendered("Hola", "Hola\n", None), DATE)
    lines = head(wire(message, utf8)).replace(b"\r\n ", b" ").split(b"\r\n")
    assert not any(line.startswith((b"Bcc", b"Hola")) for line in lines)
    assert b"References: <b@example.org>" in lines, "the hostile id is left out, the others kept"
    assert not any(line.startswith(b"In-Reply-To") for line in lines)


def test_for_an_smtputf8_server_a_non_ascii_address_and_name_are_written_as_utf8() -> None:
    message = compose(envelope("José", recipient="josé@example.org"), Rendered(SPANISH, "Hola\n", None), DATE)
    data = head(wire(message, utf8=True))
    assert "To: José <josé@example.org>\r\n".encode() in data
    assert f"Subject: {SPANISH}\r\n".encode() in data
