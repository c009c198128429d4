"""Unit tests for mailbot.mail.quotes: a table of real-looking replies and properties that keep the sender's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.quotes import strip_reply
from tests.costs import assert_costs_like

REPLIES = Path(__file__).resolve().parent.parent / "data" / "replies"
SEPARATOR = "\n==== expected ====\n"


def reply_cases() -> list[tuple[str, str, str]]:
    """(name, reply text, expected new text) from each tests/data/replies/*.txt: the reply, the separator, then
    the expected text; the file's last newline belongs to neither."""
    cases = []
    for path in sorted(REPLIES.glob("*.txt")):
        reply, expected = path.read_text(encoding="utf-8").removesuffix("\n").split(SEPARATOR)
        cases.append((path.stem, reply, expected))
    return cases


CASES = reply_cases()


def test_the_table_has_at_least_thirty_replies_in_spanish_and_english() -> None:
    names = [name for name, _, _ in CASES]
    assert len(names) >= 30
    assert sum(name.startswith("es-") for name in names) >= 15
    assert sum(name.startswith("en-") for name in names) >= 10


@pytest.mark.parametrize(("reply", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_strip_reply_keeps_only_the_new_text(reply: str, expected: str) -> None:
    assert strip_reply(reply) == expected


def test_crlf_line_endings_are_stripped_like_lf() -> None:
    reply = (
        "Adjunto el RUT.\r\n\r\n"
        "El lun, 23 nov 2026 a las 10:15, Mesa <mesadeayuda@example.com> escribió:\r\n"
        "> Envíe el RUT.\r\n"
    )
    assert strip_reply(reply) == "Adjunto el RUT."


@pytest.mark.parametrize("reply", ["", "   ", "\n\n", "> solo una cita", "-- \nMarta Ruiz"])
def test_text_that_would_strip_to_nothing_comes_back_unchanged(reply: str) -> None:
    assert strip_reply(reply) == reply


# Lines a person might type: no quote marker, no signature dashes, no "Field:" shapes.
plain_line = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40).filter(
    lambda line: not line.lstrip().startswith((">", "-", "_")) and ":" not in line
)


@given(st.lists(plain_line, min_size=1, max_size=12))
def test_text_without_history_markers_is_kept_whole(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert strip_reply(text) in (text.strip("\n").rstrip(), text)


@given(st.lists(st.tuples(plain_line, plain_line), min_size=1, max_size=6), st.booleans())
def test_inline_answers_are_never_eaten(pairs: list[tuple[str, str]], attributed: bool) -> None:
    """FreeScout #349: answers typed between the quoted questions must survive."""
    answers = [answer for _, answer in pairs if answer.strip()]
    body = "\n".join(f"> {question}\n{answer}" for question, answer in pairs)
    head = "El lun, 23 nov 2026 a las 10:15, Mesa <mesadeayuda@example.com> escribió:\n" if attributed else ""
    stripped = strip_reply(head + body)
    for answer in answers:
        assert answer.strip() in stripped


@given(st.text(max_size=300))
def test_result_is_a_run_of_the_input_lines_or_the_input_itself(text: str) -> None:
    stripped = strip_reply(text)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    assert stripped == text or (stripped.strip() and stripped in normalised)


# Bodies a hostile sender repeats for a megabyte; the first made every matching line copy the rest of the mail.
HOSTILE_BODIES = {
    "attribution lines": "On a wrote:\n",
    "three-line attributions": "On a\nb\nc wrote:\n",
    "attributions over blank lines": "On a wrote:\n\n\n\n\n\n",
    "underscores over blank lines": "____________\n\n\n",
    "header blocks": "From: a\nSent: b\n",
}


@pytest.mark.parametrize("unit", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES)
def test_stripping_costs_what_a_plain_body_of_the_same_size_costs(unit: str) -> None:
    size = 600_000
    hostile, plain = unit * (size // len(unit)), "Hola mundo.\n" * (size // 12)
    assert_costs_like(lambda: strip_reply(hostile), lambda: strip_reply(plain))
