"""What became of one inbound message: decided by its action, stored as its receipt, obeyed by its mailbox."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Outcome


@dataclass(frozen=True)
class Verdict:
    """The one name for a message's fate as it travels: action → receipt → the source's MOVE → reports."""

    uid: int
    outcome: Outcome
    reason: str
    rule: str = ""  # the classify rule that decided, "duplicate", or "" when nothing was classified
    case_id: int | None = None
    case_number: str | None = None

    @property
    def quarantined(self) -> bool:
        return self.outcome is Outcome.QUARANTINE
