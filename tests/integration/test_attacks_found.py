"""Attacks by someone who can only send mail to the desk, found by an attack run: each test failed against the
code of its day and asserts what the desk does instead. The docstrings tell the attack as it worked then."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from mailbot.desk import password_hashes
from mailbot.desk.models import Case, Contact, Outcome, State
from tests.conftest import DESK_ADDRESS, Desk
from tests.databases import sqlite_only
from tests.integration.test_agents import AGENT, agents_desk, notification, reply_of  # noqa: F401 (a fixture)
from tests.integration.test_first_path import CUSTOMER, FIRST, mail

ATTACKER = "mallory@evil.example.net"


def the_case(desk: Desk, number: str = "CS0000001") -> Case:
    with desk.session() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        _ = case.contact, case.entries, case.participants
        return case


# 1. One forged bounce blocks a whole mailbox, for every customer, forever ----------------------------------------

def dsn_naming(ids: list[str]) -> str:
    """A forged delivery report whose returned headers carry `ids` in one (folded) Message-ID field."""
    folded = "\n ".join(" ".join(ids[i:i + 200]) for i in range(0, len(ids), 200))
    return f"""\
From: Mail Delivery System <MAILER-DAEMON@evil.example.net>
To: {DESK_ADDRESS}
Subject: Undelivered Mail Returned to Sender
Message-ID: <poison-dsn@evil.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Your message could not be delivered.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.evil.example.net

Final-Recipient: rfc822; {ATTACKER}
Action: failed
Status: 5.1.1

--b
Content-Type: text/rfc822-headers

From: {DESK_ADDRESS}
Message-ID: {folded}

--b--
"""


def test_a_forged_bounce_naming_many_message_ids_does_not_block_the_mailbox(desk: Desk) -> None:
    """~2.6 MB of "<n@x>" ids in the returned headers: bounce.match puts them all in one IN (…), past SQLite's
    250,000 and PostgreSQL's 65,535 bind parameters. The OperationalError counts as an outage, so the batch rolls
    back and stays in the inbox; it fails the same way on every pass, and the customer's mail behind it waits
    forever. The report should be ignored (or quarantined) and the customer's case opened."""
    desk.deliver(dsn_naming([f"<{n}@x>" for n in range(260_000)]))
    desk.deliver(FIRST)

    report = desk.run_once()

    assert report.unavailable == [], report.unavailable
    assert report.verdicts[0].outcome in (Outcome.IGNORED, Outcome.QUARANTINE), report.verdicts[0]
    assert Outcome.NEW_CASE in [v.outcome for v in report.verdicts]
    assert desk.folder("INBOX") == []


# 2. One mail of quoted "On … wrote:" lines holds the intake (and SQLite's write lock) for minutes ------------------

@sqlite_only
def test_a_body_of_attribution_lines_costs_no_more_than_a_plain_body_of_its_size(desk: Desk) -> None:
    """quotes._attribution_end copies `lines[end:]` for every line that reads like an attribution, so strip_reply
    is quadratic: 64k lines "On a wrote:" (770 kB) take seconds, 1.5 MB ~18 s, a 20 MB mail over an hour. It runs
    inside the intake's batch transaction, i.e. under SQLite's BEGIN IMMEDIATE write lock, so the other mailboxes,
    the outbox's sent marks and the portal's writes wait too. Stripping should be linear in the text."""
    lines = 64_000
    desk.deliver(mail("<plain@evil.example.net>", "Texto largo", "Hola mundo.\n" * lines, sender=ATTACKER))
    started = time.perf_counter()
    desk.run_once()
    plain = time.perf_counter() - started

    desk.deliver(mail("<quoted@evil.example.net>", "Texto citado", "On a wrote:\n" * lines, sender=ATTACKER))
    started = time.perf_counter()
    desk.run_once()
    hostile = time.perf_counter() - started

    assert hostile < 3 * plain + 1.0, f"plain body {plain:.1f} s, attribution lines {hostile:.1f} s"


