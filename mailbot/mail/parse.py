"""Turn raw RFC 5322 bytes into an InboundMail, degrading gracefully on malformed or mis-labelled input."""

from __future__ import annotations

import codecs
import hashlib
import io
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email.generator import BytesGenerator, Generator
from email.header import decode_header
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import cast

from inscriptis import get_text

__all__ = ["Attachment", "InboundMail", "ParseError", "parse_message"]

_MSG_ID = re.compile(r"<[^<>\s]+>")
MAX_MESSAGE_ID = 255  # the database columns' width; RFC 5322 sets no limit, real ids are far shorter
MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3: a longer path cannot be delivered to, so it is nobody's address
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")  # raw 8-bit bytes as the email package keeps them
_TOO_MANY_BLANK_LINES = re.compile(r"\n{4,}")  # three or more blank lines in a row
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_FINGERPRINT_HEADERS = ("from", "date", "subject", "message-id")
# Only the built-in table, so an attachment gets the same extension on every host.
_MIME_TYPES = mimetypes.MimeTypes()


@dataclass(frozen=True)
class Attachment:
    """One file carried by a mail; filename is always a non-empty, safe basename."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class InboundMail:
    """A parsed inbound mail: decoded fields for the desk plus the raw bytes for archiving."""

    raw: bytes = field(repr=False)
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str | None
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    text: str = field(repr=False)
    html: str | None = field(repr=False)
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    fingerprint: str

    def header(self, name: str) -> str | None:
        """First decoded value of a header (case-insensitive), or None when the mail has none."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


class _TolerantPolicy(EmailPolicy):
    """email.policy.default, except that a header its parser chokes on reads as its plain text."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        try:
            return cast(str, super().header_fetch_parse(name, value))
        except Exception:  # e.g. ValueError for a NUL in an RFC 2231 charset, IndexError in address lists
            return _unfold(value)


_POLICY = _TolerantPolicy()  # same settings as email.policy.default


class ParseError(Exception):
    """Raised when bytes are not an e-mail at all; str(err) is a reason a person can read."""


def parse_message(raw: bytes) -> InboundMail:
    """Parse one mail; only input without any header block raises, everything else degrades."""
    raw = bytes(raw)
    if not raw.strip():
        raise ParseError("empty input: there is no mail to parse")
    field_count, body = _split_header_block(raw)
    if field_count == 0:
        raise ParseError("not an e-mail: the input does not start with 'Name: value' header lines")
    msg = message_from_bytes(raw, policy=_POLICY)
    texts = [(name.lower(), _unfold(value)) for name, value in msg.raw_items()]
    headers = tuple((name, _clean(_decode_words(value)).strip()) for name, value in texts)
    found = dict(reversed(headers))  # first occurrence wins

    senders = _addresses(next((value for name, value in texts if name == "from"), ""))
    plain, html, attachments = _walk_body(msg, "\r\n" if b"\r\n" in raw else "\n")
    if plain is None or (not plain.strip() and html):
        plain = _html_to_text(html) if html else ""
    return InboundMail(
        raw=raw,
        message_id=_message_id(found.get("message-id", "")),
        in_reply_to=_msg_ids(found.get("in-reply-to", "")),
        references=_msg_ids(found.get("references", "")),
        subject=" ".join(found.get("subject", "").split()),
        from_addr=senders[0][1] if senders else None,
        from_name=senders[0][0] if senders else "",
        to=tuple(addr for name, value in texts if name == "to" for _, addr in _addresses(value)),
        cc=tuple(addr for name, value in texts if name == "cc" for _, addr in _addresses(value)),
        date=_parse_date(found.get("date", "")),
        text=plain,
        html=html,
        attachments=tuple(attachments),
        headers=headers,
        fingerprint=_fingerprint(msg, body),
    )


def _split_header_block(raw: bytes) -> tuple[int, bytes]:
    """Count header fields and return the body bytes, ending the block where the email package does."""
    lines = raw.splitlines(keepends=True)
    start = 1 if lines and lines[0].startswith(b"From ") else 0  # mbox "From " envelope line
    offset, count = sum(len(line) for line in lines[:start]), 0
    for line in lines[start:]:
        if not line.strip(b"\r\n"):
            return count, raw[offset + len(line) :]
        name, colon, _ = line.partition(b":")
        is_continuation = line[:1] in (b" ", b"\t")
        if not is_continuation and not (colon and name and all(33 <= byte <= 126 for byte in name)):
            break  # first line that is not a header starts the body (no blank separator)
        count += 0 if is_continuation else 1
        offset += len(line)
    return count, raw[offset:]


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode by the declared charset, falling back when it is unknown or lies; never emits U+FFFD."""
    candidates: list[str] = []
    if charset:
        try:
            name = codecs.lookup(charset.strip().strip('"')).name
        except (LookupError, ValueError):
            name = None
        if name == "iso8859-1":
            candidates.append("cp1252")  # what "ISO-8859-1" senders really mean (as browsers assume)
        if name:
            candidates.append(name)
    for candidate in (*candidates, "utf-8", "cp1252"):
        try:
            return data.decode(candidate)
        except (LookupError, ValueError):
            continue
    return data.decode("latin-1")


