"""The request and reply forms checked field by field, and typed text cleaned the same way every time."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.config import Config, load_config
from mailbot.desk.submissions import NewRequest, request_text
from mailbot.portal.forms import MAX_FILES, Submitted, check_reply, check_request, clean, uploads_of
from mailbot.portal.i18n import MESSAGES, Words

MINIMAL = (Path(__file__).parent.parent / "integration" / "minimal.toml").read_text().replace("DB_URL", "sqlite:///m.db")
WORDS = Words("es")
VALID = {"queue": "mesadeayuda", "subject": "El token no firma", "description": "Al firmar aparece un error."}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    path = tmp_path_factory.mktemp("config") / "mailbot.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    return load_config(path, secrets=False)


@pytest.mark.parametrize(("fields", "errors"), [
    pytest.param({}, {}, id="valid"),
    pytest.param({"phone": "+57 (601) 555-0100 ext. 12"}, {}, id="phone with extension"),
    pytest.param({"phone": "3001234567"}, {}, id="mobile"),
    pytest.param({"queue": "otra"}, {"queue": WORDS("err_queue")}, id="unknown queue"),
    pytest.param({"queue": ""}, {"queue": WORDS("err_queue")}, id="no queue"),
    pytest.param({"subject": "   "}, {"subject": WORDS("err_required")}, id="blank subject"),
    pytest.param({"description": ""}, {"description": WORDS("err_required")}, id="no description"),
    pytest.param({"subject": "x" * 201}, {"subject": WORDS("err_field_too_long", length=200)}, id="long subject"),
    pytest.param({"product": "x" * 201}, {"product": WORDS("err_field_too_long", length=200)}, id="long product"),
    pytest.param({"phone": "llámenme"}, {"phone": WORDS("err_phone")}, id="phone in words"),
    pytest.param({"phone": "12"}, {"phone": WORDS("err_phone")}, id="phone too short"),
    pytest.param({"phone": "1" * 41}, {"phone": WORDS("err_phone")}, id="phone too long"),
])
def test_request_form_errors(config: Config, fields: dict[str, str], errors: dict[str, str]) -> None:
    _, found = check_request(WORDS, Submitted({**VALID, **fields}), config)
    assert found == errors


def test_request_fields_are_cleaned_and_one_line(config: Config) -> None:
    form = Submitted({**VALID, "subject": "  El token\r\nno firma\x00 ", "product": "Token\tUSB",
                      "description": "Línea 1\r\nLínea 2\x07"})
    request, errors = check_request(WORDS, form, config)
    assert errors == {}
    assert request == NewRequest("mesadeayuda", "El token no firma", "Línea 1\nLínea 2", product="Token USB")


@pytest.mark.parametrize(("text", "files", "too_big", "error"), [
    pytest.param("Gracias, ya funciona.", 0, (), None, id="text"),
    pytest.param("", 1, (), None, id="only a file"),
    pytest.param(" \n ", 0, (), ("text", WORDS("err_reply_empty")), id="nothing"),
    pytest.param("x" * 20_001, 0, (), ("text", WORDS("err_field_too_long", length=20_000)), id="too long"),
    pytest.param("Adjunto", 0, ("grande.pdf",), ("files", WORDS("err_file_too_big", name="grande.pdf", size="20 MB")),
                 id="file over the limit"),
    pytest.param("Adjunto", MAX_FILES + 1, (), ("files", WORDS("err_too_many_files", count=MAX_FILES)),
                 id="too many files"),
])
def test_reply_form_errors(config: Config, text: str, files: int, too_big: tuple[str, ...],
                           error: tuple[str, str] | None) -> None:
    uploads, _ = uploads_of([(f"f{i}.txt", "text/plain", b"x") for i in range(files)], 10)
    _, errors = check_reply(WORDS, Submitted({"text": text}, uploads, too_big), config)
    assert errors == (dict([error]) if error else {})


def test_files_over_the_limit_and_empty_file_inputs() -> None:
    kept, too_big = uploads_of([("a.pdf", "application/pdf", b"12345"), ("b.pdf", "application/pdf", b"123456"),
                                ("", "application/octet-stream", b"")], limit=5)
    assert [upload.filename for upload in kept] == ["a.pdf"] and too_big == ("b.pdf",)


@given(st.text())
def test_cleaned_text_has_no_control_characters_but_line_breaks_and_tabs_and_cleaning_twice_changes_nothing(
        text: str) -> None:
    cleaned = clean(text)
    assert all(c in "\n\t" or ord(c) >= 0x20 and not 0x7f <= ord(c) <= 0x9f for c in cleaned)
    assert "\r" not in cleaned and clean(cleaned) == cleaned


@pytest.mark.parametrize(("request_", "language", "text"), [
    pytest.param(NewRequest("q", "s", "El token no firma."), "es", "El token no firma.", id="no details"),
    pytest.param(NewRequest("q", "s", "Falla.", product="Token", phone="3001234567"), "es",
                 "Producto: Token\nTeléfono de contacto: 3001234567\n\nFalla.", id="es"),
    pytest.param(NewRequest("q", "s", "Fails.", report="Incidente", contact_hours="8-12"), "en",
                 "Issue to report: Incidente\nContact hours: 8-12\n\nFails.", id="en"),
])
def test_the_request_text_agents_read(request_: NewRequest, language: str, text: str) -> None:
    assert request_text(request_, language) == text


def test_both_languages_have_every_word() -> None:
    assert set(MESSAGES["es"]) == set(MESSAGES["en"])
