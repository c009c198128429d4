"""The classify rules as a table: literal mail in, a named route and rule out."""

from __future__ import annotations

import pytest

from mailbot.mail.classify import Ours, Route, classify
from mailbot.mail.parse import parse_message

OURS = Ours("mailbot.example.com", frozenset({"mesadeayuda@example.com"}))


def mail(headers: str, sender: str = "ana@example.org", message_id: str = "<a1@example.org>") -> bytes:
    return (f"From: {sender}\nTo: mesadeayuda@example.com\nSubject: Hola\nMessage-ID: {message_id}\n"
            f"{headers}\nCuerpo.\n").encode()


@pytest.mark.parametrize(
    ("raw", "route", "rule"),
    [
        (mail(""), Route.CUSTOMER, "customer"),
        (mail("Auto-Submitted: no\n"), Route.CUSTOMER, "customer"),
        (mail("Auto-Submitted: auto-replied\n"), Route.AUTO_REPLY, "auto-submitted"),
        (mail("Auto-Submitted: auto-generated; owner-email=x@example.org\n"), Route.AUTO_REPLY, "auto-submitted"),
        (mail("Precedence: auto_reply\n"), Route.AUTO_REPLY, "precedence-auto-reply"),
        (mail("", sender="MAILER-DAEMON@example.org"), Route.AUTO_REPLY, "mailer-daemon"),
        (mail("", sender="postmaster@example.org"), Route.AUTO_REPLY, "mailer-daemon"),
        (mail("Return-Path: <>\n"), Route.AUTO_REPLY, "mailer-daemon"),
        (mail("MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n"
              "\n--b\nContent-Type: text/plain\n\nNo se pudo entregar.\n--b--"), Route.AUTO_REPLY, "delivery-report"),
        (mail("Precedence: bulk\n"), Route.BULK, "bulk-or-list"),
        (mail("Precedence: list\n"), Route.BULK, "bulk-or-list"),
        (mail("List-Id: <soporte.example.org>\n"), Route.BULK, "bulk-or-list"),
        (mail("X-Mailbot-Case: CS0000001\n"), Route.OWN_LOOP, "own-header"),
        (mail("", message_id="<0123456789abcdef0123456789abcdef@mailbot.example.com>"), Route.OWN_LOOP,
         "own-message-id"),
        (mail("", sender="Mesa <mesadeayuda@example.com>"), Route.OWN_LOOP, "own-address"),
        (b"To: mesadeayuda@example.com\nSubject: x\n\nSin remitente.\n", Route.NO_SENDER, "no-sender"),
    ],
    ids=["customer", "auto-submitted-no", "auto-replied", "auto-generated", "precedence-auto-reply",
         "mailer-daemon", "postmaster", "empty-return-path", "delivery-report", "bulk", "list", "list-id", "our-header",
         "our-message-id", "our-address", "no-sender"],
)
def test_each_rule_routes_its_mail(raw: bytes, route: Route, rule: str) -> None:
    decision = classify(parse_message(raw), OURS)
    assert (decision.route, decision.rule) == (route, rule)
    assert decision.reason


def test_a_colleague_whose_client_uses_our_domain_is_still_a_customer() -> None:
    colleague = mail("", sender="luis@example.com", message_id="<6f1c2d3e-aaaa-bbbb-cccc-0123@mailbot.example.com>")
    assert classify(parse_message(colleague), OURS).route is Route.CUSTOMER