# 3. A forged colleague (or contact) puts the attacker on another customer's case ---------------------------------

@pytest.mark.parametrize("forged", ["nadie@transportes.example.org", CUSTOMER])
@sqlite_only
def test_a_forged_sender_cannot_copy_a_stranger_onto_a_case_and_read_the_agents_answers(agents_desk: Desk,
                                                                                         forged: str) -> None:
    """From: any address of a configured account (or the contact's own), a case number in the subject (numbers are
    sequential), Cc: the attacker. Nothing checks that the From is genuine, yet follow_up.add makes every Cc'd
    address a participant, and participants get every agent reply (and may add to the case from then on). An
    unauthenticated mail should be recorded, but its Cc must not widen who reads the case."""
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    desk.deliver(mail("<forged-1@evil.example.net>", "RE: [CS0000001] No puedo firmar", "Copio a mi asesor.",
                      sender=forged, extra=f"Cc: {ATTACKER}\n"))
    desk.run_once()
    told = notification(desk)
    desk.sink.clear()

    desk.deliver(reply_of(AGENT, told, "Marta: su número de contrato es 4471-22, la clave temporal va aparte.",
                          "<r1@example.com>"))
    desk.run_once()

    assert ATTACKER not in [p.email for p in the_case(desk).participants]
    assert desk.sent_to(ATTACKER) == [], "the agent's answer to Marta went to the attacker"


# 4. Domain-level SPF evidence is taken as proof that a mail comes from one agent ---------------------------------

@pytest.mark.parametrize("results", [
    # SPF passed for a colleague's envelope sender: it proves example.com's servers sent it, not which person.
    "mx.example.com; spf=pass smtp.mailfrom=juan.perez@example.com; dkim=none",
    # SPF passed for the attacker's own domain; header.from only says what the From header claimed.
    "mx.example.com; spf=pass smtp.mailfrom=bounces@evil.example.net header.from=example.com; dkim=none",
], ids=["spf-of-another-mailbox", "spf-clause-header-from"])
@sqlite_only
def test_an_spf_pass_that_is_not_the_agents_own_does_not_prove_the_agent(agents_desk: Desk, results: str) -> None:
    """classify.agent_proof accepts any trusted spf=pass whose smtp.mailfrom *or header.from* has the agent's
    domain. A non-agent with a mailbox at the agents' domain (the desk's own domain here), or any sender when the
    MTA writes header.from in its SPF clause, then runs commands and mails the customer as the desk."""
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    desk.sink.clear()
    desk.deliver(mail("<imp@example.com>", "RE: [CS0000001] No puedo firmar",
                      "#estado cerrado\nSu caso quedó cerrado. Para reactivarlo confirme su clave en "
                      "http://portal.evil.example.net", sender=AGENT, extra=f"Authentication-Results: {results}\n"))

    report = desk.run_once()

    assert report.verdicts[0].rule == "agent-unverified", report.verdicts[0]
    assert desk.sent_to(CUSTOMER) == []
    assert the_case(desk).state is State.NEW


# 5. The desk mails a third party without end -----------------------------------------------------------------------

