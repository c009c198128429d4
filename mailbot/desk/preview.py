"""The context of a mail as a real case would give it, for `templates preview --case`: the case, its customer,
queue and last entries are real; what only an event supplies (an escalation, a reminder, a bounce, a password)
stays the mail's sample (template_samples), so every mail can be previewed on any case."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..template_samples import sample
from .models import Case, Direction, EntryKind
from .outbox import ack_context, agents_history, entry_context, linked_context


def case_context(session: Session, config: Config, queue: QueueConfig, case: Case, name: str) -> dict[str, Any]:
    """`name`'s sample context with every part the case has replaced by the case's own."""
    context = sample(name)
    people = [e for e in case.entries if not e.kind.automatic]
    inbound = [e for e in people if e.direction is Direction.IN]
    replies = [e for e in people if e.kind is EntryKind.AGENT_REPLY]
    message = inbound[-1] if inbound else None  # the mail a notification is about; its history comes before it
    real: dict[str, Any] = {**ack_context(config, queue, case), "entries": agents_history(config, case.entries, message),
                            "username": case.contact.email}
    if message is not None:
        real["message"] = entry_context(config, message)
        real["event"] = "new_case" if message is case.entries[0] else "follow_up"
    if replies:
        real["reply"] = entry_context(config, replies[-1])
    previous = session.get(Case, case.linked_case_id) if case.linked_case_id is not None else None
    if previous is not None:
        real.update(linked_context(config, queue, case, previous))
    return {**context, **{key: value for key, value in real.items() if key in context}}
