"""Unit tests for mailbot.mail.sanitize: one-line echo text, greeting names and terminal-safe output."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.sanitize import BIDI_CONTROLS, greeting_name, one_line, terminal_safe


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("No puedo firmar con el token", 255, "No puedo firmar con el token"),
        ("  Problema con\r\n\tla impresora  ", 255, "Problema con la impresora"),
        # The credentials mail used to carry the attacker's lines after "Cordial saludo, Juan A3".
        ("Juan A3\r\nBcc: victim@example.net\r\n\r\nFAKE BODY", 255, "Juan A3 Bcc: victim@example.net FAKE BODY"),
        ("ho\x00la\x07 \x1b[31mrojo\x1b[0m", 255, "hola [31mrojo[0m"),
        ("C1\x85next\x9bline", 255, "C1 nextline"),
        ("factura\u202efdp.exe \u2066aislado\u2069", 255, "facturafdp.exe aislado"),
        ("\u05e9\u05dc\u05d5\u05dd \u200fעולם", 255, "\u05e9\u05dc\u05d5\u05dd עולם"),
        ("Pedido 🚚 urgente", 255, "Pedido 🚚 urgente"),
        ("línea\u2028separada\u00a0aquí", 255, "línea separada aquí"),
        ("Solicitud de cambio de contraseña", 12, "Solicitud d…"),
        ("abc", 3, "abc"),
        ("abcd", 1, "…"),
        ("\r\n\x00\u202e", 10, ""),
    ],
    ids=["plain", "folded", "header-injection", "c0", "c1", "bidi-overrides", "rtl-text-kept", "emoji",
         "unicode-separators", "capped", "exactly-at-limit", "limit-one", "nothing-left"],
)
def test_one_line(text: str, limit: int, expected: str) -> None:
    assert one_line(text, limit) == expected


def test_one_line_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        one_line("x", 0)


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_one_line_is_one_short_line_without_controls_or_bidi(text: str, limit: int) -> None:
    line = one_line(text, limit)
    assert len(line) <= limit
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI_CONTROLS for ch in line)
    assert line == line.strip() and "  " not in line and not any(ch.isspace() and ch != " " for ch in line)
    assert one_line(line, limit) == line


CLEAN_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")).filter(lambda ch: ch not in BIDI_CONTROLS))


@given(CLEAN_TEXT)
def test_one_line_only_collapses_whitespace_in_text_without_controls(text: str) -> None:
    assert one_line(text, 10**6) == " ".join(text.split())


@pytest.mark.parametrize(
    ("display_name", "address", "expected"),
    [
        ("Marta Ruiz", "marta.ruiz@example.org", "Marta Ruiz"),
        ("RUIZ GOMEZ, MARTA LUCIA", "mruiz@example.org", "Marta Lucia Ruiz Gomez"),
        ("Ruiz Gómez, Marta", "mruiz@example.org", "Marta Ruiz Gómez"),
        ("MARIA DE LA ROSA", "mrosa@example.org", "Maria de la Rosa"),
        ("juan o'neill-pérez", "juan@example.org", "Juan O'Neill-Pérez"),
        ("María José de la Rosa", "mj@example.org", "María José de la Rosa"),
        ("McDonald, Ana", "ana@example.org", "Ana McDonald"),
        ("'Luis Martín'", "luis@example.org", "Luis Martín"),
        ("Ma. Fernanda", "mf@example.org", "Ma. Fernanda"),
        ("山田太郎", "taro@example.org", "山田太郎"),
        ("ventas@tienda.example.com", "ventas@tienda.example.com", None),
        ("victim@bank.example.com", "evil@example.net", None),
        ("", "ana@example.org", None),
        ("   ", "ana@example.org", None),
        ("ventas", "ventas@tienda.example.com", None),
        ("Juan A3", "juan@example.org", None),
        ("Juan\r\nBcc: victim@example.net", "juan@example.org", None),
        ("Soporte 24/7", "soporte@example.org", None),
        ("Visite https://example.net", "x@example.org", None),
        ("Pérez, Ana, Ventas", "ana@example.org", None),
        ("Ana 🌸", "ana@example.org", None),
        ("A" * 61, "a@example.org", None),
        ("Juan\u202e Pérez", "juan@example.org", "Juan Pérez"),
    ],
    ids=["name", "directory-caps", "last-first", "particles", "apostrophe-hyphen", "mixed-case-kept",
         "mixed-case-swapped", "quoted", "abbreviation", "cjk", "address", "other-address", "empty", "blank",
         "local-part", "digits", "injection", "symbols", "url", "two-commas", "emoji", "too-long", "bidi"],
)
def test_greeting_name(display_name: str, address: str, expected: str | None) -> None:
    assert greeting_name(display_name, address) == expected


NAME_LIKE = st.text(alphabet="aábBcÑñ ,.'-@1\u202e\r\n\"")


@given(st.one_of(st.text(), NAME_LIKE), st.sampled_from(["ana@example.org", "ab@example.net"]))
def test_greeting_name_is_none_or_a_short_clean_name(display_name: str, address: str) -> None:
    name = greeting_name(display_name, address)
    if name is not None:
        assert 0 < len(name) <= 60 and name == one_line(name, 60)
        assert "@" not in name and not any(ch.isdigit() for ch in name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Impresora sin tóner", "Impresora sin tóner"),
        ("línea 1\nlínea 2\n\tsangrada", "línea 1\nlínea 2\n\tsangrada"),
        ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),
        ("sobrescribe\rantes", "sobrescribe\\x0dantes"),
        ("nul\x00 del\x7f csi\x9b", "nul\\x00 del\\x7f csi\\x9b"),
        ("factura\u202efdp.exe", "factura\\u202efdp.exe"),
        ("roto \udcff", "roto \\udcff"),
        ("ya escapado \\x1b", "ya escapado \\x1b"),
    ],
    ids=["plain", "newlines-and-tabs-kept", "esc-and-bel", "carriage-return", "nul-del-c1", "bidi",
         "lone-surrogate", "backslash-untouched"],
)
def test_terminal_safe(text: str, expected: str) -> None:
    assert terminal_safe(text) == expected


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_terminal_safe_output_has_no_controls_but_newline_and_tab(text: str) -> None:
    shown = terminal_safe(text)
    assert not any(
        (unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t") or ch in BIDI_CONTROLS for ch in shown
    )
    shown.encode("utf-8")  # printable on any UTF-8 terminal
    assert shown.count("\n") == text.count("\n")
