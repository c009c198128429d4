"""Decide what kind of mail this is; never writes or sends (one step decides, the next acts)."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from .authresults import verified_sender_pass
from .bounces import parse_bounce
from .message_ids import MAILBOT_HEADER, is_ours, signed_case
from .parse import InboundMail


class Route(enum.Enum):
    CUSTOMER = "customer"
    BULK = "bulk"              # a person's mail through a list or bulk sender: a case, but no automatic mail
    AUTO_REPLY = "auto_reply"  # recorded on its case if it has one; never answered, never opens a case
    BOUNCE = "bounce"          # a delivery status notification about a mail we sent: matched to its outbox row
    AGENT = "agent"            # an agent of the queue, proved by a signed reference or a trusted DKIM/SPF pass
    AGENT_UNVERIFIED = "agent_unverified"  # an agent's address without proof: flagged, acts as nothing
    OWN_LOOP = "own_loop"      # mail we sent that came back to a desk mailbox
    NO_SENDER = "no_sender"    # nobody to answer: quarantined


@dataclass(frozen=True)
class Decision:
    """`case_number` is the case a signed notification reference proves an agent's mail is about (AGENT only)."""

    route: Route
    rule: str
    reason: str
    case_number: str | None = None


@dataclass(frozen=True)
class Ours:
    """What classify needs to know of the desk: what marks mail as its own (the Message-ID domain and the queues'
    addresses) and, for the queue the mail came to, its agents (lower case), the agents' list, the desk secret
    that signs notification ids, the authserv-ids whose Authentication-Results count and whether such a result may
    prove an agent."""

    message_id_domain: str
    addresses: frozenset[str]
    agents: frozenset[str] = frozenset()
    agents_group: str | None = None
    secret: bytes = b""
    trusted_authserv_ids: tuple[str, ...] = ()
    agent_results: bool = False  # [desk] agents_server_binds_sender: a trusted pass for an agent's address counts
    desk_agents: frozenset[str] = frozenset()  # every queue's agents: one of them unproved is flagged, anywhere
    exposed: frozenset[str] = frozenset()  # signed ids seen outside the desk (the mail's own): they prove nothing


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[InboundMail, Ours], bool]


def _sender(mail: InboundMail) -> str:
    return (mail.from_addr or "").strip().lower()


def _own_message_id(mail: InboundMail, ours: Ours) -> bool:
    return is_ours(mail.message_id, ours.message_id_domain)


def _from_a_desk_address(mail: InboundMail, ours: Ours) -> bool:
    return _sender(mail) in ours.addresses


def _bounce(mail: InboundMail, _ours: Ours) -> bool:
    return parse_bounce(mail.raw) is not None


def _auto_submitted(mail: InboundMail, _ours: Ours) -> bool:
    # RFC 3834 §5: anything but "no" is automatic.
    value = (mail.header("auto-submitted") or "no").split(";")[0].strip().lower()
    return value != "no"


def _auto_reply_precedence(mail: InboundMail, _ours: Ours) -> bool:
    return (mail.header("precedence") or "").strip().lower() == "auto_reply"


def _autoresponder_header(mail: InboundMail, _ours: Ours) -> bool:
    # Not standard, but what autoresponders that predate RFC 3834 set (vacation programs, cPanel, Zimbra).
    return mail.header("x-autoreply") is not None or mail.header("x-autorespond") is not None


def _delivery_report(mail: InboundMail, _ours: Ours) -> bool:
    # RFC 6522/3464: read receipts and the reports parse_bounce does not take, whoever signs them.
    return (mail.header("content-type") or "").strip().lower().startswith("multipart/report")


_MAIL_SYSTEM = frozenset({"mailer-daemon", "postmaster"})


def _mailer_daemon(mail: InboundMail, _ours: Ours) -> bool:
    # RFC 5321 §4.5.5: a null reverse-path is a notification; bounces+… is a VERP return address (a list's bounces).
    local = _sender(mail).partition("@")[0]
    return (local in _MAIL_SYSTEM or local.startswith("bounces+")
            or (mail.header("return-path") or "").strip() == "<>")


# An out-of-office answer that does not say so in its headers: recognised by the subject its client writes.
_OUT_OF_OFFICE = re.compile(
    r"\s*(?:respuesta\s+autom[aá]tica|fuera\s+de\s+(?:la\s+)?oficina|ausente|out\s+of\s+(?:the\s+)?office"
    r"|automatic\s+reply|auto[- ]?reply|autorespuesta)\s*(?::|$).*"
    r"|\s*auto\s*:.*",  # Outlook's "Auto:"; a bare "Auto" is a car in Spanish
    re.IGNORECASE | re.DOTALL,
)


def _out_of_office_subject(mail: InboundMail, _ours: Ours) -> bool:
    return _OUT_OF_OFFICE.fullmatch(mail.subject) is not None


