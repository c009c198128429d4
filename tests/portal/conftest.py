"""A desk with customers who got their credentials by mail, and the portal in front of it (Starlette's TestClient).

The customers' mails go through the real path (Dovecot, ingest, the sender, the aiosmtpd sink), so the passwords
the tests log in with are the ones the credentials mails carried.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mailbot.config import Config
from mailbot.demo import temporary_password
from mailbot.desk.models import Case, Contact
from mailbot.portal.app import create_app
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.smtp_capture import SmtpCapture
from tests.conftest import DESK_ADDRESS, OTHER_ADDRESS, Desk, write_desk_config

CUSTOMER = "marta.ruiz@transportes.example.org"
COLLEAGUE = "jorge.diaz@transportes.example.org"  # same organisation ([accounts]) as CUSTOMER
STRANGER = "laura.perez@example.net"
BASE = "/csm"
NEW_PASSWORD = "caballo correcto batería grapa"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def mail(sender: str, subject: str, body: str = "Buenos días, necesito ayuda.", message_id: str = "") -> str:
    message_id = message_id or f"<{uuid.uuid4().hex}@example.org>"
    return (f"From: {sender}\nTo: {DESK_ADDRESS}\nSubject: {subject}\nDate: Mon, 23 Nov 2026 10:00:00 -0500\n"
            f"Message-ID: {message_id}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n")


def with_attachment(sender: str, subject: str, filename: str, data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return (f"From: {sender}\nTo: {DESK_ADDRESS}\nSubject: {subject}\nDate: Mon, 23 Nov 2026 10:00:00 -0500\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.org>\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n'
            f"Adjunto el archivo.\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; "
            f'filename="{filename}"\nContent-Transfer-Encoding: base64\n\n{encoded}\n--b--\n')


@dataclass
class Portal:
    """The desk, the portal's test client, and the temporary password each customer was mailed."""

    desk: Desk
    client: TestClient
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.desk.config

    def path(self, path: str) -> str:
        return BASE + path

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.get(self.path(path), follow_redirects=False, **kwargs)

    def token(self) -> str:
        """The CSRF token of this browser as it is now (any page carries it)."""
        found = _CSRF.search(self.get("/login").text) or _CSRF.search(self.get("/cases").text)
        if found is None:
            found = _CSRF.search(self.client.get(self.path("/password")).text)
        assert found is not None, "no CSRF token on the pages"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], files: Any = None, token: str | None = None) -> httpx2.Response:
        form = {"csrf": self.token() if token is None else token, **data}
        return self.client.post(self.path(path), data=form, files=files, follow_redirects=False)

    def login(self, email: str, password: str | None = None, remember: bool = False) -> httpx2.Response:
        data = {"username": email, "password": password or self.passwords[email]}
        if remember:
            data["remember"] = "on"
        return self.post("/login", data)

    def logged_in(self, email: str) -> Portal:
        """Logged in past the temporary password (a new one chosen)."""
        assert self.login(email).headers["location"] == self.path("/password")
        changed = self.post("/password", {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert changed.status_code == 303, changed.text
        self.passwords[email] = NEW_PASSWORD
        return self

    def case_numbers(self, email: str) -> list[str]:
        with self.desk.session() as session:
            return list(session.scalars(select(Case.number).join(Contact).where(Contact.email == email)
                                        .order_by(Case.id)))


def portal_for(tmp_path: Path, db_url: str, dovecot: PrivateDovecot, sink: SmtpCapture,
               extra: str = "") -> Iterator[Portal]:
    path, users = write_desk_config(tmp_path, db_url, dovecot, sink, {
        "mesadeayuda": (DESK_ADDRESS, "Mesa de ayuda"), "clavesegura": (OTHER_ADDRESS, "Soporte Clave Segura")})
    with path.open("a", encoding="utf-8") as file:
        file.write(f'[portal]\nbase_url = "http://testserver{BASE}"\n{extra}')
    desk = Desk(path, dovecot, sink, users)
    assert desk.cli("db", "upgrade") == 0
    desk.deliver(with_attachment(CUSTOMER, "Certificado vencido", "RUT.pdf", b"%PDF-1.4 RUT de Marta\n"))
    desk.deliver(with_attachment(STRANGER, "Factura de otra empresa", "factura.pdf", b"%PDF-1.4 factura ajena\n"))
    desk.deliver(mail(COLLEAGUE, "Solicitud del colega"))
    report = desk.run_once()
    assert report.outbox.sent == 6, report
    portal = Portal(desk, TestClient(create_app(desk.config)))
    for captured in sink.captured:
        password = temporary_password(captured.message)
        if password is not None:
            portal.passwords[captured.rcpt_tos[0]] = password
    assert set(portal.passwords) == {CUSTOMER, STRANGER, COLLEAGUE}
    with portal.client:
        yield portal


@pytest.fixture
def portal(tmp_path: Path, dovecot: PrivateDovecot, sink: SmtpCapture) -> Iterator[Portal]:
    """On SQLite; tests that matter on both databases take `any_db_portal`."""
    yield from portal_for(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}", dovecot, sink)


@pytest.fixture
def any_db_portal(tmp_path: Path, db_url: str, dovecot: PrivateDovecot, sink: SmtpCapture) -> Iterator[Portal]:
    yield from portal_for(tmp_path, db_url, dovecot, sink)
