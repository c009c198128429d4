"""Drain the outbox over one reused SMTP connection; retry what can succeed later, dead-letter what cannot."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config, SmtpConfig
from ..desk.accounts import hash_password, mint_password
from ..desk.models import Case, Contact, Direction, Entry, EntryKind, MailKind, Outbox, OutboxStatus, utcnow
from ..errors import first_line
from ..templates import Templates
from .compose import Envelope, compose

log = logging.getLogger(__name__)
# What a credentials mail leaves in the case history instead of its body.
SECRET_BODY = {
    "es": "(credenciales de acceso enviadas; el contenido no se guarda)",
    "en": "(access credentials sent; the content is not kept)",
}


class TemporaryDeliveryError(Exception):
    """This mail is worth retrying: a 4xx reply to it, or the connection dropped while sending it."""


class PermanentDeliveryError(Exception):
    """This mail is never worth retrying: a 5xx reply to its recipient or data (RFC 5321 §4.2.1)."""


class ServerUnavailable(Exception):
    """The server cannot take any mail now (unreachable, TLS, login, sender refused). No row is charged for it."""


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    unavailable: str | None = None


@dataclass(frozen=True)
class _Job:
    message: EmailMessage
    password: str | None


def backoff(smtp: SmtpConfig, attempts: int) -> timedelta:
    """Exponential, capped, with ±20 % jitter so a burst of failures does not retry in lockstep."""
    delay = min(smtp.retry_cap, smtp.retry_base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


class SmtpSender:
    """Claim due rows, render, send, record. No database transaction is open while the SMTP server talks."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], templates: Templates) -> None:
        self.config = config
        self.sessions = sessions
        self.templates = templates
        self._connection: aiosmtplib.SMTP | None = None

    async def drain(self, limit: int = 500) -> DrainReport:
        """Send every due outbox row once; stop early, charging nothing, when the server is unavailable."""
        report = DrainReport()
        with self.sessions() as session:
            due = session.scalars(
                select(Outbox.id)
                .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= utcnow())
                .order_by(Outbox.id)
                .limit(limit)
            ).all()
        try:
            for row_id in due:
                try:
                    await self._deliver(row_id, report)
                except ServerUnavailable as exc:
                    report.unavailable = str(exc)
                    log.error("SMTP %s:%s unavailable, the rest of the outbox waits for the next cycle: %s",
                              self.config.smtp.host, self.config.smtp.port, exc)
                    break
                except Exception as exc:  # the crash boundary: one bad row never stops the daemon
                    log.exception("outbox row %s failed", row_id)
                    self._record_failure(row_id, f"{type(exc).__name__}: {first_line(exc)}", False, report)
        finally:
            await self._disconnect()
        return report

    async def _deliver(self, row_id: int, report: DrainReport) -> None:
        with self.sessions() as session:
            row = session.get(Outbox, row_id)
            if row is None or row.status is not OutboxStatus.PENDING:
                return
            try:
                job = self._render(session, row)
            except Exception as exc:  # a template an admin broke: the mail waits for the fix, ingest goes on
                self._failed(session, row, f"template: {first_line(exc)}", permanent=False, report=report)
                return
        # The transaction is over: nothing is locked while the server is slow.
        hashing = None
        if job.password is not None:
            # argon2 costs ~30 ms of CPU and releases the GIL: overlap it with the SMTP round trips.
            hashing = asyncio.get_running_loop().run_in_executor(None, hash_password, job.password)
        try:
            await self._send(job.message)
        except BaseException as exc:
            if hashing is not None:
                hashing.cancel()  # the password was not delivered: nobody may ever use its hash
            if not isinstance(exc, (PermanentDeliveryError, TemporaryDeliveryError)):
                raise
            self._record_failure(row_id, str(exc), isinstance(exc, PermanentDeliveryError), report)
            return
        password_hash = await hashing if hashing is not None else None
        with self.sessions() as session:
            row = session.get(Outbox, row_id)
            assert row is not None
            self._sent(session, row, job.message, password_hash)
        report.sent += 1

    def _render(self, session: Session, row: Outbox) -> _Job:
        """Render now. A credentials mail gets a freshly minted password, which exists only in this message."""
        context = dict(row.context)
        password = None
        if row.kind is MailKind.CREDENTIALS:
            password = mint_password()
            context["password"] = password
        rendered = self.templates.render(row.kind.value, row.language, context)
        queue = self.config.queue(row.queue)
        case = session.get(Case, row.case_id) if row.case_id else None
        envelope = Envelope(
            sender_name=self.config.smtp.from_name or queue.name,
            sender_address=queue.address,
            recipient=row.recipient,
            message_id=row.message_id,
            in_reply_to=row.in_reply_to,
            references=row.references,
            case_number=case.number if case else None,
        )
        return _Job(compose(envelope, rendered, utcnow()), password)

    def _sent(self, session: Session, row: Outbox, message: EmailMessage, password_hash: str | None) -> None:
        """Mark it sent; for a credentials mail, store the hash of the password it carried, and only the hash."""
        now = utcnow()
        row.status, row.sent_at, row.subject, row.last_error = OutboxStatus.SENT, now, str(message["Subject"]), ""
        row.attempts += 1
        if row.case_id is not None:
            secret = SECRET_BODY.get(row.language, SECRET_BODY["es"]) if password_hash else None
            session.add(_entry_for(row, message, secret, now))
        if password_hash is not None and row.contact_id is not None:
            contact = session.get(Contact, row.contact_id)
            assert contact is not None
            contact.password_hash = password_hash
            contact.must_change_password = True
            contact.credentials_sent_at = now
        session.commit()  # one commit per mail: the window for sending twice is this line
        log.info("outbox row %s: %s sent for queue %s", row.id, row.kind.value, row.queue)

    def _record_failure(self, row_id: int, error: str, permanent: bool, report: DrainReport) -> None:
        with self.sessions() as session:
            row = session.get(Outbox, row_id)
            if row is not None:
                self._failed(session, row, error, permanent, report)

    def _failed(self, session: Session, row: Outbox, error: str, permanent: bool, report: DrainReport) -> None:
        row.attempts += 1
        row.last_error = error
        if permanent or row.attempts >= self.config.smtp.max_attempts:
            row.status = OutboxStatus.DEAD
            report.dead += 1
            log.error("outbox row %s is dead after %d attempt(s): %s", row.id, row.attempts, error)
        else:
            row.next_attempt_at = utcnow() + backoff(self.config.smtp, row.attempts)
            report.retried += 1
            log.warning("outbox row %s not sent (attempt %d), retrying at %s: %s",
                        row.id, row.attempts, _iso(row.next_attempt_at), error)
        session.commit()

    async def _send(self, message: EmailMessage) -> None:
        if self._connection is None:
            self._connection = await self._connect()
        try:
            await self._connection.send_message(message)
        except aiosmtplib.SMTPSenderRefused as exc:
            # MAIL FROM is the same for every mail: a refusal there is the server's or our configuration's.
            raise ServerUnavailable(f"sender refused: {exc.code} {exc.message}") from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusals = exc.recipients
            text = "; ".join(f"{r.code} {r.message}" for r in refusals)
            permanent = all(r.code >= 500 for r in refusals)
            raise (PermanentDeliveryError if permanent else TemporaryDeliveryError)(text) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._disconnect()
            # 552 was a temporary "exceeded storage" code before RFC 5321 §4.5.3.1.10; Mailman treats it so too.
            permanent = exc.code >= 500 and exc.code != 552
            raise (PermanentDeliveryError if permanent else TemporaryDeliveryError)(f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._disconnect()
            raise TemporaryDeliveryError(f"connection lost while sending: {type(exc).__name__}: {exc}") from None

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self.config.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.tls == "ssl",
            # True demands STARTTLS: a server without it is an error, never a silent plaintext fallback.
            start_tls=True if smtp.tls == "starttls" else False,
            timeout=smtp.timeout,
        )
        try:
            await client.connect()
            if smtp.username and smtp.password is not None:
                await client.login(smtp.username, smtp.password)
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            raise ServerUnavailable(f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from None
        return client

    async def _disconnect(self) -> None:
        client, self._connection = self._connection, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def _entry_for(row: Outbox, message: EmailMessage, secret: str | None, now: datetime) -> Entry:
    """Our mail on the case's history; a credentials mail's body is never kept."""
    body = message.get_body(("plain",))
    text = secret or (body.get_content() if body is not None else "")
    return Entry(case_id=row.case_id, direction=Direction.OUT, kind=EntryKind.SYSTEM, author=str(message["From"]),
                 subject=row.subject, text=text, message_id=row.message_id, at=now)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
