"""Turn raw RFC 5322 bytes into an InboundMail, degrading gracefully on malformed or mis-labelled input."""

from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email.generator import BytesGenerator, Generator
from email.message import Message
from email.policy import EmailPolicy, default
from typing import cast

from inscriptis import get_text

from ..errors import first_line
from .addresses import address_list
from .charsets import clean, decode_bytes, decode_words, unfold
from .sanitize import ELLIPSIS, one_line
from .sender import EncodedWordInAddress, FromFlag, read_sender

log = logging.getLogger(__name__)

__all__ = ["Attachment", "FromFlag", "InboundMail", "ParseError", "ParseLimits", "leaf_parts", "parse_message",
           "parse_or_reason"]

_MSG_ID = re.compile(r"<[^<>\s]+>")
MAX_MESSAGE_ID = 255  # the database columns' width; RFC 5322 sets no limit, real ids are far shorter
MAX_FILENAME = 255  # what most file systems take, so a saved attachment keeps its name
# Content-Type and Content-Disposition are read up to here: real ones, RFC 2231 file names included, are far
# shorter, and the stdlib's parameter parser is quadratic in a header's length.
MAX_PARAMETER_HEADER = 16_384
_TOO_MANY_BLANK_LINES = re.compile(r"\n{4,}")  # three or more blank lines in a row
# XML declarations before the HTML, each up to its ">" (or the end): lxml rejects str documents that declare an
# encoding. One match, not a copy of the rest of the document per declaration.
_XML_DECLARATIONS = re.compile(r"\A(?:\s*<\?xml[^>]*(?:>|\Z))+")
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
class ParseLimits:
    """Caps on what a hostile mail can make the desk carry; what is cut stays in the raw message.

    A 1 MB subject made composing a reply quadratic, 300k References overflowed SQLite's variable limit,
    and the stdlib parser recurses once per nesting level (RecursionError near 1,000)."""

    max_subject: int = 255  # characters, the "…" included
    max_name: int = 128  # characters of the sender's display name
    max_ids: int = 50  # Message-IDs kept: the last of References (the nearest ancestors), the first of In-Reply-To
    max_addresses: int = 100  # per To / Cc list
    max_depth: int = 20  # multipart and message/rfc822 levels below the top; deeper is quarantined
    max_attachment_size: int = 20 * 2**20  # bytes, decoded; a bigger attachment is dropped with a note

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 1:
                raise ValueError(f"ParseLimits.{name} must be at least 1, got {value}")


@dataclass(frozen=True)
class InboundMail:
    """A parsed inbound mail: decoded fields for the desk plus the raw bytes for archiving."""

    raw: bytes = field(repr=False)
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str  # one line, no control or bidi characters, at most ParseLimits.max_subject
    from_addr: str | None
    from_name: str  # one line; "" when the name imitates an address
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    text: str = field(repr=False)
    html: str | None = field(repr=False)
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    fingerprint: str
    from_flags: tuple[FromFlag, ...] = ()  # why agents should look twice at the sender; see FromFlag
    dropped_attachments: tuple[str, ...] = ()  # 'RUT.pdf (31 MB) dropped: over the 20 MB limit'

    def header(self, name: str) -> str | None:
        """First decoded value of a header (case-insensitive), or None when the mail has none."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


class _ReadPolicy(EmailPolicy):
    """email.policy.default, except that Message methods get header values as written, as under compat32.

    policy.default's structured parser costs some 12 µs per character and get_content_type() and its siblings
    run it about seven times per part (17 s for one Content-Type with 20,000 parameters; hostile headers also
    make it raise). compat32's split on ";" reads real headers the same, and this module decodes headers
    itself, from raw_items(). That split is quadratic in turn, hence the cap."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value[:MAX_PARAMETER_HEADER]


_POLICY = _ReadPolicy()


class ParseError(Exception):
    """Raised when bytes cannot become a case; str(err) is the one-line quarantine reason, complete as it is."""


