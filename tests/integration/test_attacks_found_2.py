"""Attacks by someone who can only send mail to the desk (and use the portal with what it mails them), found by a
second attack run, against the fixes of the first one (test_attacks_found.py) and the code new since: each test
fails against the code of its day and asserts what the desk should do instead. The docstrings tell the attack."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import select

from mailbot.desk.models import Case, Escalation, EscalationKind, Outbox, OutboxStatus, State, utcnow
from tests.conftest import DESK_ADDRESS, Desk
from tests.databases import sqlite_only
from tests.integration.test_agents import AGENT, agents_desk, notification, reply_of  # noqa: F401 (a fixture)
from tests.integration.test_first_path import CUSTOMER, FIRST, mail

ATTACKER = "mallory@evil.example.net"
ADVISER = "asesor@consultora.example.net"  # someone an agent copies on a reply: a participant from then on
ROOT = Path(__file__).resolve().parents[2]


def the_case(desk: Desk, number: str = "CS0000001") -> Case:
    with desk.session() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        _ = case.contact, case.entries, case.participants, case.escalations
        return case


def default_agent_proof(desk: Desk) -> Desk:
    """agents_desk as shipped: only a signed notification reference proves an agent."""
    text = desk.config_path.read_text()
    text = text.replace("agents_server_binds_sender = true", "agents_server_binds_sender = false")
    desk.config_path.write_text(text)
    return desk


# 1. Whoever an agent copies holds a bearer token that makes them that agent on the case, for good ---------------

@sqlite_only
def test_a_person_an_agent_copied_cannot_replay_the_signed_reference_and_act_as_the_agent(agents_desk: Desk) -> None:
    """An agent adds someone to a case the documented way: by copying them on a reply to the notification. Their
    mail client sends that reply to the desk *and* to the person copied, In-Reply-To/References the notification's
    signed Message-ID. agent_proof accepts that id for ever, from any mail whose From is the agent (a From proves
    nothing), and for any later mail: the person copied (a participant, a vendor, or an attacker who talked the
    agent into copying them) now writes "From: the agent" with that In-Reply-To and runs the case as the agent:
    closes it, mails the customer and every participant the desk's answer in the attacker's words, and copies
    anyone onto the case past [limits] participants_per_case. A reference an outsider has seen (the agent's mail
    had recipients outside the desk) must no longer prove the agent."""
    desk = default_agent_proof(agents_desk)
    desk.deliver(FIRST)
    desk.run_once()
    told = notification(desk)
    agents_mail = reply_of(AGENT, told, "Marta: copio a su asesor, que revisará el certificado con usted.",
                           "<r1@example.com>", extra=f"Cc: {ADVISER}\n")
    desk.deliver(agents_mail)  # the desk's copy; the adviser's copy of the same bytes is in their inbox
    desk.run_once()
    assert ADVISER in [p.email for p in the_case(desk).participants]
    desk.sink.clear()

    signed = told["Message-ID"]
    desk.deliver(mail("<forged-agent@evil.example.net>", f"RE: {told['Subject']}",
                      "Marta: por seguridad confirme su clave del token en http://token.evil.example.net hoy.",
                      sender=AGENT, extra=f"In-Reply-To: {signed}\nReferences: {signed}\nCc: {ATTACKER}\n"))
    report = desk.run_once()

    assert report.verdicts[0].rule == "agent-unverified", report.verdicts[0]
    assert desk.sent_to(CUSTOMER) == [], "the adviser's words went to Marta as the desk's answer"
    assert ATTACKER not in [p.email for p in the_case(desk).participants]


# 2. One mailbox, many spellings the per-mailbox rate limit does not know ------------------------------------------

@sqlite_only
def test_internationalised_spellings_of_one_mailbox_share_its_rate_limit(agents_desk: Desk) -> None:
    """delivery_mailbox folds case, quotes, a +tag and a root dot, but not the domain's other spellings: the A-label
    and U-label of an IDN domain (xn--bcher-kva.example is bücher.example), or full-width letters and the
    ideographic full stop, which IDNA mapping (UTS #46, what a relay applies before DNS) turns back into the ASCII
    domain. Each spelling is a new contact with its own counter and its own credentials mail, so forged mail makes
    the desk send the victim two mails per spelling, with the attacker's subject, without end. Every spelling that
    delivers to one mailbox should count towards that mailbox's [limits] auto_replies_per_hour (here 5)."""
    desk = agents_desk
    spellings = ["victim@example.org", "victim@\uff45xample.org", "victim@e\uff58ample.org",
                 "victim@ex\uff41mple.org", "victim@exa\uff4dple.org", "victim@example\u3002org",
                 "victim@bücher.example", "victim@xn--bcher-kva.example", "victim@b\uff55cher.example"]
    for n, sender in enumerate(spellings):
        desk.deliver(mail(f"<idn-{n}@evil.example.net>", "Gane 1.000 USD en http://evil.example.net", "x",
                          sender=sender))

    desk.run_once()

    def mailbox(address: str) -> str:
        local, _, domain = address.rpartition("@")
        return f"{local}@{domain.encode('idna').decode('ascii').lower()}"  # what DNS resolves: IDNA-mapped
    with desk.session() as session:
        queued = [mailbox(r) for r in session.scalars(select(Outbox.recipient).where(
            Outbox.status != OutboxStatus.SUPPRESSED))]
    assert queued.count("victim@example.org") <= 5, f"{queued.count('victim@example.org')} mails to one mailbox"
    assert queued.count("victim@xn--bcher-kva.example") <= 5, \
        f"{queued.count('victim@xn--bcher-kva.example')} mails to one mailbox"


# 3. Anyone rates anyone's closed case by mail ----------------------------------------------------------------------

@sqlite_only
def test_a_forged_reply_does_not_rate_another_customers_closed_case(agents_desk: Desk) -> None:
    """The survey's portal links are HMAC-signed so that nobody but the customer can rate a case, yet by mail any
    "From: the contact" (or any address of the contact's account) whose subject names the case number (numbers
    are sequential) and whose first line is "1" records the rating: new_case.open_after_closed calls
    survey.record_reply for every mail that threads onto the closed case, whether or not it answers the closing
    mail. A competitor or a disgruntled ex-employee rates every closed case 1, and the first answer stands, so
    the customer's real answer is then refused. A rating by mail should need what the link needs: a reply to the
    closing mail (its Message-ID went only to the contact), or an authenticated From."""
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    with desk.session() as session:  # what the escalation pass does to a resolved case left unanswered
        case = session.scalars(select(Case).where(Case.number == "CS0000001")).one()
        case.state = State.CLOSED
        session.add(Escalation(case_id=case.id, kind=EscalationKind.AUTO_CLOSE, level=0, due_at=utcnow(),
                               at=utcnow(), why="resolved, no answer", notified=[CUSTOMER]))
        session.commit()

    for n, forged in enumerate([CUSTOMER, "nadie@transportes.example.org"]):
        desk.deliver(mail(f"<rate-{n}@evil.example.net>", "RE: [CS0000001] No puedo firmar con el token en Adobe",
                          "1", sender=forged))
    report = desk.run_once()

    assert the_case(desk).rating is None, [v.reason for v in report.verdicts]


# 4. A replayed DKIM-signed mail with a Cc added puts a stranger on the victim's new case -------------------------

@sqlite_only
def test_a_dkim_pass_vouches_only_for_a_cc_the_signature_covers(agents_desk: Desk) -> None:
    """copies._authenticated takes an aligned DKIM pass (or DMARC, which passes on it) as proof that everyone the
    mail Cc's was copied by its sender. DKIM proves only the headers listed in the signature's h= tag, and a
    signer signs Cc only when there is one (Gmail, Microsoft): anyone holding one mail the victim sent them
    re-sends it to the desk with a Cc added and the signature still verifies. The new case is the victim's, and
    the attacker is on it and gets every agent answer about the victim. A Cc should count as the sender's only
    when the passing signature covers it (h= names cc, so an added Cc breaks it)."""
    desk = agents_desk
    victim = "laura.gomez@cliente.example.org"
    signature = ("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=cliente.example.org; s=s1;\n"
                 " h=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
                 " b=dGhpcyBzaWduYXR1cmUgY292ZXJzIG5vIENj\n")
    results = ("Authentication-Results: mx.example.com; dkim=pass header.d=cliente.example.org header.s=s1 "
               "header.b=dGhpcyBz; dmarc=pass header.from=cliente.example.org\n")
    desk.deliver(mail("<laura-to-mallory@cliente.example.org>", "Cotización de tokens", "Te envío lo hablado.",
                      sender=victim, to=ATTACKER, extra=f"{results}{signature}Cc: {ATTACKER}\n"))

    desk.run_once()

    case = the_case(desk)
    assert case.contact.email == victim
    assert ATTACKER not in [p.email for p in case.participants]


# 5. An agent of one queue, spoofed through another queue's address, is a customer nobody flags ---------------

KEY_AGENT = "agente3@example.com"  # an agent of clavesegura only


@sqlite_only
def test_a_spoofed_agent_of_another_queue_is_flagged_not_recorded_as_the_customers_mail(agents_desk: Desk) -> None:
    """classify knows only the agents of the queue whose mailbox the mail came to: "From: an agent of clavesegura"
    sent to mesadeayuda's address is Route.CUSTOMER, not AGENT_UNVERIFIED. threads.may_add then lets that agent
    add to any clavesegura case its subject names (an agent of the case's own queue), so follow_up.add records the
    forged mail as a customer entry on it, unflagged: the customer reads it in the portal as written by the desk's
    agent (a link to "confirm your password"), the agents get an ordinary follow-up, a case waiting on the customer
    goes back in progress, and on a closed case its "1" is the rating. A mail from any configured agent that proves
    nothing should be flagged as unverified, whichever desk address it was sent to."""
    desk = agents_desk
    text = desk.config_path.read_text()
    text = text.replace('name = "Soporte Clave Segura"\n',
                        f'name = "Soporte Clave Segura"\nagents = ["{KEY_AGENT}"]\n', 1)
    desk.config_path.write_text(text)
    desk.deliver(FIRST.replace(DESK_ADDRESS, "soporte.clavesegura@example.com"), queue="clavesegura")
    desk.run_once()
    assert the_case(desk).queue == "clavesegura"

    desk.deliver(mail("<spoof-key@evil.example.net>", "RE: [CS0000001] No puedo firmar con el token en Adobe",
                      "Marta: para renovar su token confirme su clave en http://token.evil.example.net",
                      sender=KEY_AGENT))
    report = desk.run_once()

    assert report.verdicts[0].rule == "agent-unverified", report.verdicts[0]
    assert [e.kind.value for e in the_case(desk).entries if e.author == KEY_AGENT] in ([], ["unverified"])


# 6. A quoted local part is quoted again on the way out: the desk's mail goes to another mailbox --------------

@sqlite_only
def test_the_desks_mail_to_an_address_with_a_quoted_local_part_goes_to_that_mailbox(agents_desk: Desk) -> None:
    """RFC 5322 lets a local part be a quoted string ("juan perez"@example.org), and addresses.addr_spec keeps it
    as written, quotes included, as the contact's address. compose.address hands that local part to the email
    package as a username, which quotes it a second time: the To header, and so the SMTP RCPT the sender derives
    from it, is "\\"juan perez\\""@example.org, another mailbox. The customer never gets the acknowledgement,
    the credentials or the agents' answers (they go to whoever that mailbox is, or bounce), while the rate limit
    counts them against "juan perez"@example.org (delivery_mailbox unquotes). The same double quoting in
    submissions._as_mail makes their portal reply come From another address: it opens a stranger's case and a
    new contact with its own credentials. A quoted local part should reach the mailbox it names."""
    desk = agents_desk
    customer = '"juan perez"@example.org'
    desk.deliver(mail("<quoted-1@example.org>", "No puedo firmar", sender=f"Juan <{customer}>"))

    desk.run_once()

    recipients = [r for c in desk.sink.captured for r in c.rcpt_tos]
    assert recipients.count(customer) == 2, recipients  # the credentials and the acknowledgement


# 7. Parse ahead: the worker's retirement hangs the pool, the intake waits, and the daemon cannot exit ------------

_RETIREMENT = textwrap.dedent("""
    import threading, time
    from mailbot.runners import parse_ahead
    from mailbot.mail.parse import ParseLimits
    from mailbot.mail.source import Batch, Fetched

    parse_ahead.RESULT_TIMEOUT = 10.0  # 300 in the daemon

    def batches(queue):
        for n in range(30):
            raw = (f"From: c{n}@example.org\\nTo: {queue}@example.com\\nSubject: s{n}\\n"
                   f"Message-ID: <{queue}-{n}@example.org>\\n\\nHola.\\n").encode()
            yield Batch(1, [Fetched(n + 1, raw)])

    if __name__ == "__main__":
        ahead = parse_ahead.ParseAhead()
        def intake(queue):  # one mailbox's runner in a backlog; the other mailbox's shares the worker
            for _batch, _parsed in ahead.batches(batches(queue), ParseLimits()):
                pass
        runners = [threading.Thread(target=intake, args=(q,)) for q in ("mesadeayuda", "soporte")]
        started = time.monotonic()
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        print(f"broken={ahead._broken} seconds={time.monotonic() - started:.1f}", flush=True)
        ahead.close()
""")


def test_a_retired_parse_worker_neither_stalls_two_mailboxes_in_a_backlog_nor_keeps_the_daemon_from_exiting(
        tmp_path: Path) -> None:
    """ParseAhead handed ProcessPoolExecutor max_tasks_per_child=200 to replace its worker (3 in this script when
    it failed; the worker is now never retired). On Python 3.11 (the
    desk's), a pool whose worker retires while another task is queued hangs (CPython gh-115634): two mailboxes in
    a backlog share the worker, so after two hundred batches one runner's batch waits the whole RESULT_TIMEOUT
    (5 minutes of that mailbox's intake), the worker is given up for the daemon's life, and the pool's manager
    thread stays deadlocked: at exit the interpreter joins it for ever, so `mailbot run --once` never returns
    and a SIGTERM'd daemon hangs until systemd kills it. A flood of mail to two desk addresses gets there. The
    worker should be replaced without a hang (e.g. a fresh pool made between batches), and the process exit."""
    script = tmp_path / "retirement.py"
    script.write_text(_RETIREMENT)
    try:
        done = subprocess.run([sys.executable, str(script)], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""},
                              capture_output=True, text=True, timeout=45)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise AssertionError(f"the process did not exit within 45 s after its batches: {out.strip()}") from None
    assert "broken=False" in done.stdout, done.stdout + done.stderr[-2000:]