def _clean(text: str) -> str:
    """Decode raw bytes kept as surrogates, drop NULs (PostgreSQL rejects them) and any stray surrogate."""
    text = _ESCAPED_BYTES.sub(lambda m: _decode_bytes(m.group().encode("utf-8", "surrogateescape"), None), text)
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _unfold(value: str) -> str:
    """Undo header folding and decode 8-bit header bytes (UTF-8, else windows-1252/latin-1)."""
    return _clean(value.replace("\r", "").replace("\n", ""))


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words, each by its own charset, tolerating unknown or lying ones."""
    if "=?" not in text:
        return text
    try:
        chunks = decode_header(text)
    except Exception:  # bad base64 and friends: keep the text as it came
        return text
    return "".join(
        chunk if isinstance(chunk, str)
        # decode_header turns plain runs into bytes with raw-unicode-escape; undo exactly that.
        else chunk.decode("raw-unicode-escape") if charset is None
        else _decode_bytes(chunk, charset)
        for chunk, charset in chunks
    )


def _addresses(value: str) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) pairs; malformed lists fall back to the lenient parser."""
    try:
        pairs = [(a.display_name, a.addr_spec) for a in _POLICY.header_factory("to", value).addresses]
    except Exception:  # the strict parser raises IndexError/HeaderParseError on hostile input
        pairs = getaddresses([value])
    return [(_clean(_decode_words(name)).strip(), addr.lower()) for name, addr in pairs
            if "@" in addr and len(addr) <= MAX_ADDRESS]


def _message_id(value: str) -> str | None:
    """The id in "<...>" form; bare ids get brackets, empty ones become None."""
    ids, bare = _msg_ids(value), "".join(value.split()).strip("<>")
    return ids[0] if ids else _bounded(f"<{bare}>") if bare else None


def _msg_ids(value: str) -> tuple[str, ...]:
    """All "<...>" ids in order; whitespace is dropped first so ids folded mid-way still match."""
    return tuple(_bounded(found) for found in _MSG_ID.findall("".join(value.split())))


def _bounded(message_id: str) -> str:
    """Real ids are short; a hostile long one becomes a stable digest, so it still dedups and threads."""
    if len(message_id) <= MAX_MESSAGE_ID:
        return message_id
    return f"<{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()}@long-id.invalid>"


def _parse_date(value: str) -> datetime | None:
    """Timezone-aware Date; "-0000" (zone unknown) is read as UTC, unparseable dates become None."""
    try:
        moment = _POLICY.header_factory("date", value).datetime
    except Exception:
        moment = None
    return moment.replace(tzinfo=moment.tzinfo or timezone.utc) if moment else None


