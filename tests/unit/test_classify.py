"""The classify rules as a table: literal mail in, a named route and rule out."""

from __future__ import annotations

from dataclasses import replace

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


# The widened loop guards and the agents' rules (issue 12).
SECRET = b"k" * 32
AGENT = "agente1@example.com"
AGENTS = Ours("mailbot.example.com", frozenset({"mesadeayuda@example.com"}), frozenset({AGENT}),
              "soporte-grupo@example.com", SECRET, ("mx.example.com",), agent_results=True)


def signed(agent: str = AGENT, case: str = "CS0000001") -> str:
    from mailbot.mail.message_ids import signed_message_id

    return signed_message_id("mailbot.example.com", case, agent, SECRET)


DSN = ("MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n"
       "Content-Type: text/plain\n\nNo se pudo entregar.\n\n--b\nContent-Type: message/delivery-status\n\n"
       "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; ana@example.org\nAction: failed\n"
       "Status: 5.1.1\n\n--b--")


@pytest.mark.parametrize(
    ("raw", "route", "rule"),
    [
        (mail(DSN, sender="MAILER-DAEMON@example.org"), Route.BOUNCE, "bounce"),
        (mail("X-Autoreply: yes\n"), Route.AUTO_REPLY, "autoresponder"),
        (mail("X-Autorespond: vacation\n"), Route.AUTO_REPLY, "autoresponder"),
        (mail("", sender="bounces+ana=example.org@lists.example.net"), Route.AUTO_REPLY, "mailer-daemon"),
        (mail("").replace(b"Subject: Hola", b"Subject: Respuesta autom\xc3\xa1tica: Hola"), Route.AUTO_REPLY,
         "out-of-office"),
        (mail("").replace(b"Subject: Hola", b"Subject: Fuera de la oficina"), Route.AUTO_REPLY, "out-of-office"),
        (mail("").replace(b"Subject: Hola", b"Subject: Out of Office: Hola"), Route.AUTO_REPLY, "out-of-office"),
        (mail("").replace(b"Subject: Hola", b"Subject: Automatic reply: Hola"), Route.AUTO_REPLY, "out-of-office"),
        (mail("").replace(b"Subject: Hola", b"Subject: Auto: Hola"), Route.AUTO_REPLY, "out-of-office"),
        (mail("").replace(b"Subject: Hola", b"Subject: Auto nuevo sin seguro"), Route.CUSTOMER, "customer"),
        (mail("List-Unsubscribe: <mailto:salir@example.org>\n"), Route.BULK, "bulk-or-list"),
        (mail("X-Auto-Response-Suppress: All\n"), Route.BULK, "no-answer-wanted"),
        (mail("", sender="noreply@example.org"), Route.BULK, "no-answer-wanted"),
        (mail("", sender="no-reply@example.org"), Route.BULK, "no-answer-wanted"),
        (mail("", sender="donotreply@example.org"), Route.BULK, "no-answer-wanted"),
        (mail(f"In-Reply-To: {signed()}\n", sender=AGENT), Route.AGENT, "agent"),
        (mail(f"References: <x@example.org> {signed('soporte-grupo@example.com')}\n", sender=AGENT), Route.AGENT,
         "agent"),
        (mail(f"Authentication-Results: mx.example.com; dkim=pass header.d=example.com header.i={AGENT}\n",
              sender=AGENT), Route.AGENT, "agent"),
        (mail("Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=agente1@example.com\n",
              sender=AGENT), Route.AGENT, "agent"),
        (mail("", sender=AGENT), Route.AGENT_UNVERIFIED, "agent-unverified"),
        (mail(f"In-Reply-To: {signed('agente2@example.com')}\n", sender=AGENT), Route.AGENT_UNVERIFIED,
         "agent-unverified"),
        (mail(f"Authentication-Results: mx.example.net; dkim=pass header.i={AGENT}\n", sender=AGENT),
         Route.AGENT_UNVERIFIED, "agent-unverified"),
        (mail("Authentication-Results: mx.example.com; dkim=pass header.d=example.com\n", sender=AGENT),
         Route.AGENT_UNVERIFIED, "agent-unverified"),
        (mail("Authentication-Results: mx.example.com; dkim=pass header.d=example.net\n", sender=AGENT),
         Route.AGENT_UNVERIFIED, "agent-unverified"),
        (mail("Auto-Submitted: auto-replied\n", sender=AGENT), Route.AUTO_REPLY, "auto-submitted"),
        (mail(f"In-Reply-To: {signed()}\n", sender="ana@example.org"), Route.CUSTOMER, "customer"),
    ],
    ids=["dsn", "x-autoreply", "x-autorespond", "verp-bounces", "ooo-es", "ooo-es-bare", "ooo-en", "ooo-outlook",
         "ooo-auto-colon", "a-car-is-not-ooo", "list-unsubscribe", "x-auto-response-suppress", "noreply",
         "no-reply", "donotreply", "agent-signed", "agent-signed-for-the-group", "agent-dkim", "agent-spf",
         "agent-no-proof", "agent-another-agents-reference", "agent-untrusted-authserv", "agent-dkim-domain-only",
         "agent-dkim-other-domain",
         "agents-out-of-office", "customer-quoting-a-signed-id"],
)
def test_loop_guards_and_agents(raw: bytes, route: Route, rule: str) -> None:
    decision = classify(parse_message(raw), AGENTS)
    assert (decision.route, decision.rule) == (route, rule)


def test_a_signed_reference_names_the_case_it_proves() -> None:
    decision = classify(parse_message(mail(f"In-Reply-To: {signed(case='CS0000042')}\n", sender=AGENT)), AGENTS)
    assert decision.case_number == "CS0000042"


def test_an_authentication_result_proves_no_agent_unless_the_agents_server_binds_the_sender() -> None:
    """SPF and DKIM vouch for a domain's servers; they name the person only where those servers refuse any MAIL FROM
    and DKIM identity but the logged-in user's ([desk] agents_server_binds_sender)."""
    proved = parse_message(mail(f"Authentication-Results: mx.example.com; spf=pass smtp.mailfrom={AGENT}\n",
                                sender=AGENT))
    unbound = replace(AGENTS, agent_results=False)
    assert classify(proved, AGENTS).route is Route.AGENT
    assert classify(proved, unbound).route is Route.AGENT_UNVERIFIED
    assert classify(parse_message(mail(f"In-Reply-To: {signed()}\n", sender=AGENT)), unbound).route is Route.AGENT
