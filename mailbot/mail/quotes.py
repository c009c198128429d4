"""Strip quoted history, signature and "Sent from my phone" lines from a reply, keeping the sender's new words.

Why not a library: on the first 43 replies of tests/data/replies (es/en/pt) mail-parser-reply 1.36 got 20 right
and email-reply-parser 0.5.12 got 16; both eat customer text (two prose lines starting "Para:"/"Asunto:", hyphen
lists, indentation) and miss the Spanish attributions; talon needs numpy, scipy and scikit-learn.  Rules here
cut only at markers a mail client writes, and when in doubt keep the text (PEERS.md, FreeScout #349).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["strip_reply"]

# The attribution line a client writes above the quote, up to three lines long (Gmail wraps it):
# "El lun, 23 nov 2026 a las 10:15, X <x@example.com> escribió:", "On Nov 23, 2026, at 10:15 AM, X wrote:",
# Yahoo's "En lunes, …", Portuguese "Em seg., … escreveu:".
_ATTRIBUTION = re.compile(r"(?:On|El|En|Em)\s.*\s(?:wrote|escribió|escreveu)\s?:", re.IGNORECASE)
_ATTRIBUTION_LINES = 3

# Outlook, Windows Mail and Samsung write the quoted mail's headers instead of an attribution.
_FIELD = re.compile(r"\*{0,2}([A-Za-z ]{2,10}):\*{0,2}(?:\s|$)")
_FROM_FIELDS = frozenset({"de", "from"})
_DATE_FIELDS = frozenset({"enviado", "enviado el", "sent", "fecha", "date"})
_OTHER_FIELDS = frozenset({"para", "to", "asunto", "subject"})
_HEADER_BLOCK_LINES = 8  # a long To: or CC: list wraps; the fields we need come within this many lines
_UNDERSCORES = re.compile(r"_{10,}")  # Outlook's separator above the headers
_ORIGINAL_MESSAGE = re.compile(
    r"-{3,}\s*(?:original message|mensaje original|mensagem original)\s*-{3,}", re.IGNORECASE
)

# A forwarded mail is the sender's content, not history: nothing below these lines is cut.
_FORWARD = re.compile(
    r"-{3,}\s*(?:forwarded message|mensaje reenviado|mensagem encaminhada)\s*-{3,}"
    r"|(?:begin forwarded message|inicio del mensaje reenviado|comienza el mensaje reenviado):",
    re.IGNORECASE,
)

_SIGNATURE_LINES = 12  # name, title, company, phones, address, a short legal line; more is the mail itself

# Mobile clients' taglines; only ever removed when they are the last line of the new text.
_SENT_FROM = re.compile(
    r"(?:enviado desde (?:mi |correo para |outlook|yahoo mail)|sent from (?:my |mail for |outlook|yahoo mail)"
    r"|(?:get|obtener|descargar) outlook (?:for|para) ).{0,60}",
    re.IGNORECASE,
)


def strip_reply(text: str) -> str:
    """The new text of a reply: quoted history, a "-- " signature and a mobile tagline removed.

    Line endings become "\\n" and blank lines around the result are dropped.  Inline answers (unquoted lines
    after ">" lines of the quote) keep the whole text, and a forwarded mail is kept.  When stripping would
    leave nothing, the text is returned as it came: a mail never loses all its words.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _drop_tagline(_drop_signature(lines[: _history_start(lines)]))
    result = "\n".join(kept).strip("\n").rstrip()
    return result if result.strip() else text


def _history_start(lines: Sequence[str]) -> int:
    """Index of the first line of quoted history, or len(lines) when there is none to cut."""
    last_unquoted = max((i for i, line in enumerate(lines) if line.strip() and not _is_quoted(line)), default=-1)
    for index, line in enumerate(lines):
        if _FORWARD.fullmatch(line.strip()):
            return len(lines)
        if index > last_unquoted and _is_quoted(line) and (index == 0 or not lines[index - 1].strip()):
            return index  # a ">" block that runs to the end after a blank line, e.g. under an iPhone reply
        attribution_end = _attribution_end(lines, index)
        if attribution_end is not None:
            return len(lines) if _has_inline_answers(lines, attribution_end) else index
        if _starts_header_block(lines, index):
            return index
    return len(lines)


def _is_quoted(line: str) -> bool:
    return line.startswith(">")  # RFC 3676 §4.5: quoted lines start with ">"


def _attribution_end(lines: Sequence[str], start: int) -> int | None:
    """Index after an attribution starting at ``start`` that introduces a ">" block, else None."""
    if _is_quoted(lines[start]):
        return None
    for end in range(start + 1, min(start + _ATTRIBUTION_LINES, len(lines)) + 1):
        if not lines[end - 1].strip() or _is_quoted(lines[end - 1]):
            return None
        if _ATTRIBUTION.fullmatch(" ".join(line.strip() for line in lines[start:end])):
            following = _next_text_line(lines, end)
            # Prose such as "On Monday my manager wrote:" is not followed by a quote.
            return end if following < len(lines) and _is_quoted(lines[following]) else None
    return None


def _next_text_line(lines: Sequence[str], start: int) -> int:
    """Index of the first line from ``start`` on that is not blank, else len(lines). By index, not by slice:
    a slice per line copies the rest of the mail, and a body of attribution lines made stripping quadratic."""
    return next((i for i in range(start, len(lines)) if lines[i].strip()), len(lines))


def _has_inline_answers(lines: Sequence[str], start: int) -> bool:
    """True when unquoted text follows the quote: the sender answered between the quoted lines."""
    seen_quote = False
    for line in lines[start:]:
        if _is_quoted(line):
            seen_quote = True
        elif seen_quote and line.strip():
            return True
    return False


def _starts_header_block(lines: Sequence[str], start: int) -> bool:
    """An "-----Original Message-----" line, or a From/De field (optionally under a line of underscores)
    followed by a date field and a To/Subject field, as Outlook, Windows Mail and Samsung write them."""
    line = lines[start].strip()
    if _ORIGINAL_MESSAGE.fullmatch(line):
        return True
    first = _next_text_line(lines, start + 1) if _UNDERSCORES.fullmatch(line) else start
    if first == len(lines) or _field_name(lines[first]) not in _FROM_FIELDS:
        return False
    fields = [_field_name(candidate) for candidate in lines[first : first + _HEADER_BLOCK_LINES]]
    return not _DATE_FIELDS.isdisjoint(fields) and not _OTHER_FIELDS.isdisjoint(fields)


def _field_name(line: str) -> str | None:
    match = _FIELD.match(line.strip())
    return match.group(1).strip().lower() if match else None


def _drop_signature(lines: Sequence[str]) -> Sequence[str]:
    """Lines before the last signature separator: "-- " (RFC 3676 §4.3), or "--" from clients that trim it.

    A separator followed by more than _SIGNATURE_LINES lines of text is a "--" the sender typed: kept.
    """
    separators = [index for index, line in enumerate(lines) if line.rstrip() == "--"]
    if not separators or sum(1 for line in lines[separators[-1] + 1 :] if line.strip()) > _SIGNATURE_LINES:
        return lines
    return lines[: separators[-1]]


def _drop_tagline(lines: Sequence[str]) -> Sequence[str]:
    """Lines without a trailing "Enviado desde mi iPhone"-style tagline."""
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)
    if last is not None and _SENT_FROM.fullmatch(lines[last].strip()):
        return lines[:last]
    return lines
