"""The one argument every action takes: the message, what classify decided, and where to write."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session

from ...config import Config, QueueConfig
from ...mail.classify import Decision
from ...mail.parse import InboundMail
from ..lookups import Lookups, named_ids
from ..models import Case, Entry, Outcome
from ..storage import store_blob
from ..verdict import Verdict


@dataclass
class Inbound:
    """One classified message inside its savepoint. Actions write through `session` and never commit."""

    session: Session
    config: Config
    queue: QueueConfig
    uid: int
    mail: InboundMail
    decision: Decision
    case: Case | None  # the case it threads onto (desk/threads.py), or None
    secret: bytes = field(repr=False)  # the desk secret: signs the agents' notification ids, from any path
    lookups: Lookups | None = None  # what ingest read for the whole batch (desk/lookups.py); None: ask the database

    @cached_property
    def raw_sha256(self) -> str:
        """The raw message, kept once on disk the first time an action records it."""
        return store_blob(self.config.storage_path, "raw", self.mail.raw, ".eml")

    def answers_our_mail(self, case: Case) -> bool:
        """The mail names a Message-ID of ours that went to its sender about `case`: only that mail's recipients
        know it, so it shows the sender is who the From says, as no From header can (read with the batch)."""
        sender = (self.mail.from_addr or "").lower()
        return (self.lookups or Lookups(self.session)).mailed(named_ids(self.mail), sender, case.id)

    def history(self, case: Case) -> list[Entry]:
        """The case's newest entries but the desk's automatic mails, oldest first: what the agents are shown."""
        return (self.lookups or Lookups(self.session)).history(case)

    def copied(self) -> list[str]:
        """Whom the mail Cc'd, besides the desk's addresses and the queue's agents: who may join the case as its
        participants (an agent's copies do; a customer's as desk/actions/copies.py says)."""
        return self.outsiders(self.mail.cc)

    def outsiders(self, addresses: Iterable[str]) -> list[str]:
        """`addresses` (lower case) but the desk's own: its queues' addresses, the queue's agents and agents' list."""
        desk = {q.address.lower() for q in self.config.queues} | {a.lower() for a in self.queue.agents}
        desk.add((self.queue.agents_group or "").lower())
        return [a.lower() for a in addresses if a.lower() not in desk]

    def verdict(self, outcome: Outcome, reason: str, case: Case | None = None) -> Verdict:
        return Verdict(self.uid, outcome, reason, self.decision.rule, case.id if case else None,
                       case.number if case else None)
