"""Read a bounce (an RFC 3464 report or a mail server's own format) into the outbound mail it reports and why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import cast

from .parse import leaf_parts

from flufl.bounce import all_failures

__all__ = ["Bounce", "parse_bounce"]

MAX_DIAGNOSTIC = 500  # the server's words for a person reading `outbox list`, not a transcript
# Message-IDs kept of the returned mail. A report returns one message, whose header names one id; ten leave room
# for a notice that returns a few messages, and keep what a forged report (260,000 ids once) puts in the outbox
# lookup's IN (…) small. The ids come in the order the report gives them, so a real bounce's is among the first.
MAX_ORIGINAL_IDS = 10
_MSG_ID = re.compile(r"<[^<>\s]+>")
_ATTACHED_MESSAGES = frozenset({"message/rfc822", "message/global"})  # message/global: RFC 6532
_ATTACHED_HEADERS = frozenset({"text/rfc822-headers", "message/global-headers"})  # RFC 6522, RFC 6533
_FAILED_ACTIONS = ("failed", "error")  # "error": OpenSMTPD's non-standard spelling of "failed"
# RFC 3463 enhanced status code class.subject.detail, and an RFC 5321 failure reply code.
_ENHANCED_STATUS = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?![\w.])")
_SMTP_FAILURE = re.compile(r"(?<![\w.])[45]\d\d[ -]")
# A continuation line of a multi-line SMTP reply repeats the codes (RFC 5321 §4.2.1): "550-5.1.1 more text".
_REPLY_CONTINUATION = re.compile(r"^\s*[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s)?")
# Where a non-standard bounce starts quoting the message it returns (Exim, qmail, Exchange, Sendmail). Both
# patterns read one line from its start, never the blank lines after it: "\s*" there ran to the end of every run of
# blank lines from each of its lines, and "-{2,}.*" tried every split of a line of dashes (a forged 80 kB notice took
# a minute).
_COPY_MARKER = re.compile(r"^[^\S\n]*--.*(?:copy of|below this line|original message)", re.IGNORECASE | re.MULTILINE)
_QUOTED_MESSAGE_ID = re.compile(r"^(?:[^\S\n]|>)*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_MAIL_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})


@dataclass(frozen=True)
class Bounce:
    """What a bounce says about one outbound mail.

    ``status`` is the RFC 3463 code (``"5.1.1"``), ``action`` the report's Action (``"failed"``, ``"delayed"``;
    None when the format has none), ``diagnostic`` one line of the server's words, and ``permanent`` False
    when the server is still retrying (a 4.x.x status or Action: delayed).
    """

    original_message_ids: tuple[str, ...]
    recipient: str | None
    status: str | None
    action: str | None
    diagnostic: str
    permanent: bool


def parse_bounce(raw: bytes) -> Bounce | None:
    """The bounce in ``raw``, or None when it is not one.

    Not bounces: read receipts and other reports (multipart/report whose report-type is not delivery-status,
    e.g. RFC 8098 disposition-notification), success reports (Action: delivered, relayed, expanded), and a
    server-format bounce that a person forwarded (it does not come from the mail system).
    """
    head = BytesHeaderParser().parsebytes(raw)  # most mail is no bounce: its headers say so without a full parse
    if head.get_content_type() != "multipart/report" and not _from_mail_system(head):
        return None
    msg = message_from_bytes(raw)  # compat32 Messages: what flufl.bounce's detectors read
    parts = list(leaf_parts(msg))
    if msg.get_content_type() == "multipart/report":
        report_type = msg.get_param("report-type", header="content-type")
        if report_type is not None and str(report_type).lower() != "delivery-status":
            return None  # RFC 6522 requires report-type; without one, a delivery-status part decides
        reported = _dsn_recipient(parts)
        return None if reported is None else _from_dsn(reported, msg, parts)
    if not _from_mail_system(msg):
        return None
    return _from_server_format(msg, parts)


def _dsn_recipient(parts: list[Message]) -> Message | None:
    """The first per-recipient block that failed, else the first that is delayed (RFC 3464 §2.3)."""
    blocks = [
        block
        for part in parts
        if part.get_content_type() == "message/delivery-status" and part.is_multipart()
        for block in cast(list[Message], part.get_payload())
    ]
    actions = [(_action(block), block) for block in blocks]
    failed = next((block for action, block in actions if action.startswith(_FAILED_ACTIONS)), None)
    return failed or next((block for action, block in actions if action.startswith("delayed")), None)


def _action(block: Message) -> str:
    return " ".join(str(block.get("action", "")).split()).lower()


def _from_dsn(block: Message, msg: Message, parts: list[Message]) -> Bounce:
    action = _action(block).split(" ")[0]
    found = _ENHANCED_STATUS.search(str(block.get("status", "")))
    status = found.group(1) if found else None
    diagnostic = _diagnostic_code(str(block.get("diagnostic-code", ""))) or _notice_line(parts) or _subject(msg)
    return Bounce(
        original_message_ids=_original_message_ids(parts),
        recipient=_recipient_field(block),
        status=status,
        action=action,
        diagnostic=_one_line(diagnostic),
        permanent=status[0] == "5" if status else action in _FAILED_ACTIONS,
    )


def _recipient_field(block: Message) -> str | None:
    """Original-Recipient (the address as we sent it), else Final-Recipient; the type ("rfc822;") dropped."""
    for name in ("original-recipient", "final-recipient"):
        _, _, value = str(block.get(name, "")).partition(";")
        address = parseaddr(value.strip())[1]
        if "@" in address:
            return address.lower()
    return None


def _diagnostic_code(value: str) -> str:
    """Diagnostic-Code text without its type (RFC 3464 §2.3.6) and the repeated codes of a multi-line reply."""
    _, _, text = value.partition(";")
    first, *rest = text.strip().splitlines() or [""]
    return " ".join([first, *(_REPLY_CONTINUATION.sub("", line) for line in rest)])


def _from_mail_system(msg: Message) -> bool:
    """Null reverse-path (RFC 5321 §4.5.5), MAILER-DAEMON/postmaster, or RFC 3834 Auto-Submitted."""
    local_part = parseaddr(str(msg.get("from", "")))[1].partition("@")[0].lower()
    return (
        str(msg.get("return-path", "")).strip() == "<>"
        or local_part in _MAIL_SYSTEM_SENDERS
        or str(msg.get("auto-submitted", "no")).strip().lower() != "no"
    )


def _from_server_format(msg: Message, parts: list[Message]) -> Bounce | None:
    """A bounce in a server's own format (Exim, qmail, Exchange...), as flufl.bounce's detectors know them."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # heuristic detectors on hostile input; an unreadable bounce is not one
        return None
    failed = sorted(permanent) or sorted(temporary)
    if not failed:
        return None
    line = _notice_line(parts)
    found = _ENHANCED_STATUS.search(line)
    status = found.group(1) if found else None
    return Bounce(
        original_message_ids=_original_message_ids(parts),
        recipient=failed[0].decode("ascii").lower(),
        status=status,
        action=None,
        diagnostic=_one_line(line or _subject(msg)),
        permanent=status[0] == "5" if status else bool(permanent),
    )


