"""A person's mail that answers no case opens one: numbered, acknowledged, the customer's credentials if due, and
the agents told. A mail on a closed case, or on another customer's case, opens a new case linked to that one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...mail.classify import Route
from ...mail.quotes import strip_reply
from ...mail.subject import find_case_number, normalize_subject, strip_case_tag
from .. import cases, escalation, survey
from ..accounts import get_or_create_contact
from ..agents import notify_agents
from ..models import Case, Contact, Entry, EntryKind, MailKind, Outcome, utcnow
from ..outbox import (ack_context, agent_notify_context, credentials_context, credentials_in_flight, enqueue_reply,
                      linked_context, stranger_context)
from ..verdict import Verdict
from .base import Inbound
from .copies import sort_copied

NO_SUBJECT = {"es": "(sin asunto)", "en": "(no subject)"}


def open_and_answer(inbound: Inbound) -> Verdict:
    """Open the case, then queue the acknowledgement (first the credentials when the contact has none yet)."""
    case, entry, new_contact = _open(inbound)
    _credentials_if_due(inbound, case, new_contact)
    enqueue_reply(inbound.session, inbound.config, inbound.queue, MailKind.ACK, case.contact, inbound.mail,
                  ack_context(inbound.config, inbound.queue, case), case)
    _notify(inbound, case, entry)
    return inbound.verdict(Outcome.NEW_CASE, f"opened {case.number}", case)


def open_unanswered(inbound: Inbound) -> Verdict:
    """List or bulk mail may come from a person, so it opens a case, but gets no automatic mail (RFC 3834 §2)."""
    case, entry, _ = _open(inbound)
    _notify(inbound, case, entry)
    return inbound.verdict(Outcome.NEW_CASE, f"opened {case.number}; not answered ({inbound.decision.reason})", case)


def open_after_closed(inbound: Inbound) -> Verdict:
    """A customer wrote on a closed case ([desk] reopen_closed = false): a new case linked to it, and the customer
    is told the new number (that mail stands for the acknowledgement)."""
    previous = inbound.case
    assert previous is not None
    # A rating by mail needs a reply to our mail on the case (the closing mail's), as the portal's link its signature.
    if inbound.answers_our_mail(previous) and survey.record_reply(previous, strip_reply(inbound.mail.text)):
        cases.record_inbound(inbound.session, inbound.config.storage_path, previous, inbound.mail,
                             inbound.raw_sha256, EntryKind.CUSTOMER)
        return inbound.verdict(Outcome.FOLLOW_UP, f"satisfaction rating {previous.rating} recorded on "
                                                  f"{previous.number}", previous)
    case, entry, new_contact = _open(inbound, linked_to=previous)
    if _answered(inbound):
        _credentials_if_due(inbound, case, new_contact)
        enqueue_reply(inbound.session, inbound.config, inbound.queue, MailKind.LINKED_CASE, case.contact,
                      inbound.mail, linked_context(inbound.config, inbound.queue, case, previous), case)
    _notify(inbound, case, entry)
    return inbound.verdict(Outcome.NEW_CASE, f"{previous.number} is closed: opened {case.number} linked to it", case)


def open_for_stranger(inbound: Inbound) -> Verdict:
    """Someone who may not add to the case their mail names (by number or Message-ID) gets a case of their own,
    linked to it and flagged for the agents; what they are sent speaks only of their own case."""
    previous = inbound.case
    assert previous is not None
    case, entry, new_contact = _open(inbound, linked_to=previous)
    if _answered(inbound):
        _credentials_if_due(inbound, case, new_contact)
        enqueue_reply(inbound.session, inbound.config, inbound.queue, MailKind.ACK, case.contact, inbound.mail,
                      ack_context(inbound.config, inbound.queue, case), case)
    notify_agents(inbound.session, inbound.config, inbound.queue, MailKind.STRANGER_LINKED,
                  stranger_context(inbound.config, inbound.queue, case, previous, entry), case, inbound.secret)
    return inbound.verdict(Outcome.NEW_CASE, f"names {previous.number} of another customer: opened {case.number} "
                                             "linked to it, flagged for the agents", case)


def needs_credentials(session: Session, contact: Contact) -> bool:
    """For a contact that existed before this mail, decided from its state: a customer first seen through bulk
    mail, or whose credentials mail went dead, bounced or was suppressed, gets credentials with their next
    answered case. The contact's row is locked first (PostgreSQL), so two daemons answering two mails of one
    contact at once queue one credentials mail, not two with two passwords."""
    sent_at = session.scalar(select(Contact.credentials_sent_at).where(Contact.id == contact.id).with_for_update())
    # A statement of its own, after the lock: one statement sees the data as it was when it began, so a check made
    # in the locking statement itself would miss the row another daemon queued and committed while we waited.
    return sent_at is None and not credentials_in_flight(session, contact)


def _answered(inbound: Inbound) -> bool:
    """Only a person's own mail gets automatic mail back; a list's or bulk sender's does not (RFC 3834 §2)."""
    return inbound.decision.route is not Route.BULK


def _credentials_if_due(inbound: Inbound, case: Case, new_contact: bool) -> None:
    """A contact this very mail created needs credentials without asking: no other transaction can have queued
    any for a row that is not committed yet (another daemon's insert of it waits for ours, then finds it)."""
    if new_contact or needs_credentials(inbound.session, case.contact):
        enqueue_reply(inbound.session, inbound.config, inbound.queue, MailKind.CREDENTIALS, case.contact,
                      inbound.mail, credentials_context(inbound.config, inbound.queue, case.contact, case), case)


def _notify(inbound: Inbound, case: Case, entry: Entry) -> None:
    notify_agents(inbound.session, inbound.config, inbound.queue, MailKind.AGENT_NOTIFY,
                  agent_notify_context(inbound.config, inbound.queue, case, "new_case", entry, newest=[]),
                  case, inbound.secret)  # a case opened by this very mail has no history besides it


def _open(inbound: Inbound, linked_to: Case | None = None) -> tuple[Case, Entry, bool]:
    """The case, its first entry, and whether the mail's sender became a contact just now."""
    config, mail = inbound.config, inbound.mail
    assert mail.from_addr is not None
    language = config.desk.language
    searched, found = inbound.lookups.sender(mail.from_addr) if inbound.lookups else (False, None)
    contact, created = get_or_create_contact(inbound.session, mail.from_addr, mail.from_name,
                                             config.account_for(mail.from_addr), searched=searched, found=found)
    subject = normalize_subject(mail.subject)
    # A number we do not know, or the linked case's: not this case's name (and a stranger is not told it back).
    stale = find_case_number(subject, config.desk.case_prefix)
    subject = (strip_case_tag(subject, stale) if stale else subject) or NO_SUBJECT[language]
    case = cases.open_case(inbound.session, config.desk.case_prefix,
                           cases.NewCase(inbound.queue.key, subject, contact, language, linked_to=linked_to))
    copies = sort_copied(inbound, case, opening=True)
    entry = cases.record_inbound(inbound.session, config.storage_path, case, mail, inbound.raw_sha256,
                                 EntryKind.CUSTOMER, notes=copies.notes)
    cases.add_participants(inbound.session, case, copies.joining)
    escalation.case_changed(inbound.session, config, case, escalation.Event.CUSTOMER_WROTE, utcnow())
    inbound.session.flush()  # one INSERT of the case as it stands (its id names the mails queued about it)
    return case, entry, created