def agent_proof(mail: InboundMail, ours: Ours) -> tuple[str, str | None] | None:
    """How an agent's mail proves it is theirs: ("signed reference", the case it names) when it references a
    notification id signed for this agent (or for the agents' list), ("dkim" | "spf", None) when a trusted
    Authentication-Results header passes for the agent's own address (RFC 8601); None without proof."""
    agent = _sender(mail)
    if agent not in ours.agents or not ours.secret:
        return None
    signed_for = [agent, *([ours.agents_group] if ours.agents_group else [])]
    for message_id in (*mail.in_reply_to, *reversed(mail.references)):
        if message_id in ours.exposed:  # whom the agent copied has it too: it is no longer the agent's alone
            continue
        for address in signed_for:
            case_number = signed_case(message_id, address, ours.secret)
            if case_number is not None:
                return "signed reference", case_number
    if not ours.agent_results:  # SPF and DKIM name a person only where the agents' server binds them to the login
        return None
    results = [value for name, value in mail.headers if name == "authentication-results"]
    method = verified_sender_pass(results, ours.trusted_authserv_ids, agent)
    return (method, None) if method else None


def _verified_agent(mail: InboundMail, ours: Ours) -> bool:
    return agent_proof(mail, ours) is not None


def _agent_address(mail: InboundMail, ours: Ours) -> bool:
    """From one of the queue's agents, or of another queue's (a forged agent of another desk address would
    otherwise be a customer of whichever case its subject names)."""
    sender = _sender(mail)
    return sender in ours.agents or sender in ours.desk_agents


_NO_REPLY = re.compile(r"(?:no-?reply|do-?not-?reply)(?:[+.\-_].*)?")


def _bulk_or_list(mail: InboundMail, _ours: Ours) -> bool:
    precedence = (mail.header("precedence") or "").strip().lower()
    return (precedence in {"bulk", "junk", "list"} or mail.header("list-id") is not None
            or mail.header("list-unsubscribe") is not None)


def _no_answer_wanted(mail: InboundMail, _ours: Ours) -> bool:
    # Microsoft's X-Auto-Response-Suppress asks for no automatic answer; noreply senders cannot read one.
    return (mail.header("x-auto-response-suppress") is not None
            or _NO_REPLY.fullmatch(_sender(mail).partition("@")[0]) is not None)


# Order matters: the first rule that matches decides.
RULES: tuple[tuple[Rule, Route], ...] = (
    (Rule("no-sender", "no usable From address", lambda m, d: m.from_addr is None), Route.NO_SENDER),
    (Rule("own-header", f"carries our {MAILBOT_HEADER} header", lambda m, d: m.header(MAILBOT_HEADER) is not None),
     Route.OWN_LOOP),
    (Rule("own-message-id", "its Message-ID is one of ours", _own_message_id), Route.OWN_LOOP),
    (Rule("own-address", "sent from a desk address", _from_a_desk_address), Route.OWN_LOOP),
    (Rule("bounce", "a delivery status notification (RFC 3464) or a mail server's bounce", _bounce), Route.BOUNCE),
    (Rule("auto-submitted", "Auto-Submitted says it is automatic (RFC 3834)", _auto_submitted), Route.AUTO_REPLY),
    (Rule("precedence-auto-reply", "Precedence: auto_reply", _auto_reply_precedence), Route.AUTO_REPLY),
    (Rule("autoresponder", "X-Autoreply or X-Autorespond: an autoresponder", _autoresponder_header),
     Route.AUTO_REPLY),
    (Rule("delivery-report", "a delivery or read report (multipart/report)", _delivery_report), Route.AUTO_REPLY),
    (Rule("mailer-daemon", "sent by MAILER-DAEMON/postmaster/bounces+ or with an empty Return-Path",
          _mailer_daemon), Route.AUTO_REPLY),
    (Rule("out-of-office", "an out-of-office subject", _out_of_office_subject), Route.AUTO_REPLY),
    (Rule("agent", "an agent of the queue, proved", _verified_agent), Route.AGENT),
    (Rule("agent-unverified", "an agent's address without a signed reference or a trusted DKIM/SPF pass",
          _agent_address), Route.AGENT_UNVERIFIED),
    # Never answered automatically (RFC 3834 §2), but a person may be behind it: the desk sees the case.
    (Rule("bulk-or-list", "Precedence: bulk, junk or list, or a List-Id or List-Unsubscribe", _bulk_or_list),
     Route.BULK),
    (Rule("no-answer-wanted", "X-Auto-Response-Suppress, or a noreply sender", _no_answer_wanted), Route.BULK),
)


def classify(mail: InboundMail, ours: Ours) -> Decision:
    for rule, route in RULES:
        if rule.check(mail, ours):
            proof = agent_proof(mail, ours) if route is Route.AGENT else None
            reason = f"{rule.description} ({proof[0]})" if proof else rule.description
            return Decision(route, rule.name, reason, proof[1] if proof else None)
    return Decision(Route.CUSTOMER, "customer", "a person writing to the desk")
