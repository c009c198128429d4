"""Which case a message belongs to (our Message-IDs in In-Reply-To/References first, then a case number in the
subject), and whether its sender may add to it."""

from __future__ import annotations

import enum

from ..config import Config, QueueConfig
from ..mail.parse import InboundMail
from ..mail.subject import find_case_number
from .lookups import Lookups, named_ids
from .models import Case, State


class Thread(enum.Enum):
    """How a mail stands to the case it names; the action table's second key."""

    NO_CASE = "answers no case of ours"
    ON_CASE = "threads onto a case its sender may add to"
    FOREIGN_CASE = "names a case its sender may not add to"  # → a new linked case, flagged; they learn nothing
    CLOSED_CASE = "threads onto a closed case"  # → a new linked case, unless [desk] reopen_closed
    ANY = "any"


def find_case(lookups: Lookups, mail: InboundMail, case_prefix: str) -> Case | None:
    """The case this mail answers, or None for a new conversation.

    In-Reply-To is the surest sign, then References from the newest back (RFC 5322 §3.6.4), then the number
    a customer typed or kept in the subject (the peers open a new case for that; FreeScout #2921). Every mail on a
    case is an entry with its Message-ID: the customer's, and ours once sent. A Message-ID some sender reused for
    different mails (FreeScout #5591) names the case whose entry that sender wrote, else the newest.
    """
    wanted = named_ids(mail)
    if wanted:
        rows = lookups.entries_named(wanted)
        sender = (mail.from_addr or "").lower()
        for message_id in wanted:
            owners = [(row.case_id, row.author.lower() == sender) for row in rows if row.message_id == message_id]
            if owners:
                own = [case_id for case_id, by_sender in owners if by_sender]
                return lookups.case((own or [case_id for case_id, _ in owners])[-1])
    number = find_case_number(mail.subject, case_prefix)
    if number is not None:
        return lookups.case_numbered(number)
    return None


def may_add(config: Config, queue: QueueConfig, case: Case, sender: str) -> bool:
    """The case's contact, a participant, an agent of its queue, or someone of the same configured account may add
    to it; anyone else who quotes its number or a Message-ID of it is a stranger to it."""
    sender = sender.strip().lower()
    domain = sender.rpartition("@")[2]
    return (
        sender == case.contact.email.lower()
        or any(sender == p.email.lower() for p in case.participants)
        or config.is_agent(case.queue if _configured(config, case.queue) else queue.key, sender)
        or (domain in config.accounts and config.accounts[domain] == case.account)
    )


def relation(config: Config, queue: QueueConfig, case: Case | None, sender: str) -> Thread:
    """NO_CASE, FOREIGN_CASE (the sender may not add to it), CLOSED_CASE or ON_CASE."""
    if case is None:
        return Thread.NO_CASE
    if not may_add(config, queue, case, sender):
        return Thread.FOREIGN_CASE
    if case.state is State.CLOSED and not config.desk.reopen_closed:
        return Thread.CLOSED_CASE
    return Thread.ON_CASE


def _configured(config: Config, key: str) -> bool:
    return any(q.key == key for q in config.queues)