def _fingerprint(msg: Message, body: bytes) -> str:
    """Hash of content headers and body, so redeliveries to other mailboxes hash the same."""
    digest = hashlib.sha256()
    for wanted in _FINGERPRINT_HEADERS:
        value = next((v for name, v in msg.raw_items() if name.lower() == wanted), None)
        # Tag and length-prefix each field so a missing header and adjacent values cannot collide.
        data = b"-" if value is None else b"+" + value.encode("ascii", "surrogateescape")
        data = data.replace(b"\r\n", b"\n")  # CRLF (IMAP) and LF (maildir) copies are one message
        digest.update(len(data).to_bytes(8, "big") + data)
    digest.update(body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def _leaf_parts(msg: Message) -> Iterator[Message]:
    """Leaves in document order; attached messages are yielded whole, not descended into."""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            stack.extend(reversed(cast(list[Message], part.get_payload())))
        else:
            yield part


def _walk_body(msg: Message, linesep: str) -> tuple[str | None, str | None, list[Attachment]]:
    """First body text/plain, first body text/html and every attachment (inline images included)."""
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in _leaf_parts(msg):
        ctype = part.get_content_type()
        filename = _declared_filename(part)
        if ctype in _MESSAGE_TYPES or part.is_multipart():
            attachments.append(_attachment(ctype, filename, _wire_body(part, linesep), len(attachments) + 1))
        elif part.get_content_disposition() == "attachment" or filename is not None or ctype not in _BODY_TYPES:
            attachments.append(_attachment(ctype, filename, _payload(part), len(attachments) + 1))
        elif ctype == "text/plain" and plain is None:
            plain = _part_text(part)
        elif ctype == "text/html" and html is None:
            html = _part_text(part)
    return plain, html, attachments


def _payload(part: Message) -> bytes:
    """A leaf part's bytes after its Content-Transfer-Encoding is undone."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message) -> str:
    """A text part decoded by its own charset, with line endings normalised to \\n."""
    text = _clean(_decode_bytes(_payload(part), part.get_content_charset()))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _wire_body(part: Message, linesep: str) -> bytes:
    """Body bytes of a part without a decodable payload, e.g. the attached message of message/rfc822."""
    generator_policy = _POLICY.clone(linesep=linesep, refold_source="none")
    out = io.BytesIO()
    try:
        BytesGenerator(out, mangle_from_=False, policy=generator_policy).flatten(part)
        wire = out.getvalue()
    except Exception:  # BytesGenerator cannot write e.g. an 8-bit boundary; the str Generator can
        text = io.StringIO()
        Generator(text, mangle_from_=False, policy=generator_policy).flatten(part)
        wire = text.getvalue().encode("utf-8", "surrogateescape")
    return _split_header_block(wire)[1]


def _declared_filename(part: Message) -> str | None:
    """The sender's file name (RFC 2231 or RFC 2047 decoded), or None when the part names none."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = next((v for name, v in part.raw_items() if name.lower() == header), None)
        if value is None:
            continue
        # A compat32 Message hands back RFC 2231 values as (charset, language, raw bytes as latin-1), so
        # a wrong or unknown charset gets the fallback chain instead of policy.default's U+FFFD.
        holder = Message()
        holder[header] = _unfold(value)
        found = holder.get_param(param, header=header)
        if isinstance(found, tuple):
            charset, _, text = found
            try:
                found = _decode_bytes(text.encode("latin-1"), charset)
            except UnicodeEncodeError:  # the value was already text (8-bit header)
                found = text
        if found:
            return _clean(_decode_words(found))
    return None


def _attachment(ctype: str, filename: str | None, data: bytes, number: int) -> Attachment:
    """An Attachment whose name is safe; nameless parts get "adjunto-N"/"mensaje-N" + an extension."""
    # Keep the basename only, without control or bidi-override characters or leading/trailing dots.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS).strip(" .")
    if not name:
        stem, ext = ("mensaje", ".eml") if ctype in _MESSAGE_TYPES else ("adjunto", _MIME_TYPES.guess_extension(ctype))
        name = f"{stem}-{number}{ext or '.bin'}"
    return Attachment(filename=name, content_type=ctype, data=data)


def _html_to_text(html: str) -> str:
    """Readable text of an HTML-only mail: inscriptis layout, trailing spaces and blank-line runs trimmed."""
    while (stripped := html.lstrip()).startswith("<?xml"):
        html = stripped.partition(">")[2]  # lxml rejects str documents that declare an encoding
    text = get_text(html)
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return _TOO_MANY_BLANK_LINES.sub("\n\n\n", text)
