"""Unit tests for mailbot.mail.addresses: address lists read as mail clients read them, in linear time."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.addresses import (MAX_ADDRESS, Mailbox, addr_spec, address_list, delivery_mailbox, has_encoded_word,
                                    mailboxes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ana@example.org", [Mailbox("", "ana@example.org")]),
        ("Ana Ruiz <ana@example.org>", [Mailbox("Ana Ruiz", "ana@example.org")]),
        ('"Ruiz, Ana" <ana@example.org>, luis@example.org',
         [Mailbox("Ruiz, Ana", "ana@example.org"), Mailbox("", "luis@example.org")]),
        ("victim@bank.example.com <evil@example.net>", [Mailbox("victim@bank.example.com", "evil@example.net")]),
        ('"Ana \\"la jefa\\" Ruiz" <ana@example.org>', [Mailbox('Ana "la jefa" Ruiz', "ana@example.org")]),
        ('<"ana ruiz"@example.org>', [Mailbox("", '"ana ruiz"@example.org')]),
        ("Ana (ventas (norte)) <ana@example.org> (oficina)", [Mailbox("Ana", "ana@example.org")]),
        ("ana@example.org (Ana Ruiz)", [Mailbox("", "ana@example.org")]),
        ("Ana < ana @ example.org >", [Mailbox("Ana", "ana@example.org")]),
        ("Ana <@relay.example.net,@mx.example.net:ana@example.org>", [Mailbox("Ana", "ana@example.org")]),
        ("Ventas: ana@example.org, luis@example.org;, eva@example.org",
         [Mailbox("", "ana@example.org"), Mailbox("", "luis@example.org"), Mailbox("", "eva@example.org")]),
        ("undisclosed-recipients:;", []),
        ("Ana <ana@example.org", [Mailbox("Ana", "ana@example.org")]),
        ("a <b@example.org> <c@example.org>", [Mailbox("a", "c@example.org")]),
        (",, ,", []),
        ("Ana Ruiz ana@example.org", [Mailbox("", "Ana Ruiz ana@example.org")]),
        ("=?utf-8?q?Ana_Mar=C3=ADa?= <ana@example.org>", [Mailbox("=?utf-8?q?Ana_Mar=C3=ADa?=", "ana@example.org")]),
    ],
    ids=["bare", "name", "quoted-comma", "unquoted-address-as-name", "escaped-quotes", "quoted-local-part",
         "nested-comments", "old-style-comment", "spaces-in-angle", "obs-route", "group", "empty-group",
         "unclosed-angle", "two-angles-last-wins", "only-commas", "name-without-angle", "encoded-name-kept"],
)
def test_mailboxes(value: str, expected: list[Mailbox]) -> None:
    assert list(mailboxes(value)) == expected


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("Ana.Ruiz@Example.ORG", "ana.ruiz@example.org"),
        ('"ana ruiz"@example.org', '"ana ruiz"@example.org'),
        ("juan.@example.org", "juan.@example.org"),
        ("ana@[192.0.2.1]", "ana@[192.0.2.1]"),
        ("josé@correo.example.org", "josé@correo.example.org"),
        ("Ana Ruiz ana@example.org", None),
        ("=?utf-8?q?ana?=@example.org", None),
        ("ana", None),
        ("ana@", None),
        ("ana@example.org\x00", None),
        ("<ana@example.org>", None),
        ("a" * 250 + "@example.org", None),
    ],
    ids=["lower-cased", "quoted-local-part", "trailing-dot", "domain-literal", "utf8-rfc6531", "spaces",
         "encoded-word", "no-at", "no-domain", "control-char", "brackets", "too-long"],
)
def test_addr_spec(addr: str, expected: str | None) -> None:
    assert addr_spec(addr) == expected


@pytest.mark.parametrize(
    ("addr", "expected"),
    [("=?utf-8?q?foo?=@example.org", True), ("=?UTF-8?B?Zm9v?=@example.org", True), ("a=?b@example.org", False)],
)
def test_has_encoded_word(addr: str, expected: bool) -> None:
    assert has_encoded_word(addr) is expected


def test_address_list_stops_at_the_limit_and_reads_no_further() -> None:
    huge = ", ".join(f"Usuario {i} <u{i}@example.org>" for i in range(100_000))  # 3 MB of To
    started = time.perf_counter()
    found = address_list([huge, "otra@example.org"], 100)
    assert found == tuple(f"u{i}@example.org" for i in range(100))
    assert time.perf_counter() - started < 0.5  # the stdlib's parser takes minutes on this header


def test_address_list_skips_unusable_addresses_across_headers() -> None:
    values = ["rota, <=?utf-8?q?x?=@example.org>, Ana <ana@example.org>", "luis@example.org"]
    assert address_list(values, 10) == ("ana@example.org", "luis@example.org")


HEADER_PIECES = st.sampled_from([*'ab@.<>()",:;\\ \t=?', "example.org", "=?utf-8?q?x?="])


@given(st.lists(HEADER_PIECES).map("".join), st.integers(min_value=1, max_value=5))
def test_any_header_reads_without_error_into_at_most_limit_valid_addresses(value: str, limit: int) -> None:
    found = address_list([value], limit)
    assert len(found) <= limit
    assert all(addr_spec(addr) == addr and len(addr) <= MAX_ADDRESS for addr in found)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("victim@example.org", "victim@example.org"),
        ("Victim@Example.ORG", "victim@example.org"),
        ("victim+1@example.org", "victim@example.org"),
        ("victim+a+b@example.org", "victim@example.org"),
        ('"victim"@example.org', "victim@example.org"),
        ('"victim+x"@example.org', "victim@example.org"),
        ('"vic\\"tim"@example.org', 'vic"tim@example.org'),
        ("victim@example.org.", "victim@example.org"),
        (" victim@example.org ", "victim@example.org"),
        ("+victim@example.org", "+victim@example.org"),
        ("v.ictim@example.org", "v.ictim@example.org"),
        ("victim-1@example.org", "victim-1@example.org"),
        ('"a@b"@example.org', "a@b@example.org"),
        ("nobody", "nobody"),
        ("victim@\uff45xample.org", "victim@example.org"),
        ("victim@example\u3002org", "victim@example.org"),
        ("victim@bücher.example", "victim@xn--bcher-kva.example"),
        ("victim@XN--BCHER-KVA.example", "victim@xn--bcher-kva.example"),
        ("victim@-not-.a..domain", "victim@-not-.a..domain"),
    ],
    ids=["plain", "case", "tag", "tags", "quoted", "quoted-tag", "quoted-pair", "root-dot", "spaces",
         "only-a-tag-is-kept", "dots-kept", "dash-kept", "quoted-at", "no-at", "full-width", "ideographic-stop",
         "u-label", "a-label", "no-idn"],
)
def test_delivery_mailbox(address: str, expected: str) -> None:
    assert delivery_mailbox(address) == expected


LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", min_size=1, max_size=20)
DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,3}", fullmatch=True)


@given(LOCAL, st.text(alphabet="abc0123456789+-", max_size=10), DOMAIN)
def test_every_spelling_of_one_mailbox_is_counted_as_it(local: str, tag: str, domain: str) -> None:
    mailbox = delivery_mailbox(f"{local}@{domain}")
    spellings = [f"{local}+{tag}@{domain}", f'"{local}"@{domain}', f"{local}@{domain}.", f"{local.upper()}@{domain}",
                 f'"{local}+{tag}"@{domain.upper()}.']
    assert {delivery_mailbox(s) for s in spellings} == {mailbox}
    assert delivery_mailbox(mailbox) == mailbox


@given(LOCAL, LOCAL, DOMAIN)
def test_different_mailboxes_stay_apart(one: str, other: str, domain: str) -> None:
    if one.lower() != other.lower():
        assert delivery_mailbox(f"{one}@{domain}") != delivery_mailbox(f"{other}@{domain}")
