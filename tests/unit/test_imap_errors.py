"""IMAP errors become the server's words on one clean line (they used to print as b'[AUTHENTICATIONFAILED] …')."""

from __future__ import annotations

import imaplib
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.mail.imap_errors import describe


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        # imapclient's login re-raises imaplib's bytes as str(exc)
        (LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"),
         "[AUTHENTICATIONFAILED] Authentication failed."),
        (imaplib.IMAP4.error(b"[UNAVAILABLE] Temporary authentication failure."),
         "[UNAVAILABLE] Temporary authentication failure."),
        # imaplib's own shape for a BAD: the data list as Python shows it
        (imaplib.IMAP4.error("LOGIN command error: BAD [b'Error in IMAP command LOGIN: Invalid arguments.']"),
         "BAD Error in IMAP command LOGIN: Invalid arguments."),
        # imapclient's "<command> failed: " prefix goes: the caller names the step
        (IMAPClientError("select failed: Mailbox doesn't exist: Entrada (0.001 + 0.000 secs)."),
         "Mailbox doesn't exist: Entrada (0.001 + 0.000 secs)."),
        (IMAPClientError("SEARCH failed: [SERVERBUG] Internal error occurred."),
         "[SERVERBUG] Internal error occurred."),
        (imaplib.IMAP4.abort("socket error: EOF"), "socket error: EOF"),
        # not UTF-8: marked, not fatal
        (imaplib.IMAP4.error(b"Contrase\xf1a \xe9rronea"), "Contrase\ufffda \ufffdrronea"),
        (imaplib.IMAP4.error("b'Usuario bloqueado \\xc3\\xa1'"), "Usuario bloqueado á"),
        (ConnectionRefusedError(111, "Connection refused"), "[Errno 111] Connection refused"),
        (socket.timeout("timed out"), "timed out"),
        (OSError("first line\nsecond line"), "first line"),
        (IMAPClientError("  spaced\tout   words  "), "spaced out words"),
        (ValueError(""), "ValueError"),
        (IMAPClientError(), "error"),
    ],
)
def test_describe_gives_the_servers_words_on_one_line(exc: BaseException, expected: str) -> None:
    assert describe(exc) == expected


def test_describe_cuts_long_text() -> None:
    assert describe(IMAPClientError("x" * 400), limit=10) == "x" * 10 + "…"


@given(st.one_of(st.text(), st.binary()))
def test_describe_is_always_one_non_empty_line_without_a_bytes_repr(arg: str | bytes) -> None:
    for exc in (imaplib.IMAP4.error(arg), LoginError(str(imaplib.IMAP4.error(arg)))):
        text = describe(exc, limit=80)

        assert text and "\n" not in text and "\r" not in text and len(text) <= 81
        assert not (isinstance(arg, bytes) and text.startswith(("b'", 'b"')))
