"""Describe a message in one line per field from the first bytes of its header: for the quarantine list."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from .charsets import decode_words, unfold
from .sanitize import one_line

__all__ = ["Head", "read_head"]

MAX_FIELD = 200  # characters of From and Subject, the "…" included
MAX_DATE = 64  # RFC 5322 §3.3 dates are about 31 characters; a longer one is noise
MAX_HEAD = 64 * 1024  # bytes of header looked at: a summary, never the whole of a hostile header


@dataclass(frozen=True)
class Head:
    """Decoded, one-line and capped: safe to store, print and send. "" where the mail has no such field."""

    sender: str
    subject: str
    date: str
    message_id: str


def read_head(data: bytes) -> Head:
    """Head of b"From: =?utf-8?q?Mar=C3=ADa?= <maria@example.org>\\r\\nSubject: Hola\\r\\n\\r\\n" →
    Head("María <maria@example.org>", "Hola", "", ""). Whatever follows the header block is ignored; a
    header cut short (a partial FETCH) still gives the fields it holds."""
    # compat32 keeps values as the raw text: the parser neither decodes nor validates (see mail/parse.py).
    # raw_items() keeps 8-bit bytes as surrogates, which unfold() decodes (UTF-8, else windows-1252).
    fields: dict[str, str] = {}
    for name, value in BytesHeaderParser(policy=compat32).parsebytes(data[:MAX_HEAD]).raw_items():
        fields.setdefault(name.lower(), unfold(value))

    def field(name: str, limit: int, words: bool = True) -> str:
        text = fields.get(name, "")
        return one_line(decode_words(text) if words else text, limit)

    return Head(field("from", MAX_FIELD), field("subject", MAX_FIELD), field("date", MAX_DATE, words=False),
                field("message-id", 255, words=False))
