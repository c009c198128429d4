"""The escalation pass's mails: their contexts (template_samples.py is the contract) and a notice queued on its own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from . import survey
from .durations import Duration
from .models import Case, Contact, Entry, EntryKind, MailKind, Outbox
from .outbox import MAX_REFERENCES, ack_context, enqueue, entry_context, local

LAST_ENTRIES = 3  # what a level's contacts read of the case's history
# What people wrote on the case; our automatic mails and out-of-office replies tell a supervisor nothing.
HISTORY_KINDS = (EntryKind.CUSTOMER, EntryKind.AGENT_REPLY, EntryKind.NOTE)
# The words the pass writes into a staff mail's context, in the mail's language (the desk's).
_WORDS = {
    "es": {"day": "día hábil", "days": "días hábiles", "agents": "Agentes de {queue}", "level": "nivel {level}"},
    "en": {"day": "business day", "days": "business days", "agents": "Agents of {queue}", "level": "level {level}"},
}


def span(value: timedelta) -> str:
    """Business time as hours and minutes: "4 h 20 min", "30 min", "0 min"."""
    minutes = int(value.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return " ".join([*([f"{hours} h"] if hours else []), *([f"{minutes} min"] if minutes or not hours else [])])


def _words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["es"])


def agents_name(queue: QueueConfig, language: str) -> str:
    """Level 0 as a mail names it: "Agentes de Mesa de ayuda", "Agents of Mesa de ayuda"."""
    return _words(language)["agents"].format(queue=queue.name)


def level_name(level: int, language: str) -> str:
    """A level the ladder no longer names (it was shortened under the case): "nivel 4", "level 4"."""
    return _words(language)["level"].format(level=level)


def target_text(target: Duration, language: str) -> str:
    """A target as the desk says it: "4 h", "1 día hábil", "2 días hábiles 4 h"."""
    words = _words(language)
    days = f"{target.days} {words['day' if target.days == 1 else 'days']}" if target.days else ""
    clock = span(target.clock) if target.clock or not target.days else ""
    return " ".join(part for part in (days, clock) if part)


def last_entries(session: Session, case: Case, kinds: Sequence[EntryKind] = HISTORY_KINDS,
                 limit: int = LAST_ENTRIES) -> list[Entry]:
    """The case's newest entries of these kinds, oldest first (newest last, as the templates show them)."""
    newest = session.scalars(select(Entry).where(Entry.case_id == case.id, Entry.kind.in_(kinds))
                             .order_by(Entry.id.desc()).limit(limit)).all()
    return list(reversed(newest))


def escalation_context(config: Config, queue: QueueConfig, case: Case, escalation: dict[str, Any],
                       entries: Sequence[Entry]) -> dict[str, Any]:
    """For `escalation`, `escalation_agents` and `resolution_breach`: the case, why it climbed or which target it
    missed, who was told before, the last entries."""
    return {**ack_context(config, queue, case), "escalation": escalation,
            "entries": [entry_context(config, entry) for entry in entries]}


def reminder_context(config: Config, queue: QueueConfig, case: Case, since: datetime,
                     last_reply: Entry | None) -> dict[str, Any]:
    return {**ack_context(config, queue, case), "reminder": {
        "since": local(config, since), "last_reply": entry_context(config, last_reply) if last_reply else None}}


def closing_context(config: Config, queue: QueueConfig, case: Case, resolved_at: datetime,
                    survey_key: bytes) -> dict[str, Any]:
    """The survey is the external `survey_url` when one is set, else one portal link per rating (signed with
    `survey_key`, see desk/survey.py); a reply with the number works either way."""
    external = config.escalation.survey_url or ""
    return {**ack_context(config, queue, case), "closing": {
        "resolved_at": local(config, resolved_at), "survey_url": external,
        "survey_links": [] if external else survey.links(survey_key, config.portal.base_url, case.number)}}


def enqueue_notice(session: Session, config: Config, queue: QueueConfig, kind: MailKind, recipient: str,
                   context: dict[str, Any], case: Case, *, contact: Contact | None = None,
                   language: str | None = None) -> Outbox:
    """One automatic mail about `case` that answers no inbound mail (through `outbox.enqueue`). To the customer
    (`contact`) it is threaded under the case's newest mail, so their client files it with the conversation
    (RFC 5322 §3.6.4), and it counts towards the customer's [limits] like any automatic mail; to staff it starts a
    thread that the case number in the subject brings back to the case, and is never suppressed."""
    ids: list[str] = []
    if contact is not None:
        ids = [i for i in session.scalars(select(Entry.message_id).where(Entry.case_id == case.id,
                                                                         Entry.message_id.is_not(None))
                                          .order_by(Entry.id.desc()).limit(MAX_REFERENCES)) if i]
    row = enqueue(session, config, queue, kind, recipient, context, case, in_reply_to=ids[0] if ids else None,
                  references=list(reversed(ids)), automatic=contact is not None)
    row.contact_id = contact.id if contact else None
    row.language = language or row.language
    return row
