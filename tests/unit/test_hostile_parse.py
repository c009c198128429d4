"""The hostile corpus in tests/data/hostile/: every mail parses into sane fields or is refused with a one-line reason.

The corpus is written by tests/data/hostile/make_corpus.py (see its docstring); this module loads that script to
know each mail's expected refusal and to build the megabyte mails that are not stored."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.mail.addresses import addr_spec
from mailbot.mail.parse import (
    MAX_FILENAME, MAX_MESSAGE_ID, FromFlag, InboundMail, ParseError, ParseLimits, parse_message,
)
from mailbot.mail.sanitize import greeting_name, one_line

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_make_corpus", HOSTILE / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
REFUSALS: dict[str, str | None] = {hostile.name: hostile.refusal for hostile in GENERATOR.corpus()}
LIMITS = ParseLimits(max_attachment_size=GENERATOR.CORPUS_MAX_ATTACHMENT)


def stored(name: str) -> bytes:
    return (HOSTILE / f"{name}.eml").read_bytes()


def test_corpus_files_are_what_the_script_writes() -> None:
    on_disk = sorted(path.stem for path in HOSTILE.glob("*.eml"))
    assert on_disk == sorted(REFUSALS), "run tests/data/hostile/make_corpus.py"
    stale = [hostile.name for hostile in GENERATOR.corpus() if stored(hostile.name) != hostile.raw]
    assert stale == [], "run tests/data/hostile/make_corpus.py"
    assert len(on_disk) >= 60
    assert sum(path.stat().st_size for path in HOSTILE.glob("*.eml")) < 2 * 2**20  # the repository stays light


def assert_sane(mail: InboundMail, limits: ParseLimits) -> None:
    """What the desk may rely on, whatever the mail was."""
    assert mail.subject == one_line(mail.subject, limits.max_subject)  # one line, no controls, capped
    assert mail.from_name == one_line(mail.from_name, limits.max_name)
    assert mail.from_addr is None or addr_spec(mail.from_addr) == mail.from_addr
    assert len(mail.to) <= limits.max_addresses and len(mail.cc) <= limits.max_addresses
    assert all(addr_spec(addr) == addr for addr in (*mail.to, *mail.cc))
    assert len(mail.in_reply_to) <= limits.max_ids and len(mail.references) <= limits.max_ids
    ids = (*mail.in_reply_to, *mail.references, *([mail.message_id] if mail.message_id else []))
    assert all(re.fullmatch(r"<[^<>\s]+>", found) and len(found) <= MAX_MESSAGE_ID for found in ids)
    for attachment in mail.attachments:
        name = attachment.filename
        assert name and name == one_line(name, MAX_FILENAME) and name == name.strip(" .")
        assert "/" not in name and "\\" not in name
        assert len(attachment.data) <= limits.max_attachment_size
    assert all(note == one_line(note, len(note)) for note in mail.dropped_attachments)
    for text in (mail.text, mail.html or "", *(value for _, value in mail.headers)):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: the database and the terminal can take it
    assert re.fullmatch(r"[0-9a-f]{64}", mail.fingerprint)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_stored_hostile_mail_is_sane_or_refused_with_its_reason(name: str) -> None:
    try:
        mail = parse_message(stored(name), LIMITS)
    except ParseError as refused:
        assert str(refused) == REFUSALS[name]
        assert "\n" not in str(refused)
        return
    assert REFUSALS[name] is None, f"expected a refusal: {REFUSALS[name]}"
    assert_sane(mail, LIMITS)


@pytest.mark.parametrize("name", sorted(GENERATOR.BIG_MAILS))
def test_megabyte_hostile_mail_is_sane_under_default_limits(name: str) -> None:
    assert_sane(parse_message(GENERATOR.BIG_MAILS[name]()), ParseLimits())


def attachment_names(mail: InboundMail) -> list[str]:
    return [attachment.filename for attachment in mail.attachments]


def greeting(mail: InboundMail) -> str | None:
    return greeting_name(mail.from_name, mail.from_addr or "")


LOOKALIKE = FromFlag.NAME_LOOKS_LIKE_ADDRESS
EXPECTED: list[tuple[str, Callable[[InboundMail], object], object]] = [
    ("from-lookalike-unquoted", lambda m: (m.from_addr, m.from_name, LOOKALIKE in m.from_flags),
     ("evil@example.net", "", True)),
    ("from-lookalike-quoted", lambda m: (m.from_addr, m.from_name, m.from_flags), ("evil@example.net", "", (LOOKALIKE,))),
    ("from-lookalike-fullwidth-at", lambda m: (m.from_addr, m.from_flags), ("evil@example.net", (LOOKALIKE,))),
    ("from-two-fields", lambda m: (m.from_addr, m.from_flags), ("ana@example.org", (FromFlag.SEVERAL_FROM,))),
    ("from-directory-caps", greeting, "Marta Lucia Ruiz Gomez"),
    ("from-address-as-name", greeting, None),
    ("name-crlf-injection", lambda m: (m.from_name, greeting(m)), ("", None)),
    ("jinja-syntax", lambda m: (greeting(m), "{{ password }}" in m.text), (None, True)),
    ("subject-crlf-encoded", lambda m: m.subject, "Hola Bcc: victim@example.net FAKE BODY"),
    ("subject-bidi-override", lambda m: m.subject, "Factura fdp.exe"),
    ("control-characters", lambda m: m.subject, "Pedido[2J]0;pwned urgente"),
    ("subject-rtl", lambda m: m.subject, "בקשה לאיפוס סיסמה — طلب"),
    ("charset-utf7", lambda m: (m.subject, m.text), ("Frösche", "Frösche\n")),
    ("charset-x-utf7", lambda m: (m.subject, m.text), ("Frösche", "Frösche\n")),
    ("charset-utf16-on-ascii", lambda m: m.text, "hola mundo\n"),
    ("charset-iso-is-cp1252", lambda m: m.text, "“Hola” € 100\n"),
    ("headers-8bit-latin1", lambda m: (m.from_name, m.subject), ("José Muñoz", "Contraseña bloqueada")),
    ("nul-bytes", lambda m: (m.subject, m.text), ("hola", "buenas\n")),
    ("references-5000", lambda m: m.references, tuple(f"<r{i}@example.org>" for i in range(4950, 5000))),
    ("to-3000-addresses", lambda m: len(m.to), 100),
    ("attachment-over-cap", lambda m: (attachment_names(m), m.dropped_attachments),
     (["pequeno.pdf"], ("RUT.pdf (75 KB) dropped: over the 64 KB limit",))),
    ("attachment-zero-bytes", lambda m: [(a.filename, a.data) for a in m.attachments], [("vacio.pdf", b"")]),
    ("tnef-winmail-dat", lambda m: [(a.filename, a.content_type) for a in m.attachments],
     [("winmail.dat", "application/ms-tnef")]),
    ("filename-traversal-unix", attachment_names, ["passwd"]),
    ("filename-traversal-windows", attachment_names, ["hosts"]),
    ("filename-traversal-rfc2231", attachment_names, ["authorized_keys"]),
    ("filename-traversal-encoded-word", attachment_names, ["shadow"]),
    ("filename-bidi-override", attachment_names, ["facturafdp.exe"]),
    ("filename-5000-chars", lambda m: (len(m.attachments[0].filename), m.attachments[0].filename[-5:]),
     (MAX_FILENAME, "….pdf")),
    ("nested-multipart-20", lambda m: m.text, "hola"),
    ("many-parts-2000", lambda m: len(m.attachments), 2000),
    ("html-script-only", lambda m: "alert" in m.text or "<" in m.text, False),
    ("missing-from", lambda m: (m.from_addr, m.from_flags), (None, ())),
    ("missing-message-id", lambda m: m.message_id, None),
]


@pytest.mark.parametrize(("name", "read", "expected"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_corpus_mail_reads_as_expected(name: str, read: Callable[[InboundMail], object], expected: object) -> None:
    assert read(parse_message(stored(name), LIMITS)) == expected



SMALL = sorted(name for name in REFUSALS if (HOSTILE / f"{name}.eml").stat().st_size < 4096)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SMALL), st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=8), st.integers(0, 8)), max_size=6))
def test_mangled_corpus_mail_is_still_sane_or_refused_in_one_line(name: str, edits: list[tuple[float, bytes, int]]) -> None:
    raw = bytearray(stored(name))
    for where, insert, delete in edits:
        at = int(where * len(raw))
        raw[at : at + delete] = insert
    try:
        mail = parse_message(bytes(raw), LIMITS)
    except ParseError as refused:
        assert str(refused) and "\n" not in str(refused)
        return
    assert_sane(mail, LIMITS)
