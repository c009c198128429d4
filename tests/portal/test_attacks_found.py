"""Attacks on the portal by someone who can only send mail to the desk, found by an attack run: each test failed
against the code of its day and asserts what the desk does instead."""

from __future__ import annotations

import base64

from sqlalchemy import select

from mailbot.desk.models import Case, EntryKind
from tests.portal.conftest import CUSTOMER, Portal, mail

ATTACKER = "mallory@evil.example.net"


def test_a_case_subject_cannot_inject_headers_into_the_customers_portal_reply(portal: Portal) -> None:
    """A forged mail "from" Marta whose Subject is an encoded word that decodes to another encoded word opens a
    case in her portal whose subject holds a literal "=?utf-8?q?…=0D=0A…?=". submissions._as_mail writes
    "[CS…] {case.subject}" into the Subject of the mail it builds for her portal reply without compose.inert, and
    the email package decodes that word when it folds the header: its CR/LF become a Cc line, a blank line and a
    body the attacker wrote, ahead of what Marta typed. Her authenticated reply then carries the attacker's words
    under her name, loses its Message-ID, and copies the attacker onto the case."""
    inner = ("=?utf-8?q?Factura=0D=0ACc:_mallory@evil.example.net=0D=0A=0D=0A"
             "Autorizo_el_pago_a_la_cuenta_4471.=0D=0A?=")
    subject = "=?utf-8?b?" + base64.b64encode(inner.encode()).decode() + "?="
    portal.desk.deliver(mail(CUSTOMER, subject, "Adjunto la factura."))
    portal.desk.run_once()
    with portal.desk.session() as session:
        number = session.scalars(select(Case.number).order_by(Case.id.desc())).first()

    sent = portal.logged_in(CUSTOMER).post(f"/cases/{number}/reply", {"text": "Revisado."})
    assert sent.status_code == 303, sent.text

    with portal.desk.session() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        reply = [e for e in case.entries if e.kind is EntryKind.CUSTOMER][-1]
        participants = [p.email for p in case.participants]
        text, message_id = reply.text, reply.message_id
    assert text.strip() == "Revisado.", text
    assert message_id is not None
    assert ATTACKER not in participants
