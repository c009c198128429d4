"""No password we mailed is readable at rest: not in the database, not in storage, after customers quote their
credentials mail (plainly or in an encoded part) and after a bounce that carries it (hostile-mail issue)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from mailbot.desk.models import Base, Contact, MailKind, Outbox
from tests.conftest import DESK_ADDRESS, Desk
from tests.integration.test_first_path import CUSTOMER, FIRST
from tests.databases import sqlite_only


def readable_anywhere(desk: Desk, secret: str) -> list[str]:
    """Where `secret` can be read: any file under storage, any column of any table."""
    found = [str(path) for path in Path(desk.config.storage_path).rglob("*")
             if path.is_file() and secret.encode() in path.read_bytes()]
    with desk.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                if any(secret in str(value) for value in row):
                    found.append(f"table {table.name}")
    return found


def credentials(desk: Desk) -> EmailMessage:
    return next(c.message for c in desk.sent_to(CUSTOMER) if "usuario ha sido creado" in str(c.message["Subject"]))


def quoting(message: EmailMessage, message_id: str, body: str, encoded: bool = False, sender: str = CUSTOMER) -> bytes:
    reply = EmailMessage()
    reply["From"], reply["To"] = sender, DESK_ADDRESS
    reply["Subject"], reply["Message-ID"] = f"RE: {message['Subject']}", message_id
    reply["In-Reply-To"] = reply["References"] = str(message["Message-ID"])
    if encoded:
        reply.set_content(body, cte="base64")
    else:
        reply.set_content(body)  # 8bit or quoted-printable: the password (letters and digits) stays literal
    return reply.as_bytes()


def quoted(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return "Gracias, ya entré.\n\n" + "\n".join(f"> {line}" for line in text.splitlines())


def test_a_reply_quoting_the_credentials_keeps_no_live_password(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    sent = credentials(desk)
    password = _password(sent)

    desk.deliver(quoting(sent, "<quote-1@transportes.example.org>", quoted(sent)))
    desk.run_once()

    assert readable_anywhere(desk, password) == []
    with desk.session() as session:
        contact = session.scalars(select(Contact).where(Contact.email == CUSTOMER)).one()
        assert contact.password_hash is not None, "a plain quote is redacted: the password keeps working"


@sqlite_only
def test_a_credentials_mail_quoted_by_someone_else_keeps_no_live_password_either(desk: Desk) -> None:
    """The customer forwarded it to a colleague, who writes in quoting it: the password is as live as in the
    customer's own reply, and a From proves nothing either way, so every sender's mail is checked."""
    desk.deliver(FIRST)
    desk.run_once()
    sent = credentials(desk)
    password = _password(sent)

    desk.deliver(quoting(sent, "<fwd-1@example.net>", quoted(sent), sender="colega@example.net"))
    desk.run_once()

    assert readable_anywhere(desk, password) == []


@sqlite_only
def test_a_password_quoted_in_an_encoded_part_is_withdrawn_and_a_new_one_mailed(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    sent = credentials(desk)
    password = _password(sent)

    desk.deliver(quoting(sent, "<quote-2@transportes.example.org>", quoted(sent), encoded=True))
    desk.run_once()

    assert readable_anywhere(desk, password) == []
    with desk.session() as session:
        resets = session.scalars(select(Outbox).where(Outbox.kind == MailKind.PASSWORD_RESET)).all()
        assert len(resets) == 1, "the withdrawn password is replaced by mail"
    mailed = [_password(c.message) for c in desk.sent_to(CUSTOMER) if "nueva contraseña" in str(c.message["Subject"])]
    assert mailed and mailed[0] != password


@sqlite_only
def test_a_bounce_of_the_credentials_mail_keeps_no_password(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    sent = credentials(desk)
    password = _password(sent)
    dsn = (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: {DESK_ADDRESS}\n"
           "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-cred@mx.example.org>\nMIME-Version: 1.0\n"
           'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n--b\n'
           "Content-Type: text/plain\n\nYour message could not be delivered.\n\n--b\n"
           "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
           f"Final-Recipient: rfc822; {CUSTOMER}\nAction: failed\nStatus: 5.1.1\n\n--b\n"
           f"Content-Type: message/rfc822\n\n{sent.as_string()}\n--b--\n")
    desk.deliver(dsn)
    desk.run_once()

    assert readable_anywhere(desk, password) == []


def _password(message: EmailMessage) -> str:
    """The temporary password: the line after "(en la línea siguiente):"."""
    lines = message.get_body(("plain",)).get_content().splitlines()  # type: ignore[union-attr]
    marker = next(i for i, line in enumerate(lines) if "en la línea siguiente" in line)
    return next(line.strip() for line in lines[marker + 1:] if line.strip())
