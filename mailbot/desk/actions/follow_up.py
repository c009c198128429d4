"""A person's mail on a case it threads onto: recorded there (a resolved case goes back in progress)."""

from __future__ import annotations

from .. import cases
from ..models import EntryKind, Outcome
from ..verdict import Verdict
from .base import Inbound


def add(inbound: Inbound) -> Verdict:
    assert inbound.case is not None
    cases.record_inbound(inbound.session, inbound.config.storage_path, inbound.case, inbound.mail,
                         inbound.raw_sha256, EntryKind.CUSTOMER)
    return inbound.verdict(Outcome.FOLLOW_UP, f"added to {inbound.case.number}", inbound.case)
