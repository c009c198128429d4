"""A person's mail on a case it threads onto: recorded there (a resolved case goes back in progress)."""

from __future__ import annotations

from .. import cases, escalation
from ..models import EntryKind, Outcome, utcnow
from ..verdict import Verdict
from .base import Inbound


def add(inbound: Inbound) -> Verdict:
    assert inbound.case is not None
    cases.record_inbound(inbound.session, inbound.config.storage_path, inbound.case, inbound.mail,
                         inbound.raw_sha256, EntryKind.CUSTOMER)
    escalation.case_changed(inbound.session, inbound.config, inbound.case, escalation.Event.CUSTOMER_WROTE,
                            utcnow())
    return inbound.verdict(Outcome.FOLLOW_UP, f"added to {inbound.case.number}", inbound.case)
