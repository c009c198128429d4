"""Unit tests for mailbot.mail.bounces: each server's bounce matched to the outbound mail it reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.bounces import MAX_DIAGNOSTIC, MAX_ORIGINAL_IDS, Bounce, parse_bounce
from tests.costs import assert_costs_like

BOUNCES = Path(__file__).resolve().parent.parent / "data" / "bounces"


def sample(name: str) -> bytes:
    return (BOUNCES / name).read_bytes()


def outbound_id(number: int) -> str:
    """The Message-ID of the desk mail that sample NN returns (see tests/data/bounces/make_samples.py)."""
    return f"<0123456789abcdef0123456789abcd{number:02d}@desk.example.com>"


def bounce(
    number: int, recipient: str, status: str, action: str | None, diagnostic: str, permanent: bool = True
) -> Bounce:
    return Bounce((outbound_id(number),), recipient, status, action, diagnostic, permanent)


SAMPLES = [
    ("postfix-user-unknown.eml", bounce(
        1, "marta.ruiz@example.org", "5.1.1", "failed",
        "550 5.1.1 <marta.ruiz@example.org>: Recipient address rejected: User unknown in virtual mailbox table")),
    ("postfix-delayed.eml", bounce(
        2, "jorge.perez@example.org", "4.4.1", "delayed",
        "connect to mx.example.org[192.0.2.26]:25: Connection timed out", permanent=False)),
    ("exim-failed.eml", bounce(
        3, "pedro.diaz@example.net", "5.1.1", None,
        "550 5.1.1 <pedro.diaz@example.net>: Recipient address rejected: User unknown")),
    ("gmail-address-not-found.eml", bounce(
        4, "carlos.vega@example.net", "5.1.1", "failed",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the"
        " recipient's email address for typos or unnecessary spaces. For more information, go to"
        " https://support.example.net/mail/?p=NoSuchUser a1b2c3 - gsmtp")),
    ("exchange-online-dsn.eml", bounce(
        5, "luisa.gomez@example.net", "5.1.10", "failed",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup")),
    ("exchange-legacy-no-dsn.eml", bounce(
        6, "sofia.rojas@example.net", "5.1.1", None, "<EXCH01.example.net #5.1.1 SMTP; 550 5.1.1 User unknown>")),
    ("qmail-remote-rejected.eml", bounce(
        7, "ana.torres@example.net", "5.1.1", None,
        "Remote host said: 550 5.1.1 <ana.torres@example.net>... User unknown")),
]
SAMPLE_NAMES = [name for name, _ in SAMPLES]


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=SAMPLE_NAMES)
def test_each_servers_bounce_is_read(name: str, expected: Bounce) -> None:
    assert parse_bounce(sample(name)) == expected


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_bounce_matches_exactly_the_outbound_mail_it_returns(name: str) -> None:
    outbox = {outbound_id(number): number for number in range(1, 9)}
    found = parse_bounce(sample(name))
    assert found is not None
    assert [outbox[mid] for mid in found.original_message_ids if mid in outbox] == [SAMPLE_NAMES.index(name) + 1]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_crlf_from_imap_reads_the_same_as_lf_from_maildir(name: str) -> None:
    raw = sample(name)
    assert parse_bounce(raw.replace(b"\n", b"\r\n")) == parse_bounce(raw)


def test_a_read_receipt_is_not_a_bounce() -> None:
    assert parse_bounce(sample("mdn-read-receipt.eml")) is None


def dsn(action: str, status: str, diagnostic: str = "smtp; 250 2.0.0 OK", returned: str = outbound_id(9),
        notice: str = "Report.") -> bytes:
    return (
        "From: MAILER-DAEMON@mail.example.com\n"
        "To: mesadeayuda@example.com\n"
        "Subject: Successful Mail Delivery Report\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "\n"
        f"{notice}\n"
        "--b\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mail.example.com\n"
        "\n"
        "Final-Recipient: rfc822; marta.ruiz@example.org\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        f"Diagnostic-Code: {diagnostic}\n"
        "\n"
        "--b\n"
        "Content-Type: text/rfc822-headers\n"
        "\n"
        f"Message-ID: {returned}\n"
        "--b--\n"
    ).encode()


def test_a_report_without_report_type_is_read_by_its_delivery_status_part() -> None:
    raw = dsn("failed", "5.1.1").replace(b" report-type=delivery-status;", b"")
    found = parse_bounce(raw)
    assert found is not None and found.status == "5.1.1"


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_a_success_report_is_not_a_bounce(action: str) -> None:
    assert parse_bounce(dsn(action, "2.0.0")) is None


def test_a_failed_dsn_without_a_status_is_permanent_by_its_action() -> None:
    found = parse_bounce(dsn("failed", "", "smtp; mailbox unavailable"))
    assert found == Bounce((outbound_id(9),), "marta.ruiz@example.org", None, "failed", "mailbox unavailable", True)


def test_a_long_diagnostic_is_one_capped_line() -> None:
    found = parse_bounce(dsn("failed", "5.7.1", "smtp; 550 5.7.1 " + "blocked by policy\n " * 200))
    assert found is not None
    assert len(found.diagnostic) == MAX_DIAGNOSTIC
    assert "\n" not in found.diagnostic
    assert found.diagnostic.startswith("550 5.7.1 blocked by policy blocked")
    assert found.diagnostic.endswith("…")


def test_a_report_naming_many_message_ids_keeps_the_first_few() -> None:
    """A forged report once named 260,000 ids, and all of them went into one IN (…) of the outbox lookup."""
    ids = [f"<{n}@example.net>" for n in range(100_000)]
    folded = "\n ".join(" ".join(ids[i:i + 200]) for i in range(0, len(ids), 200))
    found = parse_bounce(dsn("failed", "5.1.1", returned=folded))
    assert found is not None and found.original_message_ids == tuple(ids[:MAX_ORIGINAL_IDS])


@pytest.mark.parametrize("unit", ["\n", ">\n", " \n", "-"], ids=["blank lines", "quote marks", "spaces", "dashes"])
def test_a_forged_notice_costs_what_a_plain_one_of_its_size_costs(unit: str) -> None:
    """The notice is searched for the copy marker and, when no returned headers name the mail, for quoted
    Message-ID lines; patterns that ran over every following blank line from each line, or tried every split of a
    line of dashes, took a minute for 80 kB."""
    size = 30_000
    hostile, plain = (dsn("failed", "5.1.1", "", returned="", notice=text) for text in (unit * size, "x" * size))
    assert_costs_like(lambda: parse_bounce(hostile), lambda: parse_bounce(plain))


PLAIN = b"From: Marta Ruiz <marta.ruiz@example.org>\nTo: mesadeayuda@example.com\nSubject: Consulta\n\nHola.\n"


def test_a_customer_mail_is_not_a_bounce() -> None:
    assert parse_bounce(PLAIN) is None


def test_a_bounce_a_customer_forwards_as_text_is_not_a_bounce() -> None:
    """The customer's own mail, not ours: it must not mark an outbox row bounced."""
    exim_text = sample("exim-failed.eml").split(b"\n\n", 1)[1]
    forwarded = b"From: Pedro Diaz <pedro.diaz@example.org>\nTo: mesadeayuda@example.com\nSubject: Fwd: error\n\n"
    assert parse_bounce(forwarded + exim_text) is None


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    parse_bounce(raw)


@given(st.sampled_from(SAMPLE_NAMES), st.integers(min_value=0, max_value=6000))
def test_truncated_bounces_never_raise(name: str, length: int) -> None:
    found = parse_bounce(sample(name)[:length])
    assert found is None or len(found.diagnostic) <= MAX_DIAGNOSTIC
