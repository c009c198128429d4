"""Decode mail bytes and RFC 2047 encoded words by their declared charset, with fallbacks for unknown or lying ones."""

from __future__ import annotations

import binascii
import codecs
import re

__all__ = ["clean", "decode_bytes", "decode_words", "unfold"]

_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")  # raw 8-bit bytes as the email package keeps them
# Python's own escape codecs turn "\x1b" written as text into the character: no mail is really in them.
_NOT_MAIL_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape"})
# Labels that mail clients write (WHATWG Encoding Standard §4.2) and Python's codec registry does not know.
_ALIASES = {
    "iso-8859-6-e": "iso8859-6", "iso-8859-6-i": "iso8859-6", "iso-8859-8-e": "iso8859-8", "iso-8859-8-i": "iso8859-8",
    "windows-874": "cp874", "unicode-2-0-utf-7": "utf-7", "unicode-1-1-utf-8": "utf-8", "utf8mb4": "utf-8",
}
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bq])\?([^?\s]*)\?=", re.IGNORECASE)  # RFC 2047 §2


def _codec_name(charset: str) -> str | None:
    """Python's name for a declared charset; "x-" names (x-utf-7, x-gbk) are tried without the prefix."""
    label = charset.strip().strip('"').lower()
    for candidate in (label, label.removeprefix("x-")):
        candidate = _ALIASES.get(candidate, candidate)
        try:
            name = codecs.lookup(candidate).name
        except (LookupError, ValueError):
            continue
        return None if name in _NOT_MAIL_CHARSETS else name
    return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode by the declared charset, falling back when it is unknown or lies; never emits U+FFFD."""
    candidates: list[str] = []
    name = _codec_name(charset) if charset else None
    if name == "iso8859-1":
        candidates.append("cp1252")  # what "ISO-8859-1" senders really mean (as browsers assume)
    if name and not (name.startswith(("utf-16", "utf-32")) and b"\x00" not in data):
        candidates.append(name)  # real UTF-16/32 text has NUL bytes (a space is 20 00); without, the label lies
    for candidate in (*candidates, "utf-8", "cp1252"):
        try:
            return data.decode(candidate)
        except (LookupError, ValueError):
            continue
    return data.decode("latin-1")


def clean(text: str) -> str:
    """Decode raw bytes kept as surrogates, drop NULs (PostgreSQL rejects them) and any stray surrogate."""
    if text.isascii():  # the common case, and a fast one for megabyte headers
        return text.replace("\x00", "")
    text = _ESCAPED_BYTES.sub(lambda m: decode_bytes(m.group().encode("utf-8", "surrogateescape"), None), text)
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def unfold(value: str) -> str:
    """Undo header folding and decode 8-bit header bytes (UTF-8, else windows-1252/latin-1)."""
    return clean(value.replace("\r", "").replace("\n", ""))


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words, each by its own charset, tolerating unknown or lying ones.

    One linear pass: the stdlib's decode_header joins adjacent words quadratically (8 s for a 1 MB subject).
    Adjacent words in one charset are decoded together, so a character split between two words survives;
    a word whose base64 is broken is kept as it came."""
    if "=?" not in text:
        return text
    out: list[str] = []
    run: list[bytes] = []  # adjacent encoded words in one charset, not yet decoded
    run_charset = ""
    after_word = False
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding.lower(), payload)
        if data is None:
            continue  # broken base64: the word stays in the text around it, as it came
        gap = text[position : match.start()]
        position = match.end()
        if gap and not (after_word and gap.isspace()):  # RFC 2047 §6.2: space between words is dropped
            out.append(_decode_run(run, run_charset) + gap)
            run = []
        charset = charset.partition("*")[0]  # RFC 2231 §5: "utf-8*es" carries a language
        if run and charset.lower() != run_charset.lower():
            out.append(_decode_run(run, run_charset))
            run = []
        run.append(data)
        run_charset, after_word = charset, True
    out.append(_decode_run(run, run_charset) + text[position:])
    return "".join(out)


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    """The bytes an encoded word carries (RFC 2047 §4), or None when its base64 is broken."""
    data = payload.encode("utf-8", "surrogateescape")
    if encoding == "q":
        return binascii.a2b_qp(data, header=True)  # "_" is a space; "=F1" is a byte
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)  # padding is often missing
    except binascii.Error:
        return None


def _decode_run(run: list[bytes], charset: str) -> str:
    return decode_bytes(b"".join(run), charset) if run else ""
