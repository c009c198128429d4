"""One IMAP IDLE (RFC 2177) on the imaplib connection under imapclient: start, wait for news of mail, done.

imapclient's `idle_check` waits on the socket alone, so a response that came in the same packet as the
continuation ("+ idling" and "* 4 EXISTS" together: Dovecot reports mail that arrived just before IDLE that way)
stays unseen in imaplib's read buffer until DONE (mjs/imapclient#321); and it reads in non-blocking mode, which
drops a line split across packets (mjs/imapclient#519). This reads whole responses with imaplib itself and
looks in its buffer before waiting on the socket. What the server announces lands where imaplib files every
untagged response, and `take_news` reads it from there.
"""

from __future__ import annotations

import imaplib
import selectors
import ssl
import threading
import time
from socket import socket as Socket
from typing import Any, Protocol

STOP_CHECK = 0.5  # seconds between looks at the stop event while nothing arrives


class Imaplib(Protocol):
    """What this uses of the imaplib.IMAP4 that imapclient keeps as `_imap`, private parts included: imaplib
    has had no IDLE of its own before Python 3.14."""

    tagged_commands: dict[bytes, Any]  # tag → None, then (type, [data]) once answered
    untagged_responses: dict[str, list[Any]]  # "EXISTS" → [b"4"], ...
    file: Any  # the buffered reader over the socket

    def _command(self, name: str, *args: str) -> bytes: ...

    def _get_response(self) -> bytes | None: ...

    def socket(self) -> Socket: ...

    def send(self, data: bytes) -> None: ...


class IdleRefused(Exception):
    """The server answered IDLE with a tagged NO or BAD; str() is its answer."""


class Idle:
    """One IDLE command on `imap` (imapclient registers IDLE among imaplib's commands): making it sends IDLE;
    then `wait` as often as wanted, then `done`. Any other command in between would break the connection."""

    def __init__(self, imap: Imaplib) -> None:
        self.imap = imap
        self.tag = imap._command("IDLE")
        # RFC 2177 §3: the server answers "+" and idles, or refuses with a tagged NO or BAD. Untagged responses
        # may come first; imaplib files them.
        while imap._get_response() is not None:
            if imap.tagged_commands[self.tag] is not None:
                raise IdleRefused(self._answer())

    def wait(self, until: float, stop: threading.Event | None = None) -> None:
        """Read what the server pushes until it announces mail, `until` (a time.monotonic() value) passes or
        `stop` is set. A closed connection raises imaplib.IMAP4.abort, a silent one socket.timeout."""
        imap = self.imap
        with selectors.DefaultSelector() as selector:
            selector.register(imap.socket(), selectors.EVENT_READ)
            while not has_news(imap) and not imap.tagged_commands[self.tag]:
                left = until - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    return
                if _buffered(imap) or selector.select(min(STOP_CHECK, left)):
                    imap._get_response()  # blocking, with the read timeout: a whole response, literals included

    def done(self) -> None:
        """Leave IDLE (RFC 2177 "DONE") and read up to its tagged answer; the connection is usable again."""
        imap = self.imap
        if not imap.tagged_commands[self.tag]:  # unless the server ended it itself
            imap.send(b"DONE\r\n")
        while not imap.tagged_commands[self.tag]:
            imap._get_response()
        answer = self._answer()
        if not answer.startswith("OK"):
            raise imaplib.IMAP4.error(f"IDLE ended with {answer}")

    def _answer(self) -> str:
        """The tagged answer, taken from imaplib's table: "NO [CANNOT] IDLE is not allowed here"."""
        kind, data = self.imap.tagged_commands.pop(self.tag)
        return f"{kind} {_text(data)}".strip()


def has_news(imap: Imaplib) -> bool:
    """Whether the server announced mail (EXISTS, or a RECENT count above 0: RFC 3501 §7.3.1-2) since
    `take_news` last ran, whichever command's answer it came with."""
    recent = imap.untagged_responses.get("RECENT", [])
    return "EXISTS" in imap.untagged_responses or any(count != b"0" for count in recent)


def take_news(imap: Imaplib) -> bool:
    """`has_news`, and forget it. Unsolicited EXPUNGE and FETCH go too: imaplib would keep one per moved message
    for as long as the connection lives, and imapclient would read a stale FETCH (FLAGS) into the next FETCH."""
    news = has_news(imap)
    for name in ("EXISTS", "RECENT", "EXPUNGE", "FETCH"):
        imap.untagged_responses.pop(name, None)
    return news


def _buffered(imap: Imaplib) -> bool:
    """Whether bytes wait that select() would not report: already in imaplib's read buffer, or decrypted
    inside the TLS layer. Peeking without blocking reads at most what the socket has ready."""
    sock = imap.socket()
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bool(imap.file.peek(1))
    except ssl.SSLWantReadError:
        return False
    finally:
        sock.settimeout(timeout)


def _text(data: list[Any]) -> str:
    last = data[-1] if data else b""
    return last.decode("utf-8", "replace") if isinstance(last, bytes) else str(last)
