"""Decide what kind of mail this is; never writes or sends (one step decides, the next acts)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from .message_ids import MAILBOT_HEADER, is_ours
from .parse import InboundMail


class Route(enum.Enum):
    CUSTOMER = "customer"
    BULK = "bulk"              # a person's mail through a list or bulk sender: a case, but no automatic mail
    AUTO_REPLY = "auto_reply"  # recorded on its case if it has one; never answered, never opens a case
    OWN_LOOP = "own_loop"      # mail we sent that came back to a desk mailbox
    NO_SENDER = "no_sender"    # nobody to answer: quarantined


@dataclass(frozen=True)
class Decision:
    route: Route
    rule: str
    reason: str


@dataclass(frozen=True)
class Ours:
    """What marks mail as the desk's own: the Message-ID domain and the queues' addresses."""

    message_id_domain: str
    addresses: frozenset[str]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[InboundMail, Ours], bool]


def _own_message_id(mail: InboundMail, ours: Ours) -> bool:
    return is_ours(mail.message_id, ours.message_id_domain)


def _from_a_desk_address(mail: InboundMail, ours: Ours) -> bool:
    return mail.from_addr in ours.addresses


def _auto_submitted(mail: InboundMail, _ours: Ours) -> bool:
    # RFC 3834 §5: anything but "no" is automatic.
    value = (mail.header("auto-submitted") or "no").split(";")[0].strip().lower()
    return value != "no"


def _auto_reply_precedence(mail: InboundMail, _ours: Ours) -> bool:
    return (mail.header("precedence") or "").strip().lower() == "auto_reply"


def _bulk_or_list(mail: InboundMail, _ours: Ours) -> bool:
    precedence = (mail.header("precedence") or "").strip().lower()
    return precedence in {"bulk", "junk", "list"} or mail.header("list-id") is not None


def _delivery_report(mail: InboundMail, _ours: Ours) -> bool:
    # RFC 6522/3464: bounces and read receipts, whoever signs them.
    return (mail.header("content-type") or "").strip().lower().startswith("multipart/report")


def _mailer_daemon(mail: InboundMail, _ours: Ours) -> bool:
    local = (mail.from_addr or "").partition("@")[0]
    return local in {"mailer-daemon", "postmaster"} or (mail.header("return-path") or "").strip() == "<>"


# Order matters: the first rule that matches decides. Loop protection grows here (issue 3).
RULES: tuple[tuple[Rule, Route], ...] = (
    (Rule("no-sender", "no usable From address", lambda m, d: m.from_addr is None), Route.NO_SENDER),
    (Rule("own-header", f"carries our {MAILBOT_HEADER} header", lambda m, d: m.header(MAILBOT_HEADER) is not None),
     Route.OWN_LOOP),
    (Rule("own-message-id", "its Message-ID is one of ours", _own_message_id), Route.OWN_LOOP),
    (Rule("own-address", "sent from a desk address", _from_a_desk_address), Route.OWN_LOOP),
    (Rule("auto-submitted", "Auto-Submitted says it is automatic (RFC 3834)", _auto_submitted), Route.AUTO_REPLY),
    (Rule("precedence-auto-reply", "Precedence: auto_reply", _auto_reply_precedence), Route.AUTO_REPLY),
    (Rule("delivery-report", "a delivery or read report (multipart/report)", _delivery_report), Route.AUTO_REPLY),
    (Rule("mailer-daemon", "sent by MAILER-DAEMON/postmaster or with an empty Return-Path", _mailer_daemon),
     Route.AUTO_REPLY),
    # Never answered automatically (RFC 3834 §2), but a person may be behind it: the desk sees the case.
    (Rule("bulk-or-list", "Precedence: bulk, junk or list, or a List-Id", _bulk_or_list), Route.BULK),
)


def classify(mail: InboundMail, ours: Ours) -> Decision:
    for rule, route in RULES:
        if rule.check(mail, ours):
            return Decision(route, rule.name, rule.description)
    return Decision(Route.CUSTOMER, "customer", "a person writing to the desk")
