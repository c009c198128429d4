"""Which case a message belongs to: our Message-IDs in In-Reply-To/References first, then a case number in the subject."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..mail.parse import InboundMail
from ..mail.subject import find_case_number
from .models import Case, Entry


def find_case(session: Session, mail: InboundMail, case_prefix: str) -> Case | None:
    """The case this mail answers, or None for a new conversation.

    In-Reply-To is the surest sign, then References from the newest back (RFC 5322 §3.6.4), then the number
    a customer typed or kept in the subject (the peers open a new case for that; FreeScout #2921). Every mail on a
    case is an entry with its Message-ID: the customer's, and ours once sent.
    """
    wanted = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    if wanted:
        rows = session.execute(
            select(Entry.message_id, Entry.case_id).where(Entry.message_id.in_(wanted)).order_by(Entry.id)
        )
        owners = {message_id: case_id for message_id, case_id in rows}  # a reused id threads to its newest case
        for message_id in wanted:
            if message_id in owners:
                return session.get(Case, owners[message_id])
    number = find_case_number(mail.subject, case_prefix)
    if number is not None:
        return session.scalars(select(Case).where(Case.number == number)).one_or_none()
    return None
