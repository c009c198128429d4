"""Speak SMTP to the configured server over one reused connection, and translate its errors into three of ours."""

from __future__ import annotations

from email.message import EmailMessage
from types import TracebackType

import aiosmtplib

from ..config import SmtpConfig


class TemporaryDeliveryError(Exception):
    """This mail is worth retrying: a 4xx reply to it, or the connection dropped while sending it."""


class PermanentDeliveryError(Exception):
    """This mail is never worth retrying: a 5xx reply to its recipient or data (RFC 5321 §4.2.1), or an address
    this server cannot carry."""


class ServerUnavailable(Exception):
    """The server cannot take any mail now (unreachable, TLS, login, sender refused). No mail is to blame."""


class SmtpTransport:
    """Connects on the first `send`, keeps the connection for the next ones, and `close`s it.

    Every error comes out as `TemporaryDeliveryError` or `PermanentDeliveryError` (about the mail in hand) or
    `ServerUnavailable` (about every mail); str() is one line with the server's own words when it gave any."""

    def __init__(self, smtp: SmtpConfig) -> None:
        self.smtp = smtp
        self._client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> SmtpTransport:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def send(self, message: EmailMessage) -> str:
        """Hand `message` to the server for the addresses in its headers; return the server's acceptance reply."""
        client = self._client or await self._connect()
        try:
            _, reply = await client.send_message(message)
        except aiosmtplib.SMTPSenderRefused as exc:
            # RFC 1870 §6.1: 552 to MAIL FROM with SIZE means this message is too big, not that we may not send.
            if exc.code == 552:
                raise PermanentDeliveryError(f"{exc.code} {exc.message}") from None
            # Otherwise MAIL FROM is a queue's address: a refusal is the server's or our configuration's doing.
            raise ServerUnavailable(f"sender refused: {exc.code} {exc.message}") from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            permanent = all(r.code >= 500 for r in exc.recipients)
            raise (PermanentDeliveryError if permanent else TemporaryDeliveryError)(text) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            # 552 was a temporary "exceeded storage" code before RFC 5321 §4.5.3.1.10; Mailman treats it so too.
            permanent = exc.code >= 500 and exc.code != 552
            raise (PermanentDeliveryError if permanent else TemporaryDeliveryError)(f"{exc.code} {exc.message}") from None
        except aiosmtplib.SMTPNotSupported:
            # RFC 6531: an address with non-ASCII characters travels only where the server offers SMTPUTF8.
            # The connection is intact (nothing was sent) and this server will not learn it for this mail.
            raise PermanentDeliveryError(
                f"{_non_ascii_addresses(message)} needs SMTPUTF8 (RFC 6531), which the SMTP server "
                f"{self.smtp.host}:{self.smtp.port} does not offer") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise TemporaryDeliveryError(f"connection lost while sending: {type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # aiosmtplib refuses an address it cannot put on the wire safely
            raise PermanentDeliveryError(f"cannot be sent: {exc}") from None
        return reply

    async def close(self) -> None:
        """QUIT if connected; safe to call at any time."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self.smtp
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
        self._client = client
        return client


def _non_ascii_addresses(message: EmailMessage) -> str:
    """"josé@example.org", or every such address in From/To/Cc, for the reason kept on the outbox row."""
    found = [
        address.addr_spec
        for header in ("From", "To", "Cc")
        for address in getattr(message[header], "addresses", ())
        if not address.addr_spec.isascii()
    ]
    return ", ".join(found) or "an address"
