"""Log lines: JSON or text, naming the mail they are about, one line each, without secrets or mail bodies."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot import logs

SECRET = "s3cret-imap-password"


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger of its own writing to two streams: JSON lines and text lines."""
    logger = logging.getLogger("mailbot.test_logs")
    logger.propagate, logger.level = False, logging.DEBUG
    as_json, as_text = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(as_json), logging.StreamHandler(as_text)]
    handlers[0].setFormatter(logs.JsonFormatter((SECRET,)))
    handlers[1].setFormatter(logs.TextFormatter((SECRET,)))
    for handler in handlers:
        logger.addHandler(handler)
    yield logger, as_json, as_text
    for handler in handlers:
        logger.removeHandler(handler)


def test_a_json_line_names_the_mail_it_is_about(lines: tuple[logging.Logger, io.StringIO, io.StringIO]) -> None:
    logger, as_json, as_text = lines
    with logs.about(queue="mesadeayuda", uid=42):
        with logs.about(message_id="<abc@example.org>"):
            logger.info("quarantined: %s", "no sender", extra={"case": "CS0000001", "body": "Hola, mi clave es…"})
        logger.warning("moved")

    first, second = (json.loads(line) for line in as_json.getvalue().splitlines())
    assert set(first) == {"ts", "level", "logger", "msg", "case", "queue", "message_id", "uid"}
    assert (first["level"], first["logger"], first["msg"]) == ("INFO", "mailbot.test_logs", "quarantined: no sender")
    assert (first["case"], first["queue"], first["message_id"], first["uid"]) == (
        "CS0000001", "mesadeayuda", "<abc@example.org>", 42)
    assert first["ts"].endswith("+00:00")
    assert second == {"ts": second["ts"], "level": "WARNING", "logger": "mailbot.test_logs", "msg": "moved",
                      "queue": "mesadeayuda", "uid": 42}
    assert "Hola" not in as_json.getvalue() + as_text.getvalue(), "extras other than the mail's fields are dropped"
    assert as_text.getvalue().splitlines()[0].endswith(
        "INFO mailbot.test_logs: CS0000001: quarantined: no sender "
        "[queue=mesadeayuda uid=42 message_id=<abc@example.org>]"), "the case first, as a person scans for it"


@pytest.mark.parametrize(("message", "text"), [
    ("Asunto: RE: caso\r\nINFO forged line", "Asunto: RE: caso\\r\\nINFO forged line"),
    ("tab\there", "tab\\there"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("nul\x00 del\x7f c1\x85", "nul\\x00 del\\x7f c1\\x85"),
    ("line\u2028separator", "line\\u2028separator"),
    ("Solicitud de cambio de contraseña ñ é", "Solicitud de cambio de contraseña ñ é"),
], ids=["crlf", "tab", "ansi", "c0-c1", "unicode-separator", "accents-kept"])
def test_control_characters_are_escaped(lines: tuple[logging.Logger, io.StringIO, io.StringIO], message: str,
                                        text: str) -> None:
    logger, as_json, as_text = lines
    logger.info("%s", message, extra={"queue": "q\nforged"})

    assert as_text.getvalue().count("\n") == 1
    assert as_text.getvalue().rstrip("\n").endswith(f": {text} [queue=q\\nforged]")
    assert as_json.getvalue().count("\n") == 1
    assert json.loads(as_json.getvalue())["msg"] == message, "JSON keeps the text; its escapes keep it on one line"


@given(st.text())
def test_any_message_is_one_line_in_both_formats(message: str) -> None:
    record = logging.LogRecord("mailbot", logging.INFO, __file__, 1, "%s", (message,), None)
    for formatter in (logs.JsonFormatter(()), logs.TextFormatter(())):
        assert len(formatter.format(record).splitlines()) == 1
    assert json.loads(logs.JsonFormatter(()).format(record))["msg"] == message[:logs.MAX_MESSAGE] + (
        f"… ({len(message) - logs.MAX_MESSAGE} more characters)" if len(message) > logs.MAX_MESSAGE else "")


def test_secrets_are_hidden_in_messages_fields_and_tracebacks(
        lines: tuple[logging.Logger, io.StringIO, io.StringIO]) -> None:
    logger, as_json, as_text = lines
    try:
        raise ValueError(f"LOGIN mesadeayuda {SECRET}")
    except ValueError:
        logger.exception("login with %s failed", SECRET, extra={"queue": SECRET})

    assert SECRET not in as_json.getvalue() + as_text.getvalue()
    entry = json.loads(as_json.getvalue())
    assert entry["msg"] == "login with [secret] failed" and entry["queue"] == "[secret]"
    assert entry["exc"].endswith("ValueError: LOGIN mesadeayuda [secret]")
    assert as_text.getvalue().rstrip().endswith("ValueError: LOGIN mesadeayuda [secret]")


def test_a_long_message_is_cut(lines: tuple[logging.Logger, io.StringIO, io.StringIO]) -> None:
    logger, as_json, _ = lines
    logger.info("%s", "x" * (logs.MAX_MESSAGE + 500))
    assert json.loads(as_json.getvalue())["msg"].endswith("x… (500 more characters)")


def test_about_belongs_to_the_thread_that_said_it(lines: tuple[logging.Logger, io.StringIO, io.StringIO]) -> None:
    logger, as_json, _ = lines
    inside = threading.Event()
    done = threading.Event()

    def other_mailbox() -> None:
        with logs.about(queue="clavesegura"):
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=other_mailbox)
    thread.start()
    inside.wait(5)
    with logs.about(queue="mesadeayuda"):
        logger.info("one")
    done.set()
    thread.join()
    logger.info("two")

    assert [json.loads(line).get("queue") for line in as_json.getvalue().splitlines()] == ["mesadeayuda", None]


def test_setup_installs_one_handler_and_quiets_chatty_libraries() -> None:
    root = logging.getLogger()
    logs.setup()  # whatever an earlier test (or the CLI) installed, mailbot's handler is now there once
    before = list(root.handlers)
    first, second = io.StringIO(), io.StringIO()
    try:
        logs.setup("json", "warning", first, secrets=[SECRET, "abc"])
        logs.setup("json", "info", second, secrets=[SECRET, "abc"])
        logging.getLogger("mailbot.anything").info("password %s, short abc", SECRET)
        logging.getLogger("alembic.runtime").info("routine step")

        assert first.getvalue() == ""
        assert json.loads(second.getvalue())["msg"] == "password [secret], short abc"
        assert len(root.handlers) == len(before), "each setup replaces mailbot's own handler, never adds one"
        assert logging.getLogger("alembic").level == logging.WARNING
    finally:
        logs.setup()
