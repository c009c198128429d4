"""What a logged-in contact may read, each query scoped in SQL: their cases, a case's visible entries, its files.

A case, entry or attachment outside the scope is simply not found, so the portal answers 404 whether it does not
exist or belongs to someone else: guessing numbers and ids learns nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from ..config import Config
from ..desk.models import Attachment, Case, CaseRequest, Contact, Entry, EntryKind, MailKind, Outbox, State

PAGE_SIZE = 25
# A case number as a URL may carry it: checked before it reaches SQL (PostgreSQL refuses a NUL in text outright).
_NUMBER = re.compile(r"[A-Za-z]{1,6}[0-9]{7}")
# What the customer sees of a case's history: their (and their colleagues') mails and the agents' replies. System
# mail is shown only when it is the acknowledgement; credentials, internal notes, automatic mail and any kind added
# later (unverified mail, notifications) stay hidden until they are listed here.
SHOWN_KINDS = (EntryKind.CUSTOMER, EntryKind.AGENT_REPLY)
SHOWN_SYSTEM_MAIL = (MailKind.ACK,)


@dataclass(frozen=True)
class Scope:
    """Whose cases a contact sees: their own, and their organisation's when `account` is set."""

    contact_id: int
    account: str | None = None

    @classmethod
    def of(cls, config: Config, contact: Contact) -> Scope:
        """The organisation's cases are shared only when [portal] account_cases is on and the account is one
        listed in [accounts]: a contact whose account is merely their mail domain (gmail.com) shares nothing."""
        shared = config.portal.account_cases and contact.account in set(config.accounts.values())
        return cls(contact.id, contact.account if shared else None)

    def cases(self) -> ColumnElement[bool]:
        own = Case.contact_id == self.contact_id
        return or_(own, Case.account == self.account) if self.account else own


def list_cases(session: Session, scope: Scope, state: State | None, page: int) -> tuple[list[Case], bool]:
    """One page of the contact's cases, most recently updated first, and whether an older page follows."""
    query = select(Case).where(scope.cases())
    if state is not None:
        query = query.where(Case.state == state)
    rows = session.scalars(query.order_by(Case.updated_at.desc(), Case.id.desc())
                           .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def find_case(session: Session, scope: Scope, number: str) -> Case | None:
    if not _NUMBER.fullmatch(number):
        return None
    return session.scalars(select(Case).where(Case.number == number.upper(), scope.cases())).one_or_none()


def request_of(session: Session, case: Case) -> CaseRequest | None:
    """The request form's details, for a case opened in the portal."""
    return session.get(CaseRequest, case.id)


def shown_entries(session: Session, case: Case) -> list[Entry]:
    """The case's history as its customer sees it, oldest first (attachments loaded)."""
    return list(session.scalars(select(Entry).where(Entry.case_id == case.id, _shown()).order_by(Entry.id)).all())


def find_attachment(session: Session, scope: Scope, number: str, attachment_id: int) -> Attachment | None:
    """An attachment of a shown entry of a case in scope; None for anything else."""
    if not _NUMBER.fullmatch(number):
        return None
    return session.scalars(
        select(Attachment).join(Entry, Attachment.entry_id == Entry.id).join(Case, Entry.case_id == Case.id)
        .where(Attachment.id == attachment_id, Case.number == number.upper(), scope.cases(), _shown())
    ).one_or_none()


def _shown() -> ColumnElement[bool]:
    """Entry is one the customer may see: a shown kind, or system mail whose outbox row is of a shown kind."""
    shown_mail = select(Outbox.message_id).where(Outbox.case_id == Entry.case_id,
                                                 Outbox.kind.in_(SHOWN_SYSTEM_MAIL))
    return or_(Entry.kind.in_(SHOWN_KINDS), and_(Entry.kind == EntryKind.SYSTEM, Entry.message_id.in_(shown_mail)))
