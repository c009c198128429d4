"""My cases, a case, its files, a reply and a new request: what a customer may see and do, and nothing more."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from mailbot.desk.models import (Attachment, Case, CaseRequest, Direction, Entry, EntryKind, MailKind, Outbox,
                                 OutboxStatus, State)
from mailbot.desk.storage import blob_path, store_blob
from mailbot.mail.message_ids import is_ours
from mailbot.portal.app import create_app
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.smtp_capture import SmtpCapture
from tests.conftest import OUR_DOMAIN
from tests.portal.conftest import BASE, COLLEAGUE, CUSTOMER, STRANGER, Portal, mail, portal_for
from tests.databases import sqlite_only

PDF = ("nuevo.pdf", b"%PDF-1.4 nuevo\n", "application/pdf")


def case_of(portal: Portal, number: str) -> Case:
    with portal.desk.session() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        _ = case.contact, [entry.attachments for entry in case.entries]
        return case


def set_state(portal: Portal, number: str, state: State) -> None:
    with portal.desk.session() as session:
        session.execute(update(Case).where(Case.number == number).values(state=state))
        session.commit()


def numbers(html: str) -> list[str]:
    return re.findall(r'<th scope="row"[^>]*><a href="[^"]+">(CS\d{7})</a>', html)


def test_my_cases_lists_the_customers_own_cases_with_the_manuals_columns(portal: Portal) -> None:
    page = portal.logged_in(CUSTOMER).get("/cases")

    assert numbers(page.text) == ["CS0000001"]
    for column in ("Número", "Breve descripción", "Producto", "Contacto", "Cuenta", "Prioridad", "Estado",
                   "Actualizados"):
        assert f'<th scope="col">{column}</th>' in page.text
    row = page.text.split('<th scope="row"')[1].split("</tr>")[0]
    for cell in ("Certificado vencido", "Mesa de ayuda", CUSTOMER, "Transportes Ejemplo S.A.S.", "3 - Moderada",
                 "Nuevo"):
        assert cell in row
    assert re.search(r">\d\d/\d\d/\d{4} \d\d:\d\d</time>", row), "updated, as the desk's clock reads it"


def test_my_cases_are_newest_first_and_filtered_by_state(portal: Portal) -> None:
    portal.logged_in(CUSTOMER)
    portal.post("/new", {"queue": "clavesegura", "subject": "Segundo caso", "description": "Otro problema."})
    set_state(portal, "CS0000001", State.RESOLVED)

    assert numbers(portal.get("/cases").text) == ["CS0000004", "CS0000001"]
    assert numbers(portal.get("/cases?state=resolved").text) == ["CS0000001"]
    closed = portal.get("/cases?state=closed")
    assert numbers(closed.text) == [] and "No tiene casos en este estado." in closed.text
    assert '<option value="resolved" selected>Resuelto</option>' in portal.get("/cases?state=resolved").text


def test_an_organisations_contacts_share_its_cases_only_when_configured_and_listed(
        tmp_path: Path, dovecot: PrivateDovecot, sink: SmtpCapture) -> None:
    for portal in portal_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dovecot, sink, "account_cases = true\n"):
        neighbour = "pedro.gil@example.net"  # example.net is in no [accounts] entry: its own "account"
        portal.desk.deliver(mail(neighbour, "Caso del vecino"))
        portal.desk.run_once()

        assert numbers(portal.logged_in(COLLEAGUE).get("/cases").text) == ["CS0000003", "CS0000001"]
        assert portal.get("/cases/CS0000001").status_code == 200
        portal.post("/logout", {})
        assert numbers(portal.logged_in(STRANGER).get("/cases").text) == ["CS0000002"]
        assert portal.get("/cases/CS0000004").status_code == 404


def test_without_account_cases_a_colleague_sees_only_their_own(portal: Portal) -> None:
    assert numbers(portal.logged_in(COLLEAGUE).get("/cases").text) == ["CS0000003"]
    assert portal.get("/cases/CS0000001").status_code == 404


@sqlite_only
def test_a_case_shows_the_conversation_but_no_credentials_notes_or_automatic_mail(any_db_portal: Portal) -> None:
    portal = any_db_portal
    case = case_of(portal, "CS0000001")
    with portal.desk.session() as session:
        for kind, text in ((EntryKind.NOTE, "Nota interna: cliente difícil"),
                           (EntryKind.AUTO_REPLY, "Estoy fuera de la oficina")):
            session.add(Entry(case_id=case.id, direction=Direction.IN, kind=kind, author="x@example.com",
                              text=text))
        session.commit()

    page = portal.logged_in(CUSTOMER).get("/cases/CS0000001")

    assert page.status_code == 200
    assert "Caso CS0000001: Certificado vencido" in page.text
    assert f"Mensaje de {CUSTOMER}" in page.text and "Adjunto el archivo." in page.text
    assert "Acuse de recibo de Mesa de ayuda" in page.text and "Recibimos su solicitud" in page.text
    assert "RUT.pdf" in page.text
    for hidden in ("credenciales", "Nota interna", "fuera de la oficina"):
        assert hidden not in page.text


@sqlite_only
def test_guessing_other_customers_case_numbers_and_attachment_ids_finds_nothing(any_db_portal: Portal) -> None:
    portal = any_db_portal
    own = case_of(portal, "CS0000001").entries[0].attachments[0]
    theirs = case_of(portal, "CS0000002").entries[0].attachments[0]
    portal.logged_in(CUSTOMER)

    for number in ("CS0000002", "cs0000002", "CS0000003", "CS9999999", "CS0000001%00", "1"):
        assert portal.get(f"/cases/{number}").status_code == 404, number
    for number, attachment in (("CS0000002", theirs.id), ("CS0000001", theirs.id), ("CS0000002", own.id)):
        assert portal.get(f"/cases/{number}/files/{attachment}").status_code == 404
    for guess in range(1, 20):
        if guess != own.id:
            assert portal.get(f"/cases/CS0000001/files/{guess}").status_code == 404
    not_found = portal.get("/cases/CS0000002")
    assert "no existe, o no está a su nombre" in not_found.text and "factura" not in not_found.text.lower()
    assert portal.get(f"/cases/CS0000001/files/{own.id}").status_code == 200


def test_an_attachment_downloads_as_a_file_never_as_a_page(portal: Portal) -> None:
    own = case_of(portal, "CS0000001").entries[0].attachments[0]

    download = portal.logged_in(CUSTOMER).get(f"/cases/CS0000001/files/{own.id}")

    assert download.content == b"%PDF-1.4 RUT de Marta\n"
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="RUT.pdf"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_an_attachment_of_a_hidden_entry_is_not_downloadable(portal: Portal) -> None:
    case = case_of(portal, "CS0000001")
    digest = store_blob(portal.config.storage_path, "attachments", b"informe interno")
    with portal.desk.session() as session:
        note = Entry(case_id=case.id, direction=Direction.IN, kind=EntryKind.NOTE, author="agente1@example.com",
                     text="Nota")
        note.attachments.append(Attachment(filename="interno.txt", content_type="text/plain", size=15, sha256=digest))
        session.add(note)
        session.commit()
        hidden = note.attachments[0].id

    assert portal.logged_in(CUSTOMER).get(f"/cases/CS0000001/files/{hidden}").status_code == 404


@sqlite_only
def test_a_reply_is_recorded_as_the_customers_mail_on_the_case_would_be(any_db_portal: Portal) -> None:
    portal = any_db_portal
    before = case_of(portal, "CS0000001")
    set_state(portal, "CS0000001", State.RESOLVED)
    portal.logged_in(CUSTOMER)

    sent = portal.post("/cases/CS0000001/reply", {"text": "Sigue fallando.\r\nAdjunto captura."},
                       files=[("files", PDF)])

    assert sent.headers["location"] == f"{BASE}/cases/CS0000001?notice=reply_sent"
    case = case_of(portal, "CS0000001")
    assert case.state is State.IN_PROGRESS, "a resolved case the customer writes on goes back in progress"
    assert case.updated_at > before.updated_at
    reply = case.entries[-1]
    assert (reply.direction, reply.kind, reply.author) == (Direction.IN, EntryKind.CUSTOMER, CUSTOMER)
    assert reply.text.strip() == "Sigue fallando.\nAdjunto captura."
    assert reply.subject == "[CS0000001] Certificado vencido" and is_ours(reply.message_id, OUR_DOMAIN)
    assert reply.raw_sha256 is not None
    raw = blob_path(portal.config.storage_path, "raw", reply.raw_sha256, ".eml").read_bytes()
    assert b"X-Mailbot-Channel: portal" in raw and CUSTOMER.encode() in raw
    (attachment,) = reply.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == ("nuevo.pdf", "application/pdf", 15)
    assert attachment.sha256 == hashlib.sha256(PDF[1]).hexdigest()
    assert blob_path(portal.config.storage_path, "attachments", attachment.sha256).read_bytes() == PDF[1]
    page = portal.client.get(sent.headers["location"]).text
    assert "Su respuesta quedó registrada en el caso." in page and "Sigue fallando." in page


def test_a_closed_case_says_what_a_reply_will_do(portal: Portal) -> None:
    set_state(portal, "CS0000001", State.CLOSED)

    page = portal.logged_in(CUSTOMER).get("/cases/CS0000001")

    assert "Este caso está cerrado: su respuesta abrirá un caso nuevo." in page.text


@pytest.mark.parametrize(("text", "files", "message"), [
    pytest.param(" ", [], "Escriba su respuesta o adjunte un archivo.", id="empty"),
    pytest.param("Van muchos", [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(11)],
                 "Puede adjuntar como máximo 10 archivos.", id="eleven files"),
    pytest.param("Va uno grande", [("files", ("grande.bin", b"x" * 1001, "application/octet-stream"))],
                 "El archivo «grande.bin» pesa más de 1 kB.", id="file over the limit"),
])
def test_a_reply_that_cannot_be_taken_says_why_and_records_nothing(
        tmp_path: Path, dovecot: PrivateDovecot, sink: SmtpCapture, text: str, files: list[object],
        message: str) -> None:
    for portal in portal_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dovecot, sink,
                             "\n[limits]\nmax_attachment_size = 1000\n"):
        entries = len(case_of(portal, "CS0000001").entries)

        refused = portal.logged_in(CUSTOMER).post("/cases/CS0000001/reply", {"text": text}, files=files or None)

        assert refused.status_code == 400 and message in refused.text
        assert 'aria-invalid="true"' in refused.text and text.strip() in refused.text
        assert len(case_of(portal, "CS0000001").entries) == entries


def test_a_body_over_the_message_size_is_refused_before_it_is_read(tmp_path: Path, dovecot: PrivateDovecot,
                                                                    sink: SmtpCapture) -> None:
    for portal in portal_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dovecot, sink,
                             "\n[limits]\nmax_message_size = 10000\nmax_attachment_size = 5000\n"):
        portal.logged_in(CUSTOMER)

        refused = portal.post("/cases/CS0000001/reply", {"text": "x"},
                              files=[("files", ("enorme.bin", b"x" * 20_000, "application/octet-stream"))])
        login = portal.client.post(f"{BASE}/login", data={"username": "x" * 100_000})

        assert refused.status_code == 413 and "Lo que envió pesa demasiado (máximo 10 kB)." in refused.text
        assert login.status_code == 413


def test_a_new_request_opens_a_case_with_the_forms_fields_acknowledged_by_mail(any_db_portal: Portal) -> None:
    portal = any_db_portal
    portal.logged_in(CUSTOMER)
    portal.desk.sink.clear()

    sent = portal.post("/new", {"queue": "clavesegura", "product": "Token criptográfico", "report": "Incidente",
                                "contact_hours": "8:00 a 12:00", "phone": "+57 601 555 0100",
                                "subject": "RE: El token no firma", "description": "Al firmar el PDF falla."},
                       files=[("files", PDF)])

    assert sent.headers["location"] == f"{BASE}/cases/CS0000004?notice=request_sent"
    case = case_of(portal, "CS0000004")
    assert (case.queue, case.subject, case.state, case.contact.email) == ("clavesegura", "El token no firma",
                                                                           State.NEW, CUSTOMER)
    (entry,) = case.entries
    assert entry.text.strip() == ("Producto: Token criptográfico\nNovedad a reportar: Incidente\n"
                                  "Horario de contacto: 8:00 a 12:00\nTeléfono de contacto: +57 601 555 0100\n\n"
                                  "Al firmar el PDF falla.")
    assert [a.filename for a in entry.attachments] == ["nuevo.pdf"]
    with portal.desk.session() as session:
        details = session.get(CaseRequest, case.id)
        assert details is not None
        assert (details.product, details.report, details.contact_hours, details.phone) == (
            "Token criptográfico", "Incidente", "8:00 a 12:00", "+57 601 555 0100")
        (ack,) = session.scalars(select(Outbox).where(Outbox.case_id == case.id)).all()
        assert (ack.kind, ack.status, ack.in_reply_to) == (MailKind.ACK, OutboxStatus.PENDING, entry.message_id)
    page = portal.client.get(sent.headers["location"]).text
    assert "Registramos su solicitud como el caso CS0000004." in page and "Token criptográfico" in page

    portal.desk.run_once()

    (mail_,) = portal.desk.sent_to(CUSTOMER)  # the acknowledgement; no second credentials mail
    assert mail_.message["Subject"] == "[CS0000004] El token no firma"
    assert mail_.message["From"].addresses[0].addr_spec == "soporte.clavesegura@example.com"


@pytest.mark.parametrize(("fields", "message"), [
    pytest.param({"subject": ""}, "Este campo es obligatorio.", id="no subject"),
    pytest.param({"queue": "inventada"}, "Elija un servicio de la lista.", id="unknown queue"),
    pytest.param({"phone": "llámenme <b>ya</b>"}, "Escriba un número de teléfono", id="bad phone"),
])
def test_a_request_that_cannot_be_taken_keeps_what_was_typed_and_opens_nothing(
        portal: Portal, fields: dict[str, str], message: str) -> None:
    portal.logged_in(CUSTOMER)
    form = {"queue": "mesadeayuda", "subject": "Asunto", "description": "Descripción <escrita>", **fields}

    refused = portal.post("/new", form)

    assert refused.status_code == 400 and message in refused.text
    assert "Descripción &lt;escrita&gt;" in refused.text
    assert "<b>ya</b>" not in refused.text
    assert portal.case_numbers(CUSTOMER) == ["CS0000001"]


def test_what_customers_type_is_shown_escaped(portal: Portal) -> None:
    portal.logged_in(CUSTOMER)
    portal.post("/new", {"queue": "mesadeayuda", "subject": "<script>alert(1)</script>",
                         "description": "<img src=x onerror=alert(1)>"})

    listing, case = portal.get("/cases").text, portal.get("/cases/CS0000004").text

    for html in (listing, case):
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in case


@pytest.mark.parametrize("path", ["/login", "/cases", "/cases/CS0000001", "/new", "/password", "/reset", "/nada"])
def test_every_page_carries_the_security_headers(portal: Portal, path: str) -> None:
    page = portal.logged_in(CUSTOMER).get(path)

    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "<script" not in page.text and "style=" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"


def test_requests_for_another_host_name_are_refused(portal: Portal) -> None:
    assert portal.client.get(f"{BASE}/login", headers={"Host": "evil.example.com"}).status_code == 400


def test_unknown_pages_and_methods_get_the_portals_error_page(portal: Portal) -> None:
    missing, wrong_method = portal.get("/nada"), portal.get("/logout")

    assert missing.status_code == 404 and "no existe" in missing.text
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"


def test_the_site_root_leads_to_the_portal_and_the_portal_root_to_my_cases(portal: Portal) -> None:
    root = portal.client.get("/", follow_redirects=False)

    assert root.headers["location"] == f"{BASE}/"
    assert portal.get("/").headers["location"] == f"{BASE}/cases"


def test_the_stylesheet_and_an_admins_own_are_served(tmp_path: Path, dovecot: PrivateDovecot,
                                                     sink: SmtpCapture) -> None:
    (tmp_path / "desk.css").write_text(":root { --band: #7a0019; }\n")
    for portal in portal_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dovecot, sink,
                             'stylesheet = "desk.css"\n'):
        page = portal.get("/login").text
        own, theirs = portal.get("/static/portal.css"), portal.get("/static/site.css")

        assert f'href="{BASE}/static/portal.css"' in page and f'href="{BASE}/static/site.css"' in page
        assert own.headers["content-type"].startswith("text/css") and "@media" in own.text
        assert theirs.text == ":root { --band: #7a0019; }\n"


def test_an_english_desk_gets_english_pages(portal: Portal) -> None:
    config = portal.config
    english = replace(config, desk=replace(config.desk, language="en"))
    set_state(portal, "CS0000001", State.IN_PROGRESS)
    with TestClient(create_app(english)) as client:
        browser = Portal(portal.desk, client, portal.passwords)
        page = browser.logged_in(CUSTOMER).get("/cases").text

    assert '<html lang="en">' in page and "My cases" in page and "Short description" in page
    assert "In progress" in page and "3 - Moderate" in page
