"""The SMTP transport against a real aiosmtpd: every failure comes out as one of three errors, in the server's words."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from mailbot.config import SmtpConfig, TlsMode
from mailbot.mail.smtp_transport import PermanentDeliveryError, ServerUnavailable, SmtpTransport, TemporaryDeliveryError
from mailbot.servers.ports import free_port
from mailbot.servers.smtp_capture import SmtpCapture

DESK = "mesadeayuda@example.com"


def smtp_config(port: int, tls: TlsMode = "none") -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, tls=tls, username=None, password=None, from_name="")


def message(to: str, subject: str = "Acuse") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = DESK, to, subject
    mail.set_content("Recibimos su solicitud.")
    return mail


async def send_all(config: SmtpConfig, *mails: EmailMessage) -> list[str | Exception]:
    """Each mail's acceptance reply or the error it raised, in order, over one transport."""
    outcomes: list[str | Exception] = []
    async with SmtpTransport(config) as transport:
        for mail in mails:
            try:
                outcomes.append(await transport.send(mail))
            except (TemporaryDeliveryError, PermanentDeliveryError, ServerUnavailable) as exc:
                outcomes.append(exc)
    return outcomes


@pytest.fixture
def no_smtputf8() -> Iterator[SmtpCapture]:
    with SmtpCapture(smtputf8=False) as server:
        yield server


@pytest.mark.parametrize(("refuse", "reply", "error", "words"), [
    ("data", "451 4.3.0 Intente más tarde", TemporaryDeliveryError, "451 4.3.0 Intente más tarde"),
    ("data", "550 5.1.1 <ana@example.org>: buzón inexistente", PermanentDeliveryError,
     "550 5.1.1 <ana@example.org>: buzón inexistente"),
    # 552 was "exceeded storage", a temporary condition, before RFC 5321 §4.5.3.1.10.
    ("data", "552 5.2.2 Buzón lleno", TemporaryDeliveryError, "552 5.2.2 Buzón lleno"),
    ("sender", "530 5.7.0 Authentication required", ServerUnavailable, "sender refused: 530 5.7.0 Authentication required"),
    # RFC 1870 §6.1: 552 to MAIL FROM with SIZE is about this message, not about us.
    ("sender", "552 5.3.4 Message size exceeds fixed limit", PermanentDeliveryError,
     "552 5.3.4 Message size exceeds fixed limit"),
])
def test_a_refusal_becomes_the_error_that_says_what_to_do(
    sink: SmtpCapture, refuse: str, reply: str, error: type[Exception], words: str
) -> None:
    (sink.reject_with if refuse == "data" else sink.reject_sender_with)(reply)

    (outcome,) = asyncio.run(send_all(smtp_config(sink.port), message("ana@example.org")))

    assert isinstance(outcome, error) and str(outcome) == words
    assert sink.captured == []


def test_an_address_that_needs_smtputf8_is_refused_for_that_mail_only(no_smtputf8: SmtpCapture) -> None:
    outcomes = asyncio.run(send_all(smtp_config(no_smtputf8.port), message("josé.pérez@example.org"),
                                    message("ana@example.org")))

    refused, accepted = outcomes
    assert isinstance(refused, PermanentDeliveryError)
    assert str(refused) == (f"josé.pérez@example.org needs SMTPUTF8 (RFC 6531), which the SMTP server "
                            f"127.0.0.1:{no_smtputf8.port} does not offer")
    assert isinstance(accepted, str) and accepted.startswith("2.0.0 Ok")
    assert [c.rcpt_tos for c in no_smtputf8.captured] == [("ana@example.org",)]


def test_a_server_that_offers_smtputf8_takes_the_same_address(sink: SmtpCapture) -> None:
    (accepted,) = asyncio.run(send_all(smtp_config(sink.port), message("josé.pérez@example.org")))

    assert isinstance(accepted, str)
    assert [c.rcpt_tos for c in sink.captured] == [("josé.pérez@example.org",)]


def test_mails_share_one_connection(sink: SmtpCapture) -> None:
    asyncio.run(send_all(smtp_config(sink.port), *(message(f"cliente{n}@example.org") for n in range(3))))

    assert len(sink.captured) == 3 and len({c.peer for c in sink.captured}) == 1


def test_a_server_that_is_not_there_is_unavailable() -> None:
    (outcome,) = asyncio.run(send_all(smtp_config(free_port("127.0.0.1")), message("ana@example.org")))

    assert isinstance(outcome, ServerUnavailable) and "Connect call failed" in str(outcome)


def test_a_configured_starttls_the_server_lacks_is_unavailable_never_plaintext(sink: SmtpCapture) -> None:
    (outcome,) = asyncio.run(send_all(smtp_config(sink.port, "starttls"), message("ana@example.org")))

    assert isinstance(outcome, ServerUnavailable) and "STARTTLS extension not supported" in str(outcome)
    assert sink.captured == []
