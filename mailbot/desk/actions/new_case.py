"""A person's mail that answers no case opens one: numbered, acknowledged, and the customer's credentials if due."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ...mail.subject import find_case_number, normalize_subject, strip_case_tag
from .. import cases, escalation
from ..accounts import get_or_create_contact
from ..models import Case, Contact, EntryKind, MailKind, Outbox, OutboxStatus, Outcome, utcnow
from ..outbox import ack_context, credentials_context, enqueue_reply
from ..verdict import Verdict
from .base import Inbound

NO_SUBJECT = {"es": "(sin asunto)", "en": "(no subject)"}


def open_and_answer(inbound: Inbound) -> Verdict:
    """Open the case, then queue the acknowledgement, and first the credentials when the contact has none yet."""
    case = _open(inbound)
    contact = case.contact
    if needs_credentials(inbound.session, contact):
        enqueue_reply(inbound.session, inbound.config, inbound.queue, MailKind.CREDENTIALS, contact, inbound.mail,
                      credentials_context(inbound.config, inbound.queue, contact, case), case)
    enqueue_reply(inbound.session, inbound.config, inbound.queue, MailKind.ACK, contact, inbound.mail,
                  ack_context(inbound.config, inbound.queue, case), case)
    return inbound.verdict(Outcome.NEW_CASE, f"opened {case.number}", case)


def open_unanswered(inbound: Inbound) -> Verdict:
    """List or bulk mail may come from a person, so it opens a case, but gets no automatic mail (RFC 3834 §2)."""
    case = _open(inbound)
    return inbound.verdict(Outcome.NEW_CASE, f"opened {case.number}; not answered ({inbound.decision.reason})", case)


def needs_credentials(session: Session, contact: Contact) -> bool:
    """Decided from the contact's state, not from "this mail created the contact": a customer first seen through
    bulk mail, or whose credentials mail went dead, gets credentials with their next answered case."""
    if contact.credentials_sent_at is not None:
        return False
    in_flight = exists().where(Outbox.contact_id == contact.id, Outbox.kind == MailKind.CREDENTIALS,
                               Outbox.status.not_in([OutboxStatus.SENT, OutboxStatus.DEAD]))
    return not session.scalar(select(in_flight))


def _open(inbound: Inbound) -> Case:
    config, mail = inbound.config, inbound.mail
    assert mail.from_addr is not None
    language = config.desk.language
    contact, _ = get_or_create_contact(inbound.session, mail.from_addr, mail.from_name,
                                       config.account_for(mail.from_addr))
    subject = normalize_subject(mail.subject)
    stale = find_case_number(subject, config.desk.case_prefix)  # a number we do not know: not this case's name
    subject = (strip_case_tag(subject, stale) if stale else subject) or NO_SUBJECT[language]
    case = cases.open_case(inbound.session, config.desk.case_prefix,
                           cases.NewCase(inbound.queue.key, subject, contact, language))
    cases.record_inbound(inbound.session, config.storage_path, case, mail, inbound.raw_sha256, EntryKind.CUSTOMER)
    escalation.case_changed(inbound.session, config, case, escalation.Event.CUSTOMER_WROTE, utcnow())
    return case
