"""Fixtures with real parts: a private Dovecot, an aiosmtpd sink, SQLite and the PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from mailbot import cli, store
from mailbot.config import Config, load_config
from mailbot.app import App
from mailbot.daemon import CycleReport, run_once
from mailbot.desk.password_hashes import temporary_key, verify
from mailbot.desk.settings import desk_secret
from mailbot.servers.desk_config import MESSAGE_ID_DOMAIN, LoopbackQueue, write_loopback_config
from mailbot.servers.dovecot import PrivateDovecot
from mailbot.servers.smtp_capture import Captured, SmtpCapture

POSTGRES_URL = os.environ.get("MAILBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IMAP_PASSWORD = "test-password"
DESK_ADDRESS = "mesadeayuda@example.com"
OTHER_ADDRESS = "soporte.clavesegura@example.com"
OUR_DOMAIN = MESSAGE_ID_DOMAIN
CREDENTIALS = "su usuario ha sido creado"  # the credentials mail's subject, after its case number


@pytest.fixture(scope="session")
def dovecot() -> Iterator[PrivateDovecot]:
    root = Path(tempfile.mkdtemp(prefix="mailbot-test-dovecot-"))
    with PrivateDovecot(root, password=IMAP_PASSWORD) as server:
        yield server
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpCapture]:
    with SmtpCapture() as server:
        yield server


@pytest.fixture
def sink(smtp_server: SmtpCapture) -> Iterator[SmtpCapture]:
    """The session's SMTP sink, emptied and accepting for this test."""
    smtp_server.clear()
    smtp_server.reject_with(None)
    smtp_server.reject_sender_with(None)
    yield smtp_server
    smtp_server.reject_with(None)
    smtp_server.reject_sender_with(None)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own that is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailbot.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required for the database tests: {exc}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@dataclass
class Desk:
    """A configured desk for one test: its own IMAP users (so its own mailboxes), database and storage."""

    config_path: Path
    dovecot: PrivateDovecot
    sink: SmtpCapture
    users: dict[str, str]

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def imap(self, queue: str = "mesadeayuda") -> IMAPClient:
        client = IMAPClient(self.dovecot.host, port=self.dovecot.port, ssl=False)
        client.login(self.users[queue], IMAP_PASSWORD)
        return client

    def deliver(self, raw: bytes | str, queue: str = "mesadeayuda") -> None:
        """APPEND a message to a queue's inbox, as the desk's mail server would deliver it."""
        data = raw.encode() if isinstance(raw, str) else raw
        with self.imap(queue) as client:
            client.append("INBOX", data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def folder(self, name: str, queue: str = "mesadeayuda") -> list[bytes]:
        """The raw messages in a folder, oldest first ([] when the folder does not exist yet)."""
        with self.imap(queue) as client:
            if not client.folder_exists(name):
                return []
            client.select_folder(name, readonly=True)
            uids = sorted(client.search(["ALL"]))
            return [data[b"BODY[]"] for uid, data in sorted(client.fetch(uids, ["BODY.PEEK[]"]).items())] if uids else []

    def run_once(self) -> CycleReport:
        """One cycle in-process, as `mailbot run --once` does."""
        app = App.open(self.config)
        try:
            return run_once(app)
        finally:
            app.close()

    def cli(self, *args: str) -> int:
        return cli.main(["--config", str(self.config_path), *args])

    @contextmanager
    def session(self) -> Iterator[Session]:
        engine = store.make_engine(self.config.database_url)
        try:
            with store.session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()

    def password_verifies(self, password_hash: str | None, password: str) -> bool:
        """Whether a stored hash (either scheme) takes `password`, under this desk's key for temporary ones."""
        with self.session() as session:
            key = temporary_key(desk_secret(session, self.config))
        return password_hash is not None and verify(key, password_hash, password)

    def sent_to(self, address: str) -> list[Captured]:
        return [c for c in self.sink.captured if address in c.rcpt_tos]

    def first_mails(self, address: str) -> tuple[Captured, Captured]:
        """The credentials mail and the acknowledgement a first-time customer got, whichever arrived first (they
        travel over different SMTP connections, and the credentials wait for their password's hash)."""
        credentials, ack = sorted(self.sent_to(address), key=lambda c: CREDENTIALS not in str(c.message["Subject"]))
        return credentials, ack


def write_desk_config(tmp_path: Path, db_url: str, dovecot: PrivateDovecot, sink: SmtpCapture,
                      queues: dict[str, tuple[str, str]]) -> tuple[Path, dict[str, str]]:
    """A desk with its own IMAP users (so its own empty mailboxes); fast retries for the outbox tests."""
    tag = uuid.uuid4().hex[:8]
    users = {key: f"{key}-{tag}" for key in queues}
    path = write_loopback_config(
        tmp_path / "mailbot.toml", db_url=db_url, imap_port=dovecot.port, imap_password=IMAP_PASSWORD,
        smtp_port=sink.port, smtp={"retry_base": 0, "max_attempts": 3},
        accounts={"transportes.example.org": "Transportes Ejemplo S.A.S."},
        queues=[LoopbackQueue(key, address, name, users[key]) for key, (address, name) in queues.items()],
    )
    return path, users


@pytest.fixture
def desk(tmp_path: Path, db_url: str, dovecot: PrivateDovecot, sink: SmtpCapture) -> Desk:
    path, users = write_desk_config(
        tmp_path, db_url, dovecot, sink,
        {"mesadeayuda": (DESK_ADDRESS, "Mesa de ayuda"), "clavesegura": (OTHER_ADDRESS, "Soporte Clave Segura")},
    )
    desk = Desk(path, dovecot, sink, users)
    assert desk.cli("db", "upgrade") == 0
    return desk
