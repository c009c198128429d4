"""Set a message aside with a reason a person can read; it is moved to the quarantine folder after the commit."""

from __future__ import annotations

from ..models import Outcome
from ..verdict import Verdict
from .base import Inbound


def quarantine(uid: int, reason: str, rule: str = "") -> Verdict:
    """For a message no action can take: unparseable, unreadable on the server, or one that made processing fail."""
    return Verdict(uid, Outcome.QUARANTINE, reason, rule)


def nobody_to_answer(inbound: Inbound) -> Verdict:
    return quarantine(inbound.uid, f"{inbound.decision.reason}: nobody to answer", inbound.decision.rule)