def _notice_line(parts: list[Message]) -> str:
    """The first line of the human-readable notice that carries an SMTP failure or status code, or ""."""
    for text in _texts(parts):
        notice = _COPY_MARKER.split(text, maxsplit=1)[0]
        for line in notice.splitlines():
            if _ENHANCED_STATUS.search(line) or _SMTP_FAILURE.search(line):
                return line
    return ""


def _texts(parts: list[Message]) -> Iterator[str]:
    for part in parts:
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                try:
                    yield payload.decode(part.get_content_charset() or "ascii", "replace")
                except LookupError:  # a charset Python does not know: the codes and ids are ASCII anyway
                    yield payload.decode("latin-1")


def _original_message_ids(parts: list[Message]) -> tuple[str, ...]:
    """The first MAX_ORIGINAL_IDS Message-IDs of the returned mail: an attached message or its headers, else
    "Message-ID:" lines quoted in the notice text (Exim and qmail paste the message below it)."""
    found: list[str] = []
    for part in parts:
        ctype = part.get_content_type()
        if ctype in _ATTACHED_MESSAGES and part.is_multipart():
            for attached in cast(list[Message], part.get_payload()):
                found += _msg_ids(str(attached.get("message-id", "")))
        elif ctype in _ATTACHED_HEADERS:
            headers = BytesHeaderParser().parsebytes(_wire_payload(part))
            found += _msg_ids(str(headers.get("message-id", "")))
    if not found:
        found = [match.group(1) for text in _texts(parts) for match in _QUOTED_MESSAGE_ID.finditer(text)]
    return tuple(dict.fromkeys(found))[:MAX_ORIGINAL_IDS]


def _wire_payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return str(part.get_payload()).encode("utf-8", "surrogateescape")  # a message/* part is never decoded


def _msg_ids(value: str) -> list[str]:
    return _MSG_ID.findall("".join(value.split()))  # ids folded mid-way still match


def _subject(msg: Message) -> str:
    value = str(msg.get("subject", ""))
    try:
        return str(make_header(decode_header(value)))  # RFC 2047 encoded words
    except Exception:  # bad base64, unknown charsets: the text as it came
        return value


def _one_line(text: str) -> str:
    """Whitespace collapsed, capped at MAX_DIAGNOSTIC characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_DIAGNOSTIC else line[: MAX_DIAGNOSTIC - 1] + "…"
