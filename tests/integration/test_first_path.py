"""Mail in → case → credentials and acknowledgement out, on real Dovecot, aiosmtpd, SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailbot.desk.models import Case, Contact, Entry, Outbox, OutboxStatus, Outcome, Priority, Receipt, State
from tests.conftest import DESK_ADDRESS, OTHER_ADDRESS, OUR_DOMAIN, Desk
from tests.databases import sqlite_only

CUSTOMER = "marta.ruiz@transportes.example.org"

FIRST = f"""\
From: Marta Ruiz <{CUSTOMER}>
To: {DESK_ADDRESS}
Subject: =?ISO-8859-1?Q?RE:_Fwd:_No_puedo_firmar_con_el_token_en_Adobe?=
Date: Mon, 23 Nov 2026 09:15:00 -0500
Message-ID: <first-1@transportes.example.org>
Content-Type: text/plain; charset=utf-8

Buenos días, el token no aparece en Adobe Reader.
"""


def mail(message_id: str, subject: str, body: str = "Hola.", sender: str = CUSTOMER, extra: str = "",
         to: str = DESK_ADDRESS) -> str:
    return (f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: Mon, 23 Nov 2026 10:00:00 -0500\n"
            f"Message-ID: {message_id}\n{extra}Content-Type: text/plain; charset=utf-8\n\n{body}\n")


def only_case(desk: Desk) -> Case:
    with desk.session() as session:
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 1, [c.number for c in cases]
        case = cases[0]
        _ = case.contact, case.entries
        return case


def test_first_time_customer_gets_a_case_credentials_and_an_acknowledgement(desk: Desk) -> None:
    desk.deliver(FIRST)

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.NEW_CASE]
    case = only_case(desk)
    assert case.number == "CS0000001"
    assert case.subject == "No puedo firmar con el token en Adobe"
    assert (case.queue, case.priority, case.state) == ("mesadeayuda", Priority.MODERATE, State.NEW)
    assert case.contact.email == CUSTOMER and case.contact.name == "Marta Ruiz"
    assert case.account == "Transportes Ejemplo S.A.S."
    assert desk.folder("INBOX") == [] and len(desk.folder("Procesados")) == 1

    credentials, ack = desk.first_mails(CUSTOMER)
    assert credentials.message["Subject"] == "[CS0000001] Mesa de ayuda Ejemplo: su usuario ha sido creado"
    body = credentials.message.get_body(("plain",)).get_content()
    assert f"Usuario: {CUSTOMER}" in body and "https://portal.example.com/csm" in body
    password = re.search(r"^([A-Za-z0-9]{12,})$", body, re.M).group(1)  # type: ignore[union-attr]
    assert password in credentials.message.get_body(("html",)).get_content()

    assert ack.message["Subject"] == "[CS0000001] No puedo firmar con el token en Adobe"
    assert ack.message["In-Reply-To"] == "<first-1@transportes.example.org>"
    assert ack.message["References"] == "<first-1@transportes.example.org>"
    assert ack.message["Auto-Submitted"] == "auto-replied"
    assert str(ack.message["Message-ID"]).endswith(f"@{OUR_DOMAIN}>")
    assert ack.message["From"].addresses[0].addr_spec == DESK_ADDRESS
    ack_text = ack.message.get_body(("plain",)).get_content()
    assert "CS0000001" in ack_text and "3 - Moderada" in ack_text and "7:00 a. m." in ack_text
    assert "CS0000001" in ack.message.get_body(("html",)).get_content()

    with desk.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.must_change_password and contact.credentials_sent_at is not None
        password_hash = contact.password_hash
        stored = [repr(row.__dict__) for table in (Outbox, Entry, Contact) for row in session.scalars(select(table))]
        assert not any(password in row for row in stored), "the temporary password must never be stored in clear"
    assert password_hash is not None and password_hash.startswith("$mbk1$"), "a keyed hash (docs/passwords.md)"
    assert desk.password_verifies(password_hash, password)
    assert not desk.password_verifies(password_hash, password[:-1] + ("x" if password[-1] != "x" else "y"))


@sqlite_only
def test_known_customer_gets_only_the_acknowledgement(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    desk.deliver(mail("<second@transportes.example.org>", "Solicitud de factura electrónica"))

    desk.run_once()

    subjects = [str(c.message["Subject"]) for c in desk.sent_to(CUSTOMER)]
    assert sorted(subjects) == [
        "[CS0000001] Mesa de ayuda Ejemplo: su usuario ha sido creado",
        "[CS0000001] No puedo firmar con el token en Adobe",
        "[CS0000002] Solicitud de factura electrónica",
    ]


@sqlite_only
def test_reply_to_our_acknowledgement_threads_by_headers(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    ack = desk.first_mails(CUSTOMER)[1].message
    desk.deliver(mail("<reply-1@transportes.example.org>", f"RE: RV: {ack['Subject']}", "Sigue fallando.",
                      extra=f"In-Reply-To: {ack['Message-ID']}\nReferences: <first-1@transportes.example.org> "
                            f"{ack['Message-ID']}\n"))
    desk.sink.clear()

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.FOLLOW_UP]
    case = only_case(desk)
    assert [e.text.strip() for e in case.entries if e.direction.value == "in"][-1] == "Sigue fallando."
    assert desk.sink.captured == [], "a follow-up is not acknowledged again"


@sqlite_only
def test_reply_with_only_the_case_number_in_the_subject_threads(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    desk.deliver(mail("<by-number@transportes.example.org>", "RV: caso cs0000001, ¿alguna novedad?"))

    report = desk.run_once()

    assert [(v.outcome, v.case_number) for v in report.verdicts] == [(Outcome.FOLLOW_UP, "CS0000001")]
    assert len(only_case(desk).entries) == 4  # customer, credentials, ack, follow-up


@sqlite_only
def test_customer_writing_on_a_resolved_case_puts_it_back_in_progress(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    with desk.session() as session:
        session.scalars(select(Case)).one().state = State.RESOLVED
        session.commit()
    desk.deliver(mail("<again@transportes.example.org>", "Re: [CS0000001] No puedo firmar", "Volvió a fallar."))

    desk.run_once()

    assert only_case(desk).state is State.IN_PROGRESS


def test_one_mail_sent_to_two_desk_addresses_opens_one_case(desk: Desk) -> None:
    both = mail("<both@transportes.example.org>", "Token bloqueado", to=f"{DESK_ADDRESS}, {OTHER_ADDRESS}")
    desk.deliver("Delivered-To: mesadeayuda@example.com\n" + both, queue="mesadeayuda")
    desk.deliver("Delivered-To: soporte.clavesegura@example.com\n" + both, queue="clavesegura")

    report = desk.run_once()

    assert sorted(v.outcome.value for v in report.verdicts) == ["duplicate", "new_case"]
    assert only_case(desk).number == "CS0000001"
    assert [str(c.message["Subject"]).endswith("creado") is False for c in desk.sent_to(CUSTOMER)].count(True) == 1, "one acknowledgement"
    assert desk.folder("INBOX", "clavesegura") == [] and len(desk.folder("Procesados", "clavesegura")) == 1


def test_a_resend_is_a_duplicate_but_a_different_mail_reusing_the_message_id_is_not(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.deliver(FIRST)
    desk.deliver(mail("<first-1@transportes.example.org>", "Otra solicitud distinta", "Texto diferente."))

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.NEW_CASE, Outcome.DUPLICATE, Outcome.NEW_CASE]
    with desk.session() as session:
        assert session.scalars(select(Case.subject).order_by(Case.id)).all() == [
            "No puedo firmar con el token en Adobe", "Otra solicitud distinta"]


def test_a_processed_message_put_back_in_the_inbox_is_a_duplicate(desk: Desk) -> None:
    """A person (or a client rule) moving a mail back gives it a new UID; the Message-ID ledger still knows it."""
    desk.deliver(FIRST)
    desk.run_once()
    with desk.imap() as client:  # put the processed message back under its old name: same UIDVALIDITY, new UID
        client.select_folder("Procesados")
        client.move(client.search(["ALL"]), "INBOX")

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.DUPLICATE]
    assert len(desk.sent_to(CUSTOMER)) == 2 and only_case(desk).number == "CS0000001"


@sqlite_only
def test_a_message_that_is_not_mail_is_quarantined_and_the_batch_goes_on(desk: Desk) -> None:
    desk.deliver(b"\x00\x01 this is not an e-mail at all")
    desk.deliver(mail("<nobody@example.org>", "Sin remitente").replace(f"From: {CUSTOMER}\n", ""))
    desk.deliver(FIRST)

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.QUARANTINE, Outcome.QUARANTINE, Outcome.NEW_CASE]
    assert len(desk.folder("Cuarentena")) == 2 and len(desk.folder("Procesados")) == 1
    with desk.session() as session:
        reasons = session.scalars(select(Receipt.reason).where(Receipt.outcome == Outcome.QUARANTINE)).all()
    assert reasons[0].startswith("not an e-mail") and "no usable From address" in reasons[1]


@sqlite_only
def test_automatic_mail_opens_no_case_and_gets_no_answer(desk: Desk) -> None:
    desk.deliver(mail("<ooo@example.org>", "Respuesta automática: fuera de la oficina", sender="ana@example.org",
                      extra="Auto-Submitted: auto-replied\n"))

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.IGNORED]
    assert desk.sink.captured == []


@sqlite_only
def test_attachments_and_the_raw_message_are_stored_once_by_sha256(desk: Desk) -> None:
    pdf = b"%PDF-1.4 RUT de ejemplo"
    import base64

    desk.deliver(
        f"From: {CUSTOMER}\nTo: {DESK_ADDRESS}\nSubject: RUT actualizado\nMessage-ID: <pdf@transportes.example.org>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nAdjunto.\n"
        "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"RUT.pdf\"\n"
        f"Content-Transfer-Encoding: base64\n\n{base64.b64encode(pdf).decode()}\n--b--\n"
    )

    desk.run_once()

    entry = only_case(desk).entries[0]
    (attachment,) = entry.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == ("RUT.pdf", "application/pdf", len(pdf))
    storage = desk.config.storage_path
    assert (storage / "attachments" / attachment.sha256[:2] / attachment.sha256).read_bytes() == pdf
    assert b"RUT actualizado" in (storage / "raw" / entry.raw_sha256[:2] / f"{entry.raw_sha256}.eml").read_bytes()


@sqlite_only
def test_messages_are_fetched_in_uid_batches(desk: Desk) -> None:
    text = desk.config_path.read_text().replace("[daemon]\n", "[daemon]\nbatch_size = 2\n")
    desk.config_path.write_text(text)
    for n in range(5):
        desk.deliver(mail(f"<batch-{n}@example.org>", f"Solicitud {n}", sender=f"cliente{n}@example.org"))

    report = desk.run_once()

    assert [v.case_number for v in report.verdicts] == [f"CS000000{n}" for n in range(1, 6)]
    assert desk.folder("INBOX") == []


@sqlite_only
def test_without_move_the_source_copies_and_expunges(desk: Desk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mailbot.mail import imap_source

    connect = imap_source.ImapSource._connect

    def without_move(self: imap_source.ImapSource) -> None:
        connect(self)
        self.can_move = False  # as on a server that does not offer MOVE (RFC 6851)

    monkeypatch.setattr(imap_source.ImapSource, "_connect", without_move)
    desk.deliver(FIRST)

    desk.run_once()

    assert desk.folder("INBOX") == [] and len(desk.folder("Procesados")) == 1


@sqlite_only
def test_a_temporary_smtp_failure_is_retried_and_delivered_once(desk: Desk) -> None:
    desk.sink.reject_with("451 4.3.0 Intente más tarde")
    desk.deliver(FIRST)
    desk.run_once()
    with desk.session() as session:
        rows = session.scalars(select(Outbox)).all()
        assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.PENDING, 1)] * 2
        assert all("451 4.3.0" in r.last_error for r in rows)

    desk.sink.reject_with(None)
    desk.run_once()
    desk.run_once()

    assert len(desk.sent_to(CUSTOMER)) == 2
    with desk.session() as session:
        assert [r.status for r in session.scalars(select(Outbox))] == [OutboxStatus.SENT] * 2


@sqlite_only
def test_a_permanent_smtp_failure_is_dead_at_once_with_the_servers_words(desk: Desk) -> None:
    desk.sink.reject_with("550 5.1.1 <marta.ruiz@transportes.example.org>: buzón inexistente")
    desk.deliver(FIRST)

    desk.run_once()
    desk.run_once()

    with desk.session() as session:
        rows = session.scalars(select(Outbox)).all()
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.DEAD, 1)] * 2
    assert "550 5.1.1" in rows[0].last_error and "buzón inexistente" in rows[0].last_error


@sqlite_only
def test_smtp_down_keeps_the_outbox_and_ingest_goes_on(desk: Desk) -> None:
    text = desk.config_path.read_text()
    desk.config_path.write_text(re.sub(r"(\[smtp\]\nhost = \"127.0.0.1\"\nport = )\d+", r"\g<1>9", text))
    desk.deliver(FIRST)

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.NEW_CASE]
    assert report.outbox.unavailable is not None and "Connect call failed" in report.outbox.unavailable
    with desk.session() as session:  # an outage is nobody's attempt: the rows wait, untouched
        assert [(r.status, r.attempts) for r in session.scalars(select(Outbox))] == [(OutboxStatus.PENDING, 0)] * 2


@sqlite_only
def test_mail_from_a_desk_address_is_our_own_and_never_answered(desk: Desk) -> None:
    desk.deliver(mail("<loop@example.com>", "Reenvío interno", sender=f"Mesa de ayuda <{DESK_ADDRESS}>"))

    report = desk.run_once()

    assert [v.outcome for v in report.verdicts] == [Outcome.IGNORED]
    assert desk.sink.captured == []
    with desk.session() as session:
        assert session.scalars(select(Receipt.rule)).all() == ["own-address"]


@sqlite_only
def test_list_or_bulk_mail_opens_a_case_but_gets_no_automatic_mail(desk: Desk) -> None:
    desk.deliver(mail("<list@example.org>", "Consulta desde el grupo", sender="grupo@example.org",
                      extra="Precedence: list\nList-Id: <soporte.example.org>\n"))

    report = desk.run_once()

    assert [(v.outcome, v.case_number) for v in report.verdicts] == [(Outcome.NEW_CASE, "CS0000001")]
    assert "not answered" in report.verdicts[0].reason
    assert desk.sink.captured == []


def test_a_mail_without_message_id_sent_to_two_desk_addresses_opens_one_case(desk: Desk) -> None:
    anonymous = mail("<x>", "Sin identificador", to=f"{DESK_ADDRESS}, {OTHER_ADDRESS}").replace("Message-ID: <x>\n", "")
    desk.deliver("Delivered-To: mesadeayuda@example.com\n" + anonymous, queue="mesadeayuda")
    desk.deliver("Delivered-To: soporte.clavesegura@example.com\n" + anonymous, queue="clavesegura")

    report = desk.run_once()

    assert sorted(v.outcome.value for v in report.verdicts) == ["duplicate", "new_case"]


@sqlite_only
def test_replies_share_the_configured_smtp_connections(desk: Desk) -> None:
    for n in range(3):
        desk.deliver(mail(f"<many-{n}@example.org>", f"Solicitud {n}", sender=f"cliente{n}@example.org"))

    desk.run_once()

    connections = {c.peer for c in desk.sink.captured}
    assert len(desk.sink.captured) == 6 and 1 <= len(connections) <= desk.config.smtp.connections == 4


@sqlite_only
def test_a_mail_that_keeps_failing_is_dead_after_max_attempts(desk: Desk) -> None:
    desk.sink.reject_with("451 4.3.0 Intente más tarde")
    desk.deliver(FIRST)

    for _ in range(4):  # max_attempts = 3 and retry_base = 0 in the test configuration
        desk.run_once()

    with desk.session() as session:
        rows = session.scalars(select(Outbox)).all()
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.DEAD, 3)] * 2
    assert desk.sink.captured == []


@sqlite_only
def test_a_server_that_refuses_our_sender_charges_no_mail(desk: Desk) -> None:
    desk.sink.reject_sender_with("530 5.7.0 Authentication required")
    desk.deliver(FIRST)

    report = desk.run_once()

    assert report.outbox.unavailable == "sender refused: 530 5.7.0 Authentication required"
    with desk.session() as session:
        assert [(r.status, r.attempts) for r in session.scalars(select(Outbox))] == [(OutboxStatus.PENDING, 0)] * 2
    desk.sink.reject_sender_with(None)
    desk.run_once()
    assert len(desk.sent_to(CUSTOMER)) == 2


@sqlite_only
def test_replies_are_sent_from_the_queue_they_are_about(desk: Desk) -> None:
    desk.deliver(mail("<clave@example.org>", "Clave bloqueada", to=OTHER_ADDRESS), queue="clavesegura")

    desk.run_once()

    sender = desk.sent_to(CUSTOMER)[-1].message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Soporte Clave Segura", OTHER_ADDRESS)


@sqlite_only
def test_a_tag_of_a_case_that_does_not_exist_does_not_stay_in_the_new_case_subject(desk: Desk) -> None:
    desk.deliver(mail("<stale@transportes.example.org>", "RE: [CS0000077] Token bloqueado"))

    desk.run_once()

    assert only_case(desk).subject == "Token bloqueado"
    assert desk.first_mails(CUSTOMER)[1].message["Subject"] == "[CS0000001] Token bloqueado"