def parse_message(raw: bytes, limits: ParseLimits = ParseLimits()) -> InboundMail:
    """Parse one mail; input that is no mail, nested too deep or with an encoded-word sender raises ParseError,
    everything else degrades."""
    raw = bytes(raw)
    if not raw.strip():
        raise ParseError("empty input: there is no mail to parse")
    field_count, body = _split_header_block(raw)
    if field_count == 0:
        raise ParseError("not an e-mail: the input does not start with 'Name: value' header lines")
    msg = _parse_tree(raw, limits.max_depth)
    texts = [(name.lower(), unfold(value)) for name, value in msg.raw_items()]
    headers = tuple((name, clean(decode_words(value)).strip()) for name, value in texts)
    found = dict(reversed(headers))  # first occurrence wins
    try:
        sender = read_sender([value for name, value in texts if name == "from"], limits.max_name)
    except EncodedWordInAddress as exc:
        raise ParseError(str(exc)) from None

    linesep = "\r\n" if b"\r\n" in raw else "\n"
    plain, html, attachments, dropped = _walk_body(msg, linesep, limits.max_attachment_size)
    if plain is None or (not plain.strip() and html):
        plain = _html_to_text(html) if html else ""
    return InboundMail(
        raw=raw,
        message_id=_message_id(found.get("message-id", "")),
        in_reply_to=_msg_ids(found.get("in-reply-to", ""), slice(limits.max_ids)),
        references=_msg_ids(found.get("references", ""), slice(-limits.max_ids, None)),
        subject=one_line(found.get("subject", ""), limits.max_subject),
        from_addr=sender.addr,
        from_name=sender.name,
        to=address_list((value for name, value in texts if name == "to"), limits.max_addresses),
        cc=address_list((value for name, value in texts if name == "cc"), limits.max_addresses),
        date=_parse_date(found.get("date", "")),
        text=plain,
        html=html,
        attachments=tuple(attachments),
        headers=headers,
        fingerprint=_fingerprint(msg, body),
        from_flags=sender.flags,
        dropped_attachments=tuple(dropped),
    )


def parse_or_reason(raw: bytes, limits: ParseLimits = ParseLimits()) -> InboundMail | str:
    """The parsed mail, or the one-line reason it cannot be parsed (its quarantine reason): a parser bug must not
    stop the batch either."""
    try:
        return parse_message(raw, limits)
    except ParseError as exc:
        return str(exc)  # "nested deeper than 20 levels", "not an e-mail: …"
    except Exception as exc:
        log.exception("parsing failed")
        return f"parsing failed: {type(exc).__name__}: {first_line(exc)}"


def _parse_tree(raw: bytes, max_depth: int) -> Message:
    """The stdlib's tree, refused when it nests deeper than `max_depth`; the stdlib parser recurses once per
    level, so its RecursionError (near 1,000 levels, well past any cap) is the same refusal."""
    reason = f"nested deeper than {max_depth} levels"
    try:
        msg = message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        raise ParseError(reason) from None
    stack = [(msg, 0)]
    while stack:  # iteratively: a recursive walk would fail where the parser did not
        part, depth = stack.pop()
        if depth > max_depth:
            raise ParseError(reason)
        if part.is_multipart():  # multipart/* and message/rfc822 alike
            stack.extend((child, depth + 1) for child in cast(list[Message], part.get_payload()))
    return msg


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


def _message_id(value: str) -> str | None:
    """The id in "<...>" form; bare ids get brackets (any stray ones dropped), empty ones become None."""
    ids, bare = _msg_ids(value, slice(1)), re.sub(r"[<>\s]", "", value)
    return ids[0] if ids else _bounded(f"<{bare}>") if bare else None


def _msg_ids(value: str, keep: slice) -> tuple[str, ...]:
    """The `keep` slice of the "<...>" ids, in order; whitespace is dropped first so ids folded mid-way match."""
    return tuple(_bounded(found) for found in _MSG_ID.findall("".join(value.split()))[keep])


