"""What a customer sees of the desk's mail: the case's "updated" time and the To: header."""

from __future__ import annotations

import pytest

from tests.conftest import Desk
from tests.databases import sqlite_only
from tests.integration.test_first_path import CUSTOMER, FIRST, mail, only_case

pytestmark = sqlite_only  # mail and times, not storage


def test_automatic_mail_leaves_the_updated_time_and_a_customers_mail_moves_it(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()
    case = only_case(desk)
    assert [e.kind.value for e in case.entries] == ["customer", "system", "system"]  # credentials and ack sent
    assert case.updated_at == case.entries[0].at, "the acknowledgement and credentials are no update"

    desk.deliver(mail("<later@transportes.example.org>", "RE: [CS0000001] No puedo firmar", "Sigue igual."))
    desk.run_once()

    case = only_case(desk)
    assert case.updated_at == case.entries[-1].at > case.entries[0].at


def test_to_carries_the_customers_display_name(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.run_once()

    for sent in desk.sent_to(CUSTOMER):
        (to,) = sent.message["To"].addresses
        assert (to.display_name, to.addr_spec) == ("Marta Ruiz", CUSTOMER)


@pytest.mark.parametrize("name", [
    "=?utf-8?q?Marta=0D=0ABcc=3A_victim=40example=2Enet?=",  # CR LF decoded from an encoded word
    '"Ruiz, \\"Marta\\" <victim@example.net>"',  # quotes, a comma and an address inside the name
    # Encoded twice: decoded once on the way in, a literal encoded word with CR LF that folding would decode again.
    "=?utf-8?b?PT91dGYtOD9xP01hcnRhPTBEPTBBQmNjPTNBX3ZpY3RpbT00MGV4YW1wbGU9MkVuZXQ9MEQ9MEE9MEQ9MEFIb2xhPz0=?=",
])
def test_a_hostile_display_name_cannot_add_headers_or_recipients(desk: Desk, name: str) -> None:
    desk.deliver(FIRST.replace("From: Marta Ruiz <", f"From: {name} <").replace("Subject: ", f"Subject: {name} ", 1))
    desk.run_once()

    sent = desk.sent_to(CUSTOMER)
    assert len(sent) == 2
    for captured in sent:
        assert captured.rcpt_tos == (CUSTOMER,)
        assert captured.message["Bcc"] is None and captured.message["Cc"] is None
        (to,) = captured.message["To"].addresses
        assert to.addr_spec == CUSTOMER
        assert "\n" not in to.display_name and "\r" not in to.display_name
