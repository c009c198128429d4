"""Write the log: text or JSON lines naming the mail a line is about, with control characters escaped and secrets out."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import TextIO

# What a line about a mail carries, from `about(...)` or `extra=`; nothing else of a record's extras is written,
# so a mail body passed as `extra` never reaches the log.
FIELDS = ("case", "queue", "message_id", "uid")
# A message longer than this is cut: a log line is not where a mail's text belongs.
MAX_MESSAGE = 2000
# Libraries that log routine steps at INFO; they speak at debug level only.
CHATTY = ("alembic", "flufl.bounce", "apscheduler")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: each could forge or hide a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Shorter secrets are not hunted in log lines: replacing every "ab" would garble the log and hide nothing.
MIN_SECRET = 6

_about: ContextVar[Mapping[str, object]] = ContextVar("mailbot_log_about", default={})
_handler: logging.Handler | None = None


@contextmanager
def about(*, case: str | None = None, queue: str | None = None, message_id: str | None = None,
          uid: int | None = None) -> Iterator[None]:
    """Name the mail every line logged inside is about (in this thread); nested calls add to the outer ones.

        with logs.about(queue="mesadeayuda", uid=42):
            log.info("quarantined: %s", reason)
    """
    given = {"case": case, "queue": queue, "message_id": message_id, "uid": uid}
    token = _about.set({**_about.get(), **{key: value for key, value in given.items() if value is not None}})
    try:
        yield
    finally:
        _about.reset(token)


def setup(format: str = "text", level: str = "info", stream: TextIO | None = None,
          secrets: Iterable[str] = ()) -> None:
    """Send every log record to `stream` (default: sys.stderr as it is when a line is written) in `format`.

    Any value in `secrets` (passwords read from the configuration) is replaced by [secret] wherever it shows up,
    tracebacks included. Calling it again replaces what the last call installed and nothing else."""
    global _handler
    handler = _Handler(stream)
    hidden = tuple(sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True))
    handler.setFormatter(JsonFormatter(hidden) if format == "json" else TextFormatter(hidden))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(level.upper())
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def escape(text: str) -> str:
    """Make `text` one printable line: `a\\nb` for a newline, `\\x1b` for ESC."""
    return _CONTROL.sub(lambda m: _ESCAPES.get(m[0], f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                                              else f"\\u{ord(m[0]):04x}"), text)


def context(record: logging.LogRecord) -> dict[str, object]:
    """The mail a record is about: the `about(...)` in force, then the record's own `extra=` fields."""
    found = dict(_about.get())
    for key in FIELDS:
        value = record.__dict__.get(key)
        if value is not None:
            found[key] = value
    return found


class _Formatter(logging.Formatter):
    """What both formats write, secrets hidden before any escaping could disguise them."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def hide(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        return text

    def message(self, record: logging.LogRecord) -> str:
        text = self.hide(record.getMessage())
        if len(text) > MAX_MESSAGE:
            return f"{text[:MAX_MESSAGE]}… ({len(text) - MAX_MESSAGE} more characters)"
        return text

    def about(self, record: logging.LogRecord) -> dict[str, object]:
        return {key: self.hide(value) if isinstance(value, str) else value for key, value in context(record).items()}

    def traceback(self, record: logging.LogRecord) -> str | None:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return self.hide(record.exc_text) if record.exc_text else None


class TextFormatter(_Formatter):
    """`2026-11-23 09:15:00,123 INFO mailbot.desk.ingest: CS0000004: new_case [queue=mesadeayuda uid=42]`: the
    case first, as a person scans for it, the mail's other fields after; then a traceback (our own text, so left
    on its lines)."""

    def format(self, record: logging.LogRecord) -> str:
        about = self.about(record)
        case = f"{escape(str(about.pop('case')))}: " if "case" in about else ""
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {case}{escape(self.message(record))}"
        if about:
            line += " [" + " ".join(f"{key}={escape(str(value))}" for key, value in about.items()) + "]"
        trace = self.traceback(record)
        return line if trace is None else f"{line}\n{trace}"


class JsonFormatter(_Formatter):
    """One JSON object per line: ts (UTC), level, logger, msg, the mail's fields, and exc (a traceback) if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": self.message(record),
            **self.about(record),
        }
        trace = self.traceback(record)
        if trace is not None:
            entry["exc"] = trace
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # json escapes C0 controls; C1 controls and U+2028/2029 are valid raw in JSON but break line readers.
        return _CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", line)


class _Handler(logging.Handler):
    """A StreamHandler whose default stream is sys.stderr as it is at each line (pytest swaps it per test)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self.stream or sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # logging's own contract: a failing handler reports itself and never raises
            self.handleError(record)
