"""An automatic mail on a known case (an out-of-office, a read report) is recorded there and never answered."""

from __future__ import annotations

from .. import cases
from ..models import EntryKind, Outcome
from ..verdict import Verdict
from .base import Inbound


def record(inbound: Inbound) -> Verdict:
    assert inbound.case is not None
    cases.record_inbound(inbound.session, inbound.config.storage_path, inbound.case, inbound.mail,
                         inbound.raw_sha256, EntryKind.AUTO_REPLY)
    return inbound.verdict(Outcome.FOLLOW_UP, f"automatic mail ({inbound.decision.reason}) recorded; not answered",
                           inbound.case)
