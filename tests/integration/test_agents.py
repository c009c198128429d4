"""Agents run a case by mail (issue 12), on real Dovecot, aiosmtpd, SQLite and PostgreSQL: notifications, replies,
commands and notes; spoofing acts as nothing; strangers learn nothing; no loops; bounces matched."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.desk import submissions
from mailbot.desk.models import (Case, Contact, Entry, EntryKind, MailKind, Outbox, OutboxStatus, Outcome, Priority,
                                 State)
from tests.conftest import DESK_ADDRESS, OUR_DOMAIN, Desk
from tests.integration.test_first_path import CUSTOMER, FIRST, mail
from tests.databases import sqlite_only

AGENT, OTHER_AGENT = "agente1@example.com", "agente2@example.com"
STRANGER = "jorge.diaz@example.net"


@pytest.fixture
def agents_desk(desk: Desk) -> Desk:
    """The desk of conftest with two agents on mesadeayuda and a trusted border MTA."""
    text = desk.config_path.read_text()
    text = re.sub(r'(key = "mesadeayuda"\n(?:.*\n)*?hours_text = .*\n)',
                  rf'\1agents = ["{AGENT}", "{OTHER_AGENT}"]\n', text, count=1)
    text = text.replace('[desk]\n', '[desk]\ntrusted_authserv_ids = ["mx.example.com"]\nagents_server_binds_sender = true\n', 1)
    desk.config_path.write_text(text + "[limits]\nauto_replies_per_hour = 5\nauto_replies_per_day = 20\n")
    return desk


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def notification(desk: Desk, agent: str = AGENT) -> EmailMessage:
    return desk.sent_to(agent)[-1].message


def reply_of(agent: str, to: EmailMessage, text: str, message_id: str, extra: str = "") -> str:
    """An agent's answer from their mail client: quoted history under it, threaded to `to`."""
    quoted = "\n".join(f"> {line}" for line in body(to).splitlines()[:3])
    return mail(message_id, f"RE: {to['Subject']}",
                f"{text}\n\nEl lun, 23 nov 2026 a las 10:15, Mesa de ayuda <{DESK_ADDRESS}> escribió:\n{quoted}",
                sender=agent, extra=f"In-Reply-To: {to['Message-ID']}\nReferences: {to['Message-ID']}\n{extra}")


def the_case(desk: Desk, number: str = "CS0000001") -> Case:
    with desk.session() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        _ = case.contact, case.entries, case.participants
        return case


def people(case: Case) -> list[Entry]:
    """What people wrote and agents did on the case, without the desk's own automatic mails."""
    return [e for e in case.entries if e.kind is not EntryKind.SYSTEM]


def test_a_whole_conversation_by_mail(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST.replace("Message-ID:", f"Cc: Luis <luis@transportes.example.org>, {DESK_ADDRESS}\nMessage-ID:"))
    desk.run_once()

    told = notification(desk)
    assert told["Subject"] == "[CS0000001] No puedo firmar con el token en Adobe"
    assert told["Reply-To"] == DESK_ADDRESS
    assert re.fullmatch(rf"<n\.CS0000001\.[0-9a-f]+\.[0-9a-f]+@{re.escape(OUR_DOMAIN)}>", told["Message-ID"])
    assert "el token no aparece" in body(told)
    assert notification(desk, OTHER_AGENT)["Message-ID"] != told["Message-ID"], "signed for each agent"
    assert the_case(desk).participants[0].email == "luis@transportes.example.org"

    desk.sink.clear()
    desk.deliver(reply_of(AGENT, told, "#prioridad 2\n\nBuenos días, Marta: ¿qué versión de Adobe tiene?",
                          "<r1@example.com>"))
    desk.run_once()

    (answer,) = desk.sent_to(CUSTOMER)
    assert answer.message["Subject"] == "[CS0000001] No puedo firmar con el token en Adobe"
    assert answer.message["In-Reply-To"] == "<first-1@transportes.example.org>"
    assert "¿qué versión de Adobe tiene?" in body(answer.message)
    assert "#prioridad" not in body(answer.message) and "escribió" not in body(answer.message)
    assert len(desk.sent_to("luis@transportes.example.org")) == 1, "participants get the reply too"
    case = the_case(desk)
    assert (case.priority, case.state) == (Priority.HIGH, State.IN_PROGRESS)
    assert case.first_response_at is not None

    desk.sink.clear()
    desk.deliver(mail("<f2@transportes.example.org>", f"RE: {answer.message['Subject']}", "Es la 2024.001.",
                      extra=f"In-Reply-To: {answer.message['Message-ID']}\n"))
    desk.run_once()
    assert "Es la 2024.001." in body(notification(desk)) and desk.sent_to(CUSTOMER) == []
    told = notification(desk)

    desk.deliver(reply_of(AGENT, told, "#nota\nLlamé a la cliente; reinstalar el controlador.", "<r2@example.com>"))
    desk.run_once()
    desk.deliver(reply_of(AGENT, told, "#estado resuelto", "<r3@example.com>"))
    desk.run_once()

    case = the_case(desk)
    assert case.state is State.RESOLVED and desk.sent_to(CUSTOMER) == []
    kinds = [e.kind for e in case.entries]
    assert kinds.count(EntryKind.AGENT_REPLY) == 1 and kinds.count(EntryKind.NOTE) == 2
    assert [e.text for e in case.entries if e.kind is EntryKind.NOTE][0] == \
        "Llamé a la cliente; reinstalar el controlador."


