"""Mail that opens nothing and is answered by nothing; the receipt says why, the message goes to processed."""

from __future__ import annotations

from ..models import Outcome
from ..verdict import Verdict
from .base import Inbound


def own_loop(inbound: Inbound) -> Verdict:
    """Our own mail came back to a desk mailbox: answering it would start a loop."""
    return inbound.verdict(Outcome.IGNORED, f"our own mail came back ({inbound.decision.reason}); not answered")


def automatic(inbound: Inbound) -> Verdict:
    """An automatic mail that answers no case of ours: never a case, never an answer (RFC 3834)."""
    return inbound.verdict(Outcome.IGNORED, f"automatic mail ({inbound.decision.reason}); no case opened")
