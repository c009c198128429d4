"""Drain the outbox over one reused SMTP connection; retry what can succeed later, dead-letter what cannot."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config, SmtpConfig
from ..desk.accounts import hash_password, mint_password
from ..desk.models import Case, Contact, Direction, Entry, EntryKind, MailKind, Outbox, OutboxStatus, utcnow
from ..templates import TemplateError, Templates
from .compose import Envelope, compose

log = logging.getLogger(__name__)
SECRET_BODY = "(credenciales de acceso enviadas; el contenido no se guarda)"


class TemporaryDeliveryError(Exception):
    """Worth retrying: 4xx replies, timeouts, refused or dropped connections."""


class PermanentDeliveryError(Exception):
    """Never worth retrying: 5xx replies (RFC 5321 §4.2.1). str() quotes the server."""


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(smtp: SmtpConfig, attempts: int) -> timedelta:
    """Exponential, capped, with ±20 % jitter so a burst of failures does not retry in lockstep."""
    delay = min(smtp.retry_cap, smtp.retry_base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


class SmtpSender:
    def __init__(self, config: Config, sessions: sessionmaker[Session], templates: Templates) -> None:
        self.config = config
        self.sessions = sessions
        self.templates = templates

    async def drain(self, limit: int = 500) -> DrainReport:
        """Send every due outbox row once; return what happened."""
        report = DrainReport()
        with self.sessions() as session:
            due = list(
                session.scalars(
                    select(Outbox)
                    .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= utcnow())
                    .order_by(Outbox.id)
                    .limit(limit)
                )
            )
            if not due:
                return report
            connection: aiosmtplib.SMTP | None = None
            loop = asyncio.get_running_loop()
            try:
                for row in due:
                    hashing: asyncio.Future[str] | None = None
                    try:
                        message, password = self._prepare(session, row)
                        if password is not None:
                            # argon2 costs ~30 ms of CPU and releases the GIL: overlap it with the SMTP round trips.
                            hashing = loop.run_in_executor(None, hash_password, password)
                        if connection is None:
                            connection = await self._connect()
                        await _send(connection, message)
                    except PermanentDeliveryError as exc:
                        self._failed(session, row, str(exc), permanent=True, report=report)
                    except TemplateError as exc:
                        self._failed(session, row, f"template: {exc}", permanent=False, report=report)
                    except TemporaryDeliveryError as exc:
                        self._failed(session, row, str(exc), permanent=False, report=report)
                        if connection is None:
                            break  # the server is unreachable: the other rows wait for the next drain untouched
                        await _drop(connection)
                        connection = None
                    else:
                        self._sent(session, row, message, await hashing if hashing else None)
                        report.sent += 1
                    finally:
                        if hashing is not None and not hashing.done():
                            hashing.cancel()
            finally:
                await _drop(connection)
        return report

    def _prepare(self, session: Session, row: Outbox) -> tuple[EmailMessage, str | None]:
        """Render now. A credentials mail gets a freshly minted password, which exists only in this message."""
        context = dict(row.context)
        password = None
        if row.kind is MailKind.CREDENTIALS:
            password = mint_password()
            context["password"] = password
        rendered = self.templates.render(row.kind.value, row.language, context)
        queue = self.config.queue(row.queue)
        case_number = session.get(Case, row.case_id).number if row.case_id else None  # type: ignore[union-attr]
        envelope = Envelope(
            sender_name=self.config.smtp.from_name or self.config.desk.name,
            sender_address=queue.address,
            recipient=row.recipient,
            message_id=row.message_id,
            in_reply_to=row.in_reply_to,
            references=row.references,
            case_number=case_number,
        )
        return compose(envelope, rendered, utcnow()), password

    def _sent(self, session: Session, row: Outbox, message: EmailMessage, password_hash: str | None) -> None:
        """Mark it sent; for a credentials mail, store the hash of the password it carried, and only the hash."""
        now = utcnow()
        row.status, row.sent_at, row.subject, row.last_error = OutboxStatus.SENT, now, str(message["Subject"]), ""
        row.attempts += 1
        if row.case_id is not None:
            session.add(_entry_for(row, message, secret=password_hash is not None, now=now))
        if password_hash is not None and row.contact_id is not None:
            contact = session.get(Contact, row.contact_id)
            assert contact is not None
            contact.password_hash = password_hash
            contact.must_change_password = True
            contact.credentials_sent_at = now
        session.commit()  # one commit per mail: the window for sending twice is this line
        log.info("sent %s for %s to outbox row %s", row.kind.value, row.queue, row.id)

    def _failed(self, session: Session, row: Outbox, error: str, permanent: bool, report: DrainReport) -> None:
        row.attempts += 1
        row.last_error = error
        if permanent or row.attempts >= self.config.smtp.max_attempts:
            row.status = OutboxStatus.DEAD
            report.dead += 1
            log.error("outbox row %s is dead after %d attempts: %s", row.id, row.attempts, error)
        else:
            row.next_attempt_at = utcnow() + backoff(self.config.smtp, row.attempts)
            report.retried += 1
            log.warning("outbox row %s not sent (attempt %d), retrying at %s: %s",
                        row.id, row.attempts, _iso(row.next_attempt_at), error)
        report.errors.append(error)
        session.commit()

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self.config.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.tls == "ssl",
            start_tls=True if smtp.tls == "starttls" else False,
            timeout=smtp.timeout,
        )
        try:
            await client.connect()
            if smtp.username and smtp.password is not None:
                await client.login(smtp.username, smtp.password)
        except aiosmtplib.SMTPResponseException as exc:
            raise _translate(exc) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryDeliveryError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from None
        return client


async def _send(client: aiosmtplib.SMTP, message: EmailMessage) -> None:
    try:
        await client.send_message(message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusals = exc.recipients
        permanent = all(r.code >= 500 for r in refusals)
        text = "; ".join(f"{r.code} {r.message}" for r in refusals)
        raise (PermanentDeliveryError if permanent else TemporaryDeliveryError)(text) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _translate(exc) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from None


def _translate(exc: aiosmtplib.SMTPResponseException) -> Exception:
    text = f"{exc.code} {exc.message}"
    # 552 was a temporary "exceeded storage" code before RFC 5321 §4.5.3.1.10; Mailman treats it as temporary too.
    if exc.code >= 500 and exc.code != 552:
        return PermanentDeliveryError(text)
    return TemporaryDeliveryError(text)


async def _drop(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _entry_for(row: Outbox, message: EmailMessage, secret: bool, now: datetime) -> Entry:
    """Our mail on the case's history; a credentials mail's body is never kept."""
    body = message.get_body(("plain",))
    text = SECRET_BODY if secret or body is None else body.get_content()
    return Entry(case_id=row.case_id, direction=Direction.OUT, kind=EntryKind.SYSTEM, author=str(message["From"]),
                 subject=row.subject, text=text, message_id=row.message_id, at=now)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