def mailbox_of(address: str) -> str:
    """The mailbox a server delivers an address to: sub-address, quotes and a root dot make no other mailbox."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.strip(chr(34)).partition('+')[0]}@{domain.rstrip('.')}"


@sqlite_only
def test_forged_senders_spelled_differently_do_not_escape_the_rate_limit(agents_desk: Desk) -> None:
    """[limits] auto_replies_per_hour = 5 counts per literal address: victim+1@…, victim+2@… are one mailbox but
    separate counters, and each new spelling is a new contact that also gets a credentials mail. So forged mail makes the desk send its victim (with the desk's SPF/DKIM, and the attacker's
    subject in it) as much as the attacker likes."""
    desk = agents_desk
    spellings = [f"victim+{n}@example.org" for n in range(8)]
    for n, sender in enumerate(spellings):
        desk.deliver(mail(f"<bs-{n}@evil.example.net>", "Gane 1.000 USD en http://evil.example.net", "x",
                          sender=sender))

    desk.run_once()

    to_victim = [c for c in desk.sink.captured if any(mailbox_of(r) == "victim@example.org" for r in c.rcpt_tos)]
    assert len(to_victim) <= 5, f"{len(to_victim)} automatic mails to one mailbox in one hour"


@sqlite_only
def test_one_agent_reply_never_mails_more_people_than_one_mail_may_copy(agents_desk: Desk) -> None:
    """Every follow-up adds up to 100 Cc'd addresses as participants, without limit over the case, and agent
    replies to participants are not rate-limited (automatic=False). Three mails of 100 Cc each make the agent's
    one answer go to 301 third parties, each with the attacker's subject."""
    desk = agents_desk
    def cc(batch: int) -> str:
        return "Cc: " + ", ".join(f"v{batch}-{n}@victims.example.org" for n in range(100)) + "\n"
    desk.deliver(mail("<spam-0@evil.example.net>", "Oferta http://evil.example.net", "Hola.", sender=ATTACKER,
                      extra=cc(0)))
    desk.run_once()
    for batch in (1, 2):
        desk.deliver(mail(f"<spam-{batch}@evil.example.net>", "RE: [CS0000001] Oferta", "Más.", sender=ATTACKER,
                          extra=cc(batch)))
    desk.run_once()
    told = notification(desk)
    desk.sink.clear()

    desk.deliver(reply_of(AGENT, told, "Esto no es un caso de soporte.", "<r-spam@example.com>"))
    desk.run_once()

    recipients = {r for c in desk.sink.captured for r in c.rcpt_tos}
    assert len(recipients) <= 101, f"one agent reply went to {len(recipients)} addresses"


# 6. A stranger's mail makes the intake check page-fulls of candidates with argon2 ---------------------------------

@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    real = password_hashes.ARGON2

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def verify(self, hash_: str, password: str) -> bool:
            calls.append(password)
            return real.verify(hash_, password)

    monkeypatch.setattr(password_hashes, "ARGON2", Counting())
    yield calls


@sqlite_only
def test_a_strangers_mail_quoting_a_credentials_id_costs_no_argon2(agents_desk: Desk, argon2_calls: list[str]) -> None:
    """redaction.redact_quoted_password runs for any mail that names a password mail's Message-ID, whoever sends it,
    and checks up to 8 password-shaped tokens against every hash of that contact, argon2 ones included (~27 ms
    each here). Once the customer has chosen a password (argon2), each attacker mail naming the credentials mail
    costs 8 argon2 verifications under the intake's write lock: a batch of 100 such mails holds it ~20 s. A
    chosen password was never in a mail of ours, so only the temporary (keyed-hash) ones need checking (for any
    sender's mail: a forwarded credentials mail is as live; test_secrets_at_rest)."""
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    credentials, _ = desk.first_mails(CUSTOMER)
    with desk.session() as session:
        contact = session.scalars(select(Contact).where(Contact.email == CUSTOMER)).one()
        contact.password_hash = password_hashes.hash_chosen("caballo correcto batería grapa")
        contact.must_change_password = False
        session.commit()
    tokens = " ".join(f"Abcdefghijk{n}mnpq"[:16] for n in range(2, 10))
    for n in range(5):
        desk.deliver(mail(f"<cpu-{n}@evil.example.net>", "RE: su usuario", tokens, sender=ATTACKER,
                          extra=f"In-Reply-To: {credentials.message['Message-ID']}\n"))

    desk.run_once()

    assert argon2_calls == [], f"{len(argon2_calls)} argon2 verifications for 5 mails of a stranger"
