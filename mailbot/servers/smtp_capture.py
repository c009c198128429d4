"""An SMTP server on loopback that keeps every mail it receives in an mbox a person can read."""

from __future__ import annotations

import asyncio
import mailbox
import os
import signal
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session, SMTP

from .ports import free_port


@dataclass(frozen=True)
class Captured:
    """One accepted mail: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    peer: str  # the client's address and port: one per SMTP connection


@dataclass
class _Handler:
    mbox_path: Path | None
    captured: list[Captured] = field(default_factory=list)
    # Tests make the server refuse mail: a reply such as "451 4.3.0 try later" or "550 5.1.1 unknown".
    reject_with: str | None = None
    reject_sender_with: str | None = None  # e.g. "530 5.7.0 Authentication required", at MAIL FROM
    signal_next: tuple[int, int, str] | None = None  # (pid, signal number, subject part) for the next DATA, once
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if self.reject_sender_with:
            return self.reject_sender_with
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject_with:
            return self.reject_with
        raw = envelope.original_content or b""
        # SMTP speaks CRLF; parse with local line ends so decoded text reads as any file would.
        message = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            peer = ":".join(str(part) for part in session.peer) if isinstance(session.peer, tuple) else str(session.peer)
            self.captured.append(Captured(envelope.mail_from or "", tuple(envelope.rcpt_tos), message, peer))
            if self.mbox_path is not None:
                box = mailbox.mbox(self.mbox_path)
                try:
                    box.lock()
                    box.add(raw)
                    box.flush()
                finally:
                    box.unlock()
                    box.close()
            target = self.signal_next
            if target is not None and target[2] in str(message["Subject"]):
                self.signal_next = None
            else:
                target = None
        if target is not None:
            try:
                os.kill(target[0], target[1])
            except ProcessLookupError:  # it is gone already
                pass
        return "250 2.0.0 Ok: captured"


class SmtpCapture:
    """aiosmtpd's Controller with a capturing handler. `captured` lists what arrived, oldest first.

    `smtputf8=False` makes a server that does not offer SMTPUTF8 (RFC 6531), as many still do not."""

    def __init__(self, mbox_path: Path | None = None, host: str = "127.0.0.1", port: int | None = None, *,
                 smtputf8: bool = True) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.smtputf8 = smtputf8
        self._handler = _Handler(mbox_path)
        self._controller: Controller | None = None
        self.mbox_path = mbox_path

    @property
    def captured(self) -> list[Captured]:
        with self._handler.lock:
            return list(self._handler.captured)

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.captured.clear()

    def reject_with(self, reply: str | None) -> None:
        """Answer DATA with this reply instead of accepting (None: accept again)."""
        self._handler.reject_with = reply

    def reject_sender_with(self, reply: str | None) -> None:
        """Answer MAIL FROM with this reply (None: accept again)."""
        self._handler.reject_sender_with = reply

    def signal_on_next_data(self, pid: int | None, signum: int = signal.SIGKILL, subject: str = "") -> None:
        """Once: keep the next mail (whose Subject contains `subject`), then send `signum` to process `pid` before
        answering its DATA. The mail is delivered and its client never learns it: the instant in which a crash
        makes a sender send twice. None disarms it (do, once the process is gone: its pid may be reused)."""
        with self._handler.lock:
            self._handler.signal_next = None if pid is None else (pid, signum, subject)

    def start(self) -> SmtpCapture:
        # Our own loop, so that stop() can close it (the Controller leaves the one it makes open).
        self._loop = asyncio.new_event_loop()
        self._controller = Controller(self._handler, loop=self._loop, hostname=self.host, port=self.port,
                                      decode_data=False, enable_SMTPUTF8=self.smtputf8)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            self._loop.close()

    def __enter__(self) -> SmtpCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
