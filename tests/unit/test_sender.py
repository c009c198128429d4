"""Who sent a mail: the From mailbox that clients and DMARC see, and the flags that warn agents (hostile-mail issue)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.addresses import addr_spec
from mailbot.mail.parse import FromFlag, ParseError, parse_message
from mailbot.mail.sanitize import one_line
from tests.costs import assert_costs_like

SEVERAL, DEFECTS, LOOKALIKE = FromFlag.SEVERAL_FROM, FromFlag.FROM_DEFECTS, FromFlag.NAME_LOOKS_LIKE_ADDRESS


def with_from(*from_headers: bytes) -> bytes:
    return b"".join(b"From: " + header + b"\r\n" for header in from_headers) + b"Subject: Hola\r\n\r\nCuerpo.\r\n"


@pytest.mark.parametrize(
    ("from_headers", "addr", "name", "flags"),
    [
        ([b"Marta Ruiz <Marta.Ruiz@Example.ORG>"], "marta.ruiz@example.org", "Marta Ruiz", ()),
        ([b"Juan A. P\xc3\xa9rez <jp@example.org>"], "jp@example.org", "Juan A. Pérez", ()),
        ([b"marta@example.org"], "marta@example.org", "", ()),
        # The stdlib reads this as victim@bank.example.com; clients and DMARC see evil@example.net.
        ([b"victim@bank.example.com <evil@example.net>"], "evil@example.net", "", (DEFECTS, LOOKALIKE)),
        ([b'"victim@bank.example.com" <evil@example.net>'], "evil@example.net", "", (LOOKALIKE,)),
        ([b"=?utf-8?q?victim=40bank.example.com?= <evil@example.net>"], "evil@example.net", "", (LOOKALIKE,)),
        ([b"victim\xef\xbc\xa0bank.example.com <evil@example.net>"], "evil@example.net", "", (LOOKALIKE,)),
        ([b'"Soporte (soporte@bank.example.com)" <evil@example.net>'], "evil@example.net", "", (LOOKALIKE,)),
        ([b'"ana@example.org" <ana@example.org>'], "ana@example.org", "", ()),
        ([b"ana@example.org, luis@example.org"], "ana@example.org", "", (SEVERAL,)),
        ([b"Ana <ana@example.org>", b"Luis <luis@example.org>"], "ana@example.org", "Ana", (SEVERAL,)),
        ([b"Juan <juan@example.org"], "juan@example.org", "Juan", (DEFECTS,)),
        ([b"rota, Ana <ana@example.org>"], "ana@example.org", "Ana", (SEVERAL, DEFECTS)),
        ([b"=?utf-8?q?Juan=0D=0ABcc=3A_x=40example.net?= <j@example.org>"], "j@example.org", "", (DEFECTS, LOOKALIKE)),
        ([b"=?utf-8?q?Juan=0D=0AFAKE_BODY?= <j@example.org>"], "j@example.org", "Juan FAKE BODY", (DEFECTS,)),
        ([b"Juan\x1b[31m\x07 <j@example.org>"], "j@example.org", "Juan[31m", (DEFECTS,)),
        ([b"=?utf-8?q?=E2=80=AEnauJ?= <j@example.org>"], "j@example.org", "nauJ", ()),
        ([b"=?utf-7?q?Fr+APY-sche?= <f@example.org>"], "f@example.org", "Frösche", ()),
        ([b"undisclosed-recipients:;"], None, "", ()),
        ([b""], None, "", ()),
        ([b"Ana <ana>"], None, "", (DEFECTS,)),
    ],
    ids=["plain", "obsolete-period-is-no-defect", "bare", "unquoted-address-as-name", "quoted-address-as-name",
         "encoded-address-as-name", "fullwidth-at", "address-inside-name", "own-address-as-name",
         "two-mailboxes", "two-from-fields", "unclosed-angle", "junk-mailbox", "crlf-injection-with-address",
         "crlf-injection", "control-chars", "bidi-override", "utf-7-name", "empty-group", "empty", "no-domain"],
)
def test_sender_is_the_mailbox_clients_see_with_flags(
    from_headers: list[bytes], addr: str | None, name: str, flags: tuple[FromFlag, ...]
) -> None:
    mail = parse_message(with_from(*from_headers))
    assert (mail.from_addr, mail.from_name, mail.from_flags) == (addr, name, flags)
    assert mail.header("from") is not None  # the header as written stays for agents


def test_flags_read_as_plain_strings() -> None:
    mail = parse_message(with_from(b"victim@bank.example.com <evil@example.net>"))
    assert mail.from_flags == ("from-defects", "name-looks-like-address")


@pytest.mark.parametrize(
    "from_header",
    [b"=?utf-8?q?soporte?=@example.org", b"Ana <=?utf-8?q?ana=40example.org?=@example.net>",
     b"=?utf-8?q?ana?= @example.org", b"Ana <ana@example.org>, =?utf-8?b?YQ==?=@example.net"],
    ids=["bare", "in-angle", "space-before-at", "second-mailbox"],
)
def test_encoded_word_in_the_from_address_is_refused_at_intake(from_header: bytes) -> None:
    # It used to be accepted here and fail at send time after nine retries.
    with pytest.raises(ParseError) as caught:
        parse_message(with_from(from_header))
    assert str(caught.value) == (
        "the From address contains an RFC 2047 encoded word, which RFC 2047 §5 allows only in display names"
    )


def test_long_display_name_is_capped() -> None:
    mail = parse_message(with_from(b'"' + "Ñ".encode() * 1000 + b'" <n@example.org>'))
    assert mail.from_name == "Ñ" * 127 + "…"


def test_a_display_name_of_one_long_word_costs_what_one_of_many_words_costs() -> None:
    """The look-alike check once tried every character of a run without "@" as an address's start: 64 kB, 12 s."""
    word, words = (with_from(b'"' + name + b'" <n@example.org>') for name in (b"a" * 50_000, b"a " * 25_000))
    assert_costs_like(lambda: parse_message(word), lambda: parse_message(words))


FROM_PIECES = st.sampled_from([
    *'@<>()",;:\\ .', "\t", "\u202e", "\x1b", "\uff20", "\x00", "\r\n", "ana", "Ana Ruiz", "example.org",
    "victim@bank.example.com", "=?utf-8?q?a=40b=0D=0A?=", "=?utf-8?b?QEA=?=", "=?utf-8?q?x?=",
])


@given(st.lists(FROM_PIECES, max_size=12).map("".join))
def test_any_from_header_gives_a_usable_address_and_a_clean_name_or_a_one_line_refusal(value: str) -> None:
    try:
        mail = parse_message(with_from(value.encode("utf-8")))
    except ParseError as refused:
        assert "\n" not in str(refused)
        return
    assert mail.from_addr is None or addr_spec(mail.from_addr) == mail.from_addr
    assert mail.from_name == one_line(mail.from_name, 128)
    assert not re.search(r"[^\s@<>()\"',;]@[^\s@<>()\"',;]", unicodedata.normalize("NFKC", mail.from_name))