def _bounded(message_id: str) -> str:
    """Real ids are short; a hostile long one becomes a stable digest, so it still dedups and threads."""
    if len(message_id) <= MAX_MESSAGE_ID:
        return message_id
    return f"<{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()}@long-id.invalid>"


def _parse_date(value: str) -> datetime | None:
    """Timezone-aware Date; "-0000" (zone unknown) is read as UTC, unparseable dates become None."""
    try:
        moment = default.header_factory("date", value).datetime
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


def leaf_parts(msg: Message) -> Iterator[Message]:
    """Leaves in document order; attached messages are yielded whole, not descended into."""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            stack.extend(reversed(cast(list[Message], part.get_payload())))
        else:
            yield part


def _walk_body(msg: Message, linesep: str, max_size: int) -> tuple[str | None, str | None, list[Attachment], list[str]]:
    """First body text/plain, first body text/html, every attachment (inline images included) up to
    `max_size` bytes, and a note for each one dropped for being bigger."""
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    dropped: list[str] = []
    for part in leaf_parts(msg):
        ctype = part.get_content_type()
        filename = _declared_filename(part)
        if ctype in _MESSAGE_TYPES or part.is_multipart():
            data = _wire_body(part, linesep)
        elif part.get_content_disposition() == "attachment" or filename is not None or ctype not in _BODY_TYPES:
            data = _payload(part)
        else:
            if ctype == "text/plain" and plain is None:
                plain = _part_text(part)
            elif ctype == "text/html" and html is None:
                html = _part_text(part)
            continue
        attachment = _attachment(ctype, filename, data, len(attachments) + len(dropped) + 1)
        if len(data) > max_size:
            dropped.append(f"{attachment.filename} ({_size(len(data))}) dropped: over the {_size(max_size)} limit")
        else:
            attachments.append(attachment)
    return plain, html, attachments, dropped


def _size(count: int) -> str:
    """'31 MB', '1.5 MB', '700 KB', '12 bytes', in the binary units file managers show."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return f"{count / scale:.0f} {unit}" if count >= 10 * scale else f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _payload(part: Message) -> bytes:
    """A leaf part's bytes after its Content-Transfer-Encoding is undone."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message) -> str:
    """A text part decoded by its own charset, with line endings normalised to \\n."""
    text = clean(decode_bytes(_payload(part), part.get_content_charset()))
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
        holder[header] = unfold(value)[:MAX_PARAMETER_HEADER]
        found = holder.get_param(param, header=header)
        if isinstance(found, tuple):
            charset, _, text = found
            try:
                found = decode_bytes(text.encode("latin-1"), charset)
            except UnicodeEncodeError:  # the value was already text (8-bit header)
                found = text
        if found:
            return clean(decode_words(found))
    return None


def _attachment(ctype: str, filename: str | None, data: bytes, number: int) -> Attachment:
    """An Attachment whose name is safe; nameless parts get "adjunto-N"/"mensaje-N" + an extension."""
    name = _safe_filename(filename or "")
    if not name:
        stem, ext = ("mensaje", ".eml") if ctype in _MESSAGE_TYPES else ("adjunto", _MIME_TYPES.guess_extension(ctype))
        name = f"{stem}-{number}{ext or '.bin'}"
    return Attachment(filename=name, content_type=ctype, data=data)


def _safe_filename(declared: str) -> str:
    """The basename only, one line without control or bidi characters or leading/trailing dots, and at most
    MAX_FILENAME characters with the extension kept ("" when nothing is left)."""
    name = declared.replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) > MAX_FILENAME:
        _, dot, extension = name.rpartition(".")
        keep = dot + extension if dot and len(extension) <= 16 else ""
        name = name[: MAX_FILENAME - len(keep) - 1] + ELLIPSIS + keep
    return one_line(name, MAX_FILENAME).strip(" .")


def _html_to_text(html: str) -> str:
    """Readable text of an HTML-only mail: inscriptis layout, trailing spaces and blank-line runs trimmed."""
    text = get_text(_XML_DECLARATIONS.sub("", html, count=1))
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return _TOO_MANY_BLANK_LINES.sub("\n\n\n", text)
