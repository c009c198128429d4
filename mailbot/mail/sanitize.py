"""Make text from a customer's mail safe to echo: one line in our mails, a real name in a greeting, inert on a terminal."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["BIDI_CONTROLS", "ELLIPSIS", "greeting_name", "one_line", "terminal_safe"]

# Unicode bidi marks, embeddings, overrides and isolates (UAX #9): they reorder what a reader sees, so
# "factura\u202efdp.exe" reads "factura" + "exe.pdf" (Trojan Source, CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ELLIPSIS = "…"
_BIDI_CLASS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0, DEL and C1 controls that str.split() does not already treat as whitespace, bidi controls and lone
# surrogates (which no encoder can write).
_INVISIBLE = re.compile(f"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f{_BIDI_CLASS}\ud800-\udfff]")
# On a terminal: every control but newline and tab, bidi controls and lone surrogates.
_UNSAFE_ON_TERMINAL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CLASS}\ud800-\udfff]")

MAX_GREETING_NAME = 60
# A name is letters and marks with spaces, apostrophes, hyphens and periods ("Ma. José O'Neill-Ruiz").
_NAME_PUNCTUATION = frozenset(" '’.-")
_QUOTES = "\"'“”‘’«» "
# Spanish, Portuguese, Dutch, German, French and Italian particles stay lower case inside a name.
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "e", "da", "das", "do", "dos", "van", "von",
                        "der", "den", "di", "du", "le"})
_LETTERS = re.compile(r"[^\W\d_]+")


def one_line(text: str, limit: int) -> str:
    """Text that cannot start a new header or body line, hide itself or reorder what is around it.

    CR, LF, TAB and other whitespace become one space; other C0/C1 controls and bidi controls are removed;
    the result is stripped and, when longer than `limit`, cut and ended with "…" so it is at most `limit`."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    line = " ".join(_INVISIBLE.sub("", text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + ELLIPSIS


def greeting_name(display_name: str, address: str) -> str | None:
    """The name to greet a customer by, or None when the display name does not look like a person's name.

    Addresses, the address's own local part, digits, symbols and over-long names get None, so the template
    falls back to a neutral greeting. "RUIZ GOMEZ, MARTA LUCIA" reads "Marta Lucia Ruiz Gomez"."""
    name = one_line(display_name, MAX_GREETING_NAME + 1).strip(_QUOTES)
    last, comma, first = name.partition(",")
    if comma:  # a directory's "Last, First" form
        name = f"{first.strip()} {last.strip()}".strip()
    letters = [ch for ch in name if unicodedata.category(ch)[0] == "L"]
    if (
        not letters
        or len(name) > MAX_GREETING_NAME
        or name.casefold() == address.partition("@")[0].casefold()
        or any(unicodedata.category(ch)[0] not in "LM" and ch not in _NAME_PUNCTUATION for ch in name)
    ):
        return None
    if name.isupper() or name.islower():  # a directory's "RUIZ GOMEZ" or a hasty "marta ruiz"
        name = " ".join(_capitalised(word, first=i == 0) for i, word in enumerate(name.split()))
    return name


def _capitalised(word: str, first: bool) -> str:
    """'RUIZ' → 'Ruiz', "o'neill" → "O'Neill", 'jose-luis' → 'Jose-Luis'; particles stay lower case."""
    if not first and word.lower() in _PARTICLES:
        return word.lower()
    return _LETTERS.sub(lambda m: m.group().capitalize(), word)


def terminal_safe(text: str) -> str:
    """Text a terminal shows as written: ESC, BEL, CR and other controls, bidi controls and surrogates become
    visible escapes (ESC → the four characters \\x1b), so a mail cannot clear the screen or recolour it.
    Newlines and tabs are kept, so multi-line text stays multi-line."""
    return _UNSAFE_ON_TERMINAL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
