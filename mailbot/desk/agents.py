"""Tell a queue's agents about a case: one mail per agent (or one to the agents' list), each with its own signed
Message-ID, so that a reply to it proves which agent wrote and about which case (mail/message_ids.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..mail.message_ids import signed_message_id
from .models import Case, MailKind, Outbox
from .outbox import enqueue


def notify_agents(session: Session, config: Config, queue: QueueConfig, kind: MailKind, context: dict[str, Any],
                  case: Case | None, secret: bytes, *, except_to: str = "") -> list[Outbox]:
    """Queue `kind` to each of the queue's agent recipients but `except_to` (the agent whose mail caused it).
    Agents are never rate-limited."""
    if not secret:
        raise ValueError("notify_agents needs the desk secret: an unsigned notification cannot be answered")
    rows = []
    for recipient in queue.agent_recipients:
        if recipient.lower() == except_to.lower():
            continue
        message_id = (signed_message_id(config.desk.message_id_domain, case.number, recipient, secret)
                      if case is not None else None)
        rows.append(enqueue(session, config, queue, kind, recipient, context, case, in_reply_to=None, references=[],
                            message_id=message_id))
    return rows
