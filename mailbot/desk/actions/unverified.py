"""Mail from an agent's address that proves nothing (no signed reference, no trusted DKIM/SPF pass): flagged, its
commands ignored, nothing sent to the customer, and the agents told (PEERS.md: agent identity by From alone)."""

from __future__ import annotations

from ...mail.quotes import strip_reply
from .. import cases
from ..agents import notify_agents
from ..models import Case, Direction, Entry, EntryKind, MailKind, Outcome, utcnow
from ..outbox import entry_context, unverified_context
from ..verdict import Verdict
from .base import Inbound

REASON = {"es": "sin referencia firmada ni DKIM/SPF válidos de un servidor de confianza para {}",
          "en": "no signed reference and no DKIM/SPF pass from a trusted server for {}"}


def record(inbound: Inbound) -> Verdict:
    """On its case: an `unverified` entry there."""
    case, mail = inbound.case, inbound.mail
    assert case is not None and mail.from_addr is not None
    entry = cases.record_inbound(inbound.session, inbound.config.storage_path, case, mail, inbound.raw_sha256,
                                 EntryKind.UNVERIFIED)
    _tell_agents(inbound, case, entry)
    return inbound.verdict(Outcome.FOLLOW_UP, f"an agent's address without proof: recorded on {case.number} as "
                                              "unverified; nothing applied or sent", case)


def report(inbound: Inbound) -> Verdict:
    """About no case (or another queue's): the agents see it; only the raw message and the receipt keep it."""
    mail = inbound.mail
    assert mail.from_addr is not None
    entry = Entry(direction=Direction.IN, kind=EntryKind.UNVERIFIED, author=mail.from_addr, subject=mail.subject,
                  text=strip_reply(mail.text), at=utcnow())
    _tell_agents(inbound, None, entry)
    return inbound.verdict(Outcome.IGNORED, "an agent's address without proof, on no case of the queue; "
                                            "the agents told, nothing applied or sent")


def _tell_agents(inbound: Inbound, case: Case | None, entry: Entry) -> None:
    config, sender = inbound.config, inbound.mail.from_addr or ""
    reason = REASON.get(config.desk.language, REASON["es"]).format(sender.rpartition("@")[2])
    notify_agents(inbound.session, config, inbound.queue, MailKind.UNVERIFIED_AGENT,
                  unverified_context(config, inbound.queue, case, entry_context(config, entry), reason), case,
                  inbound.secret)
