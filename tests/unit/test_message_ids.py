"""Our Message-IDs: plain ones and the agents' signed notification ids, minted and recognised in one place."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.message_ids import is_ours, new_message_id, signed_case, signed_message_id, verify

DOMAIN = "mailbot.example.com"
SECRET = b"s" * 32
AGENT = "agente1@example.com"


def test_a_signed_id_verifies_for_its_agent_and_case_only() -> None:
    message_id = signed_message_id(DOMAIN, "CS0000001", AGENT, SECRET)

    assert verify(message_id, "CS0000001", AGENT, SECRET)
    assert verify(message_id, "CS0000001", "AGENTE1@Example.com", SECRET), "addresses compare case-insensitively"
    assert not verify(message_id, "CS0000002", AGENT, SECRET)
    assert not verify(message_id, "CS0000001", "agente2@example.com", SECRET)
    assert not verify(message_id, "CS0000001", AGENT, b"another secret")
    assert signed_case(message_id, AGENT, SECRET) == "CS0000001"


@pytest.mark.parametrize(("message_id", "ours"), [
    ("<0123456789abcdef0123456789abcdef@mailbot.example.com>", True),
    ("<n.CS0000001.0123456789abcdef.0123456789abcdef0123456789abcdef@mailbot.example.com>", True),
    ("<n.CS0000001.0123456789abcdef.0123456789abcdef0123456789abcdef@example.org>", False),
    ("<6f1c2d3e-aaaa-bbbb-cccc-0123@mailbot.example.com>", False),
    ("<CAFxyz@mail.gmail.com>", False),
    (None, False),
], ids=["plain", "signed", "signed-elsewhere", "a-colleague's-client", "gmail", "none"])
def test_is_ours_knows_both_shapes_on_our_domain(message_id: str | None, ours: bool) -> None:
    assert is_ours(message_id, DOMAIN) is ours


@pytest.mark.parametrize("tampered", [
    lambda m: m.replace("CS0000001", "CS0000002"),  # another case, same MAC
    lambda m: m[:-25] + ("0" if m[-25] != "0" else "1") + m[-24:],  # one hex digit of the MAC changed
    lambda m: m.replace("n.", "n.X", 1),
], ids=["case", "mac", "shape"])
def test_a_tampered_id_verifies_for_nobody(tampered: object) -> None:
    message_id = signed_message_id(DOMAIN, "CS0000001", AGENT, SECRET)
    assert callable(tampered)
    assert signed_case(tampered(message_id), AGENT, SECRET) is None


@given(case=st.from_regex(r"CS[0-9]{7}", fullmatch=True), agent=st.emails(), secret=st.binary(min_size=1))
def test_every_signed_id_is_ours_and_verifies(case: str, agent: str, secret: bytes) -> None:
    message_id = signed_message_id(DOMAIN, case, agent, secret)
    assert is_ours(message_id, DOMAIN) and verify(message_id, case, agent, secret)
    assert not is_ours(message_id, "example.org")


@given(st.text(max_size=80))
def test_no_text_verifies_without_the_secret(text: str) -> None:
    assert signed_case(text, AGENT, SECRET) is None or text.startswith("<n.")


def test_plain_ids_are_unique_and_ours() -> None:
    ids = {new_message_id(DOMAIN) for _ in range(100)}
    assert len(ids) == 100 and all(is_ours(i, DOMAIN) for i in ids)