@sqlite_only
def test_an_invalid_command_tells_the_agent_and_sends_nothing_to_the_customer(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    told = notification(desk)
    desk.sink.clear()
    desk.deliver(reply_of(AGENT, told, "#prioridad 7\nYa quedó.", "<bad@example.com>"))

    desk.run_once()

    assert desk.sent_to(CUSTOMER) == []
    (error,) = desk.sent_to(AGENT)
    assert "#prioridad 7" in body(error.message)
    assert the_case(desk).priority is Priority.MODERATE


def forged(message_id: str) -> str:
    return re.sub(r"\.([0-9a-f]{32})@", lambda m: "." + ("0" * 32 if m.group(1) != "0" * 32 else "1" * 32) + "@",
                  message_id)


@pytest.mark.parametrize("how", ["no reference", "forged reference", "another agent's reference",
                                 "untrusted authserv-id"])
@sqlite_only
def test_a_spoofed_agent_reply_acts_as_nothing(agents_desk: Desk, how: str) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    mine, theirs = notification(desk), notification(desk, OTHER_AGENT)
    text = "#estado cerrado\n#asignar yo\nSu caso está cerrado, envíe su clave a jorge.diaz@example.net."
    spoof = {
        "no reference": mail("<s@example.com>", f"RE: {mine['Subject']}", text, sender=AGENT),
        "forged reference": mail("<s@example.com>", f"RE: {mine['Subject']}", text, sender=AGENT,
                                 extra=f"In-Reply-To: {forged(str(mine['Message-ID']))}\n"),
        "another agent's reference": reply_of(AGENT, theirs, text, "<s@example.com>"),
        "untrusted authserv-id": mail("<s@example.com>", f"RE: {mine['Subject']}", text, sender=AGENT,
                                      extra="Authentication-Results: mx.example.net; dkim=pass "
                                            "header.d=example.com; spf=pass smtp.mailfrom=example.com\n"),
    }[how]
    desk.sink.clear()
    desk.deliver(spoof)

    report = desk.run_once()

    assert report.verdicts[0].rule == "agent-unverified"
    assert desk.sent_to(CUSTOMER) == []
    case = the_case(desk)
    assert (case.state, case.assignee) == (State.NEW, None)
    assert people(case)[-1].kind is EntryKind.UNVERIFIED
    assert {m.message["Subject"] for m in desk.sink.captured} == {
        "[CS0000001] Correo no verificado con la dirección de un agente"}


@sqlite_only
def test_a_trusted_dkim_pass_proves_an_agent_without_a_reference(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    desk.sink.clear()
    desk.deliver(mail("<dkim@example.com>", "RE: [CS0000001] No puedo firmar", "Ya lo revisamos.", sender=AGENT,
                      extra=f"Authentication-Results: mx.example.com; dkim=pass header.d=example.com "
                            f"header.i={AGENT}\n"))

    desk.run_once()

    assert "Ya lo revisamos." in body(desk.sent_to(CUSTOMER)[0].message)


@pytest.mark.parametrize("quotes", ["number", "message-id"])
@sqlite_only
def test_a_stranger_quoting_another_customers_case_gets_their_own_and_learns_nothing(agents_desk: Desk,
                                                                                       quotes: str) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    desk.sink.clear()
    extra = "In-Reply-To: <first-1@transportes.example.org>\n" if quotes == "message-id" else ""
    subject = "RE: [CS0000001] No puedo firmar" if quotes == "number" else "RE: No puedo firmar"
    desk.deliver(mail("<stranger@example.net>", subject, "¿Cuál es la clave?", sender=STRANGER, extra=extra))

    report = desk.run_once()

    assert [(v.outcome, v.case_number) for v in report.verdicts] == [(Outcome.NEW_CASE, "CS0000002")]
    assert len(people(the_case(desk))) == 1, "nothing added to the customer's case"
    assert the_case(desk, "CS0000002").linked_case_id == the_case(desk).id
    to_stranger = desk.sent_to(STRANGER)
    assert to_stranger and all("CS0000001" not in str(m.message) for m in to_stranger)
    assert "Revisar: cita el caso CS0000001" in notification(desk)["Subject"]


@sqlite_only
def test_a_reply_to_a_closed_case_opens_a_linked_case_and_tells_its_number(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    with desk.session() as session:
        session.scalars(select(Case)).one().state = State.CLOSED
        session.commit()
    desk.sink.clear()
    desk.deliver(mail("<again@transportes.example.org>", "RE: [CS0000001] No puedo firmar", "Volvió a fallar."))

    desk.run_once()

    assert the_case(desk).state is State.CLOSED
    assert the_case(desk, "CS0000002").linked_case_id == the_case(desk).id
    (told,) = desk.sent_to(CUSTOMER)
    assert told.message["Subject"].startswith("[CS0000002]") and "CS0000001" in body(told.message)


@sqlite_only
def test_an_autoresponder_against_the_daemon_stays_within_the_rate_limit(agents_desk: Desk) -> None:
    """It answers every mail we send it with an out-of-office to the desk, for 20 cycles."""
    desk = agents_desk
    desk.deliver(FIRST)
    answered = 0
    for cycle in range(20):
        desk.run_once()
        for sent in desk.sent_to(CUSTOMER)[answered:]:
            desk.deliver(mail(f"<ooo-{cycle}-{answered}@transportes.example.org>",
                              f"Respuesta automática: {sent.message['Subject']}", "Estoy de vacaciones.",
                              extra=f"In-Reply-To: {sent.message['Message-ID']}\n"))
            answered += 1
    assert len(desk.sent_to(CUSTOMER)) <= 5
    assert the_case(desk).state is State.NEW


@sqlite_only
def test_automatic_mail_past_the_limit_is_kept_as_suppressed(agents_desk: Desk) -> None:
    desk = agents_desk
    for n in range(8):
        desk.deliver(mail(f"<flood-{n}@transportes.example.org>", f"Solicitud {n}"))

    desk.run_once()

    assert len(desk.sent_to(CUSTOMER)) == 5
    with desk.session() as session:
        statuses = [r.status for r in session.scalars(select(Outbox).where(Outbox.recipient == CUSTOMER))]
    assert statuses.count(OutboxStatus.SUPPRESSED) == 4
    assert len(desk.sent_to(AGENT)) == 8, "agents are never rate-limited"


def dsn(original_id: str, recipient: str = CUSTOMER) -> str:
    return f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: {DESK_ADDRESS}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{abs(hash(original_id))}@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--b
Content-Type: text/rfc822-headers

From: Mesa de ayuda <{DESK_ADDRESS}>
To: {recipient}
Message-ID: {original_id}

--b--
"""


@sqlite_only
def test_a_bounce_is_matched_to_its_outbox_row_and_opens_no_case(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    credentials, ack = desk.first_mails(CUSTOMER)
    desk.sink.clear()
    desk.deliver(dsn(str(ack.message["Message-ID"])))
    desk.deliver(dsn(str(credentials.message["Message-ID"])))

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.FOLLOW_UP, Outcome.FOLLOW_UP]
    with desk.session() as session:
        assert len(session.scalars(select(Case)).all()) == 1
        rows = {r.kind: r for r in session.scalars(select(Outbox).where(Outbox.recipient == CUSTOMER))}
        assert rows[MailKind.ACK].status is OutboxStatus.BOUNCED
        assert rows[MailKind.ACK].last_error.startswith("5.1.1 550 5.1.1")
        contact = session.scalars(select(Contact)).one()
        assert contact.password_hash is None, "a bounced password no longer works"
    assert [e.kind for e in the_case(desk).entries].count(EntryKind.BOUNCE) == 2
    assert all(e.raw_sha256 is None for e in the_case(desk).entries if e.kind is EntryKind.BOUNCE)
    assert "Correo no entregado a" in notification(desk)["Subject"]


@sqlite_only
def test_a_reused_message_id_threads_to_the_case_its_sender_wrote(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.deliver(mail("<first-1@transportes.example.org>", "Otra cosa", "Otro texto.", sender=STRANGER))
    desk.run_once()
    desk.deliver(mail("<back@transportes.example.org>", "RE: algo", "Sigo esperando.",
                      extra="In-Reply-To: <first-1@transportes.example.org>\n"))

    report = desk.run_once()

    assert [(v.outcome, v.case_number) for v in report.verdicts] == [(Outcome.FOLLOW_UP, "CS0000001")]


@sqlite_only
def test_two_mailbot_desks_mailing_each_other_stay_bounded(agents_desk: Desk, tmp_path: Path) -> None:
    """Desk A's address writes to desk B as a person would; every mail each desk sends to the other is delivered to
    the other's inbox, cycle after cycle. Automatic mail never answers automatic mail, so it ends at once."""
    from mailbot.servers.desk_config import MESSAGE_ID_DOMAIN
    from tests.conftest import write_desk_config

    a = agents_desk
    b_root = tmp_path / "desk-b"
    b_root.mkdir()
    path, users = write_desk_config(b_root, f"sqlite:///{b_root / 'b.db'}", a.dovecot, a.sink,
                                    {"mesadeayuda": ("mesa@example.org", "Mesa B")})
    path.write_text(path.read_text().replace(MESSAGE_ID_DOMAIN, "desk-b.example.org"))  # a desk of its own
    b = Desk(path, a.dovecot, a.sink, users)
    assert b.cli("db", "upgrade") == 0
    a.deliver(mail("<start@example.org>", "Consulta de la otra mesa", "Hola, ¿nos ayudan?", sender="mesa@example.org"))

    delivered = 0
    totals = []
    for _ in range(10):
        a.run_once()
        b.run_once()
        for sent in a.sink.captured[delivered:]:
            for rcpt in sent.rcpt_tos:
                if rcpt == "mesa@example.org":
                    b.deliver(sent.message.as_bytes())
                elif rcpt == DESK_ADDRESS:
                    a.deliver(sent.message.as_bytes())
        delivered = len(a.sink.captured)
        totals.append(delivered)
    between = [s for s in a.sink.captured if set(s.rcpt_tos) & {"mesa@example.org", DESK_ADDRESS}]
    assert len(between) <= 2, "desk A's credentials and acknowledgement to desk B; desk B answers none of them"
    assert totals[-1] == totals[2], "nothing more after the first cycles"


@sqlite_only
def test_whom_an_agent_copies_on_a_reply_joins_the_case_and_gets_the_answers(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    told = notification(desk)
    desk.sink.clear()

    desk.deliver(reply_of(AGENT, told, "Copio a nuestra especialista en firmas.", "<cc1@example.com>",
                          extra="Cc: Especialista <firmas@transportes.example.org>\n"))
    desk.run_once()

    assert [p.email for p in the_case(desk).participants] == ["firmas@transportes.example.org"]
    assert len(desk.sent_to("firmas@transportes.example.org")) == 1 and len(desk.sent_to(CUSTOMER)) == 1


ADVISER = "asesor@example.net"
SIGNED_CC = ("Authentication-Results: mx.example.com; dkim=pass header.d=transportes.example.org; "
             "dmarc=pass header.from=transportes.example.org\n"
             "DKIM-Signature: v=1; a=rsa-sha256; d=transportes.example.org; s=s1;\n"
             " h=from:to:cc:subject:date:message-id; bh=YmgK; b=c2lnbmF0dXJl\n")  # its signature covers Cc


def participants(desk: Desk, number: str = "CS0000001") -> list[str]:
    return [p.email for p in the_case(desk, number).participants]


@pytest.mark.parametrize("evidence", ["answers our mail", "dkim pass covering cc"])
@sqlite_only
def test_whom_a_customer_copies_joins_the_case_when_the_mail_is_theirs(agents_desk: Desk, evidence: str) -> None:
    """From a mail client, a reply to our mail names its Message-ID, which only its recipient knows."""
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    _, ack = desk.first_mails(CUSTOMER)
    proof = f"In-Reply-To: {ack.message['Message-ID']}\n" if evidence == "answers our mail" else SIGNED_CC
    desk.deliver(mail("<cc-1@transportes.example.org>", "RE: [CS0000001] No puedo firmar", "Copio a mi asesor.",
                      extra=f"{proof}Cc: Asesor <{ADVISER}>\n"))
    desk.run_once()
    told = notification(desk)
    desk.sink.clear()

    desk.deliver(reply_of(AGENT, told, "Buenos días: reinstale el controlador.", "<cc-r1@example.com>"))
    desk.run_once()

    assert participants(desk) == [ADVISER]
    assert len(desk.sent_to(ADVISER)) == 1 and len(desk.sent_to(CUSTOMER)) == 1


@sqlite_only
def test_a_copy_on_a_mail_that_answers_our_mail_to_someone_else_is_left_to_the_agents(agents_desk: Desk) -> None:
    """Luis got the agent's answer as a participant; a mail "from Marta" naming his copy proves nothing of Marta.
    Whom it copied is written on the case for the agents, and an agent who copies them adds them."""
    desk = agents_desk
    desk.deliver(FIRST.replace("Message-ID:", "Cc: luis@transportes.example.org\nMessage-ID:"))
    desk.run_once()
    desk.deliver(reply_of(AGENT, notification(desk), "¿Qué versión de Adobe tiene?", "<cc-r2@example.com>"))
    desk.run_once()
    (to_luis,) = desk.sent_to("luis@transportes.example.org")
    desk.deliver(mail("<cc-2@evil.example.net>", f"RE: {to_luis.message['Subject']}", "Copio a mi asesor.",
                      extra=f"In-Reply-To: {to_luis.message['Message-ID']}\nCc: {ADVISER}\n"))
    desk.run_once()

    assert participants(desk) == ["luis@transportes.example.org"]
    told = notification(desk)
    assert ADVISER in body(told) and "not added" in people(the_case(desk))[-1].text

    desk.deliver(reply_of(AGENT, told, "Copio al asesor de Marta.", "<cc-r3@example.com>", extra=f"Cc: {ADVISER}\n"))
    desk.run_once()
    assert participants(desk) == ["luis@transportes.example.org", ADVISER]


@pytest.mark.parametrize("authenticated", [False, True])
@sqlite_only
def test_a_new_case_takes_the_senders_colleagues_and_anyone_only_when_authenticated(agents_desk: Desk,
                                                                                    authenticated: bool) -> None:
    desk = agents_desk
    cc = f"Cc: luis@transportes.example.org, {ADVISER}\n"
    desk.deliver(FIRST.replace("Message-ID:", f"{SIGNED_CC if authenticated else ''}{cc}Message-ID:"))
    desk.run_once()

    if authenticated:
        assert participants(desk) == ["luis@transportes.example.org", ADVISER]
    else:
        assert participants(desk) == ["luis@transportes.example.org"]
        assert f"not added to the case (nothing shows that this mail is {CUSTOMER}'s): {ADVISER}." in \
            people(the_case(desk))[0].text


@sqlite_only
def test_a_customers_copies_past_the_cap_are_left_to_the_agents(agents_desk: Desk) -> None:
    """[limits] participants_per_case bounds whom mail from outside puts on a case; an agent's copy still adds."""
    desk = agents_desk
    desk.config_path.write_text(desk.config_path.read_text() + "participants_per_case = 2\n")
    desk.deliver(FIRST)
    desk.run_once()
    _, ack = desk.first_mails(CUSTOMER)
    copied = [f"colega{n}@example.net" for n in range(3)]
    desk.deliver(mail("<cap-1@transportes.example.org>", f"RE: {ack.message['Subject']}", "Copio a mis colegas.",
                      extra=f"In-Reply-To: {ack.message['Message-ID']}\nCc: {', '.join(copied)}\n"))
    desk.run_once()

    assert participants(desk) == copied[:2]
    assert "past [limits] participants_per_case = 2): colega2@example.net." in people(the_case(desk))[-1].text

    desk.deliver(reply_of(AGENT, notification(desk), "Copio a su colega.", "<cap-r1@example.com>",
                          extra=f"Cc: {copied[2]}\n"))
    desk.run_once()
    assert participants(desk) == copied
    assert all(len(desk.sent_to(address)) == 1 for address in copied)


@sqlite_only
def test_a_display_name_that_imitates_an_address_is_flagged_for_the_agents(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.deliver(mail("<spoof@example.net>", "Cambio de cuenta bancaria", "Paguen a esta cuenta.",
                      sender='"gerencia@transportes.example.org" <evil@example.net>'))
    desk.run_once()

    case = the_case(desk)
    assert case.contact.email == "evil@example.net", "the address a mail client shows, never the display name"
    assert people(case)[0].flags == ["name-looks-like-address"]
    assert "name-looks-like-address" in body(notification(desk))
    with desk.session() as session:
        assert session.scalars(select(Contact.email)).all() == ["evil@example.net"]


@sqlite_only
def test_an_attachment_over_the_limit_is_dropped_with_a_note_on_the_case(agents_desk: Desk) -> None:
    desk = agents_desk
    desk.config_path.write_text(desk.config_path.read_text().replace(
        "auto_replies_per_day = 20\n", 'auto_replies_per_day = 20\nmax_attachment_size = "100kB"\n'))
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = CUSTOMER, DESK_ADDRESS, "Adjunto el RUT"
    message["Message-ID"] = "<big-attachment@transportes.example.org>"
    message.set_content("Adjunto el RUT y una foto.")
    message.add_attachment(b"%PDF-1.4 " + bytes(300_000), maintype="application", subtype="pdf", filename="RUT.pdf")
    message.add_attachment(b"\x89PNG small", maintype="image", subtype="png", filename="foto.png")
    desk.deliver(message.as_bytes())
    desk.run_once()

    entry = people(the_case(desk))[0]
    assert [a.filename for a in entry.attachments] == ["foto.png"]
    assert "RUT.pdf" in entry.text and "dropped" in entry.text


@sqlite_only
@pytest.mark.parametrize("how", ["reply", "new request"])
def test_an_agent_answers_the_notification_of_what_a_customer_wrote_on_the_portal(agents_desk: Desk, how: str) -> None:
    desk = agents_desk
    desk.deliver(FIRST)
    desk.run_once()
    desk.sink.clear()
    with desk.session() as session:
        customer = session.scalars(select(Contact).where(Contact.email == CUSTOMER)).one()
        if how == "reply":
            case = session.scalars(select(Case).where(Case.number == "CS0000001")).one()
            verdict = submissions.reply(session, desk.config, customer, case, "Sigue sin funcionar.")
        else:
            verdict = submissions.open_request(session, desk.config, customer,
                                               submissions.NewRequest("mesadeayuda", "Otra", "Necesito ayuda."))
        session.commit()
    desk.run_once()
    told = notification(desk)
    assert told["Subject"].startswith(f"[{verdict.case_number}]")
    desk.sink.clear()

    desk.deliver(reply_of(AGENT, told, "Buenos días, Marta: reinstale el controlador.", "<portal-r1@example.com>"))
    desk.run_once()

    (answer,) = desk.sent_to(CUSTOMER)
    assert "reinstale el controlador" in body(answer.message)
    assert [e.kind for e in people(the_case(desk, verdict.case_number or ""))][-1] is EntryKind.AGENT_REPLY
