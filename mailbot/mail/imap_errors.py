"""Turn an imapclient, imaplib or socket exception into the server's words on one clean line."""

from __future__ import annotations

import ast
import re

# imaplib raises with bytes from the server (`error(b'[AUTHENTICATIONFAILED] ...')`), and imapclient re-raises
# those as str(exc), so the text arrives as "b'...'", or as "LOGIN command error: BAD [b'...']".
_BYTES_LITERAL = re.compile(r"""\[?b('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]?""")
# imapclient's own prefix ("select failed: ...", "LOGIN command error: ..."); the caller names the step itself.
_COMMAND_PREFIX = re.compile(r"^[A-Za-z]+ (?:failed|command error): ")


def describe(exc: BaseException, limit: int = 300) -> str:
    """`LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'")` → "[AUTHENTICATIONFAILED] Authentication
    failed.": the first line, bytes decoded, imapclient's command prefix dropped; the exception's type when it
    says nothing."""
    first = exc.args[0] if len(exc.args) == 1 else str(exc)
    text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
    text = _BYTES_LITERAL.sub(_decoded, text)
    lines = text.strip().splitlines()
    text = _COMMAND_PREFIX.sub("", " ".join(lines[0].split())) if lines else ""
    text = text or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def _decoded(match: re.Match[str]) -> str:
    try:
        value = ast.literal_eval("b" + match.group(1))
    except (ValueError, SyntaxError):
        return match.group(0)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else match.group(0)
