"""Normalise mail subjects (reply/forward prefixes, whitespace) and find or strip case numbers."""

from __future__ import annotations

import functools
import re

__all__ = ["find_case_number", "normalize_subject", "strip_case_tag"]

# Reply/forward prefix words, as regex fragments (matched case-insensitively).
# A word only counts as a prefix when a colon follows it (ASCII ":" or
# full-width "："), optionally after a space and/or a counter such as "[2]",
# "(2)" or "^2"; so "Reembolso", "Resolución 123: anexo" or "FWD sin dos
# puntos" are left alone.
#
#   RE, RES ............ reply (Latin, Portuguese "Resposta")
#   RV ................. "Reenviado" (Spanish Outlook forward)
#   FW, FWD, Forward ... forward (English)
#   TR ................. "Transféré" (French) forward
#   AW, Antw, Antwort .. "Antwort" (German) / "Antwoord" (Dutch) reply
#   WG ................. "Weitergeleitet" (German) forward
#   SV ................. "Svar" (Scandinavian) reply
#   VS ................. "Vastaus" (Finnish) reply
#   ENC ................ "Encaminhado" (Portuguese) forward
#   Reenviado, Reenviar, Respuesta, Responder ... Spanish client variants
#   No reply, Noreply, No-reply ................. auto-reply tagging
#   RIF ................ "Riferimento" (Italian) reply
#   Odp ................ "Odpowiedź" (Polish) reply
#   YNT ................ "Yanıt" (Turkish) reply
_PREFIX_WORDS = (
    "REENVIADO",
    "REENVIAR",
    "RESPUESTA",
    "RESPONDER",
    "FORWARD",
    "ANTWORT",
    "NO[- ]?REPLY",
    "ANTW",
    "FWD",
    "RES",
    "ENC",
    "RIF",
    "ODP",
    "YNT",
    "RE",
    "RV",
    "FW",
    "TR",
    "AW",
    "WG",
    "SV",
    "VS",
)
# Not "PD": in Spanish it is "posdata", a real subject ("PD: adjunto el RUT").

# Single-letter prefixes ("R:" Italian/Spanish reply, "I:" Italian
# "Inoltrato" forward) are too easy to confuse with real text, so they count
# only when the colon follows immediately: no space, no counter.
_SHORT_PREFIX_WORDS = "RI"

# One prefix, matched at the current position of a whitespace-collapsed
# subject (hence the literal single spaces).  Bare counters like "[2] " are
# consumed only as part of a match, i.e. only when a prefix word follows.
_PREFIX_RE = re.compile(
    r"""
    (?:\[[0-9]+\]\ ?)*                     # bare chain counters: "[2] RE: x"
    (?:
        (?:{words})
        \ ?
        (?:\[[0-9]+\]|\([0-9]+\)|\^[0-9]+)?  # counter: RE[2]: Re(3): Re^2:
        \ ?
      |
        [{short}]                          # R: I: (colon must follow directly)
    )
    [:\uff1a]                              # ":" or full-width "："
    \ ?
    """.format(words="|".join(_PREFIX_WORDS), short=_SHORT_PREFIX_WORDS),
    re.IGNORECASE | re.VERBOSE,
)


def _collapse_whitespace(text: str) -> str:
    """Unfold a header value: every whitespace run becomes one space, ends stripped."""
    return " ".join(text.split())


def normalize_subject(subject: str) -> str:
    """Return ``subject`` without leading reply/forward prefixes, whitespace collapsed.

    Strips any chain such as ``"RE: RV: Fwd: x"``, ``"Re:Re: x"``,
    ``"RE[2]: x"`` or ``"[2] RE: x"`` (case-insensitive), then returns the
    rest.  Bracketed case tags like ``"[CS0000001]"`` are kept.  The result is
    never longer than the input and ``normalize_subject`` is idempotent.
    """
    text = _collapse_whitespace(subject)
    pos = 0
    while True:
        match = _PREFIX_RE.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
    # The pattern eats the single space after each prefix, and the collapsed
    # text has no double spaces, so text[pos:] neither starts nor ends with one.
    return text[pos:]


@functools.lru_cache(maxsize=64)
def _case_number_re(prefix: str) -> re.Pattern[str]:
    return re.compile(
        r"(?<!\w)" + re.escape(prefix) + r"([0-9]{7})(?!\w)",
        re.IGNORECASE,
    )


def find_case_number(subject: str, prefix: str = "CS") -> str | None:
    """Return the first case number (``prefix`` + exactly 7 digits) in ``subject``.

    The prefix is matched case-insensitively and must start a token, and the
    digits must end it: ``"[CS0053363]"``, ``"cs0053363"`` match,
    ``"XCS0000001"``, ``"CS00000012"`` do not.  The number is returned as
    ``prefix.upper()`` followed by the digits, or ``None`` when there is none.
    """
    if not prefix:
        raise ValueError("case number prefix must not be empty")
    match = _case_number_re(prefix).search(subject)
    if match is None:
        return None
    return prefix.upper() + match.group(1)


def strip_case_tag(subject: str, number: str) -> str:
    """Remove every ``[number]`` tag (case-insensitive) and the whitespace around it.

    ``"[CS0000001] Problema con token"`` -> ``"Problema con token"``.  A tag
    in the middle leaves one space; the result has its whitespace collapsed.
    """
    if not number:
        raise ValueError("case number must not be empty")
    tag = re.compile(r"\s*\[" + re.escape(number) + r"\]\s*", re.IGNORECASE)
    return _collapse_whitespace(tag.sub(" ", subject))
