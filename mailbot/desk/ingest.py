"""Record a batch of fetched messages in the caller's transaction: one savepoint and one receipt per message.

What happens to a message is its action's business (desk/actions); this module only keeps the ledger: a message
already received is not processed again, a copy of one already processed is a duplicate, and a message whose
processing fails is quarantined without taking the rest of the batch with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from .. import logs
from ..config import Config, QueueConfig
from ..errors import first_line
from ..mail.classify import Ours, classify
from ..mail.parse import InboundMail, ParseError, ParseLimits, parse_message
from ..mail.source import Fetched
from . import threads
from .settings import desk_secret
from .actions import Inbound, action_for, needs_thread
from .actions.quarantine import quarantine
from .redaction import redact_quoted_password
from .models import Case, Outcome, Receipt
from .verdict import Verdict

log = logging.getLogger(__name__)
# Failures of the machine, not of the message: a full disk, a database that is locked or gone.
ENVIRONMENT_ERRORS = (OSError, OperationalError, InterfaceError)
Identity = tuple[str, str]  # (Message-ID or "", content fingerprint)


def ingest_batch(session: Session, config: Config, queue: QueueConfig, mailbox: str, uidvalidity: int,
                 batch: list[Fetched]) -> list[Verdict]:
    """A verdict for every message of the batch, written in `session`; the caller commits, then moves the mail.

    A message already in the ledger (a crash after the commit and before the move) is not processed again."""
    known = {
        receipt.uid: receipt
        for receipt in session.scalars(
            select(Receipt).where(Receipt.mailbox == mailbox, Receipt.uidvalidity == uidvalidity,
                                  Receipt.uid.in_([item.uid for item in batch]))
        )
    }
    limits = ParseLimits(max_attachment_size=config.limits.max_attachment_size)
    parsed = {item.uid: item.error or _parse(item.raw, limits) for item in batch if item.uid not in known}
    ledger = _Ledger(session, [mail for mail in parsed.values() if isinstance(mail, InboundMail)])
    ours = _ours(config, queue, desk_secret(session, config))
    verdicts: list[Verdict] = []
    for item in batch:
        receipt = known.get(item.uid)
        if receipt is not None:
            verdicts.append(_from_receipt(session, receipt))
            continue
        key = _Key(mailbox, uidvalidity, item.uid)
        mail = parsed[item.uid]
        with logs.about(queue=queue.key, uid=item.uid, message_id=getattr(mail, "message_id", None)):
            verdict = _ingest_one(session, config, queue, key, mail, ours, ledger)
            verdicts.append(verdict)
            if not verdict.quarantined:  # a quarantine says so itself; new cases and follow-ups are logged here
                with logs.about(case=verdict.case_number):
                    log.info("%s (%s): %s", verdict.outcome.value, verdict.rule, verdict.reason)
    return verdicts


@dataclass(frozen=True)
class _Key:
    """Where a message sits: (mailbox, UIDVALIDITY, UID), the ledger's unique key."""

    mailbox: str
    uidvalidity: int
    uid: int

    def receipt(self, verdict: Verdict, mail: InboundMail | None) -> Receipt:
        return Receipt(mailbox=self.mailbox, uidvalidity=self.uidvalidity, uid=self.uid,
                       message_id=mail.message_id if mail else None, fingerprint=mail.fingerprint if mail else None,
                       outcome=verdict.outcome, case_id=verdict.case_id, rule=verdict.rule, reason=verdict.reason)


class _Ledger:
    """Messages processed before, by (Message-ID, fingerprint): one query per batch, not one per mail.

    A resend, or one mail sent to two desk addresses, is a duplicate; the fingerprint tells a different mail that
    reuses a Message-ID (FreeScout #5591) apart, and that one is processed as new. A mail without a Message-ID is
    known by its fingerprint alone. The receipt table's unique index on the same identity makes this race-safe:
    of two daemons that take copies of one mail at once, the second's insert fails and it records a duplicate."""

    def __init__(self, session: Session, mails: list[InboundMail]) -> None:
        self.session = session
        self.seen = self._lookup({_identity(mail) for mail in mails})

    def _lookup(self, identities: set[Identity]) -> dict[Identity, Receipt]:
        ids = {message_id for message_id, _ in identities if message_id}
        anonymous = {fingerprint for message_id, fingerprint in identities if not message_id}
        if not ids and not anonymous:
            return {}
        rows = self.session.scalars(
            select(Receipt)
            .where(or_(Receipt.message_id.in_(ids),
                       and_(Receipt.message_id.is_(None), Receipt.fingerprint.in_(anonymous))),
                   Receipt.outcome.not_in([Outcome.QUARANTINE, Outcome.DUPLICATE]))
            .order_by(Receipt.id)
        )
        found: dict[Identity, Receipt] = {}
        for receipt in rows:
            found.setdefault((receipt.message_id or "", receipt.fingerprint or ""), receipt)
        return found

    def earlier(self, mail: InboundMail, refresh: bool = False) -> Receipt | None:
        identity = _identity(mail)
        if refresh:
            self.seen.update(self._lookup({identity}))
        return self.seen.get(identity)

    def remember(self, mail: InboundMail, receipt: Receipt) -> None:
        self.seen.setdefault(_identity(mail), receipt)


def _identity(mail: InboundMail) -> Identity:
    return (mail.message_id or "", mail.fingerprint)


def _parse(raw: bytes, limits: ParseLimits) -> InboundMail | str:
    """The parsed mail, or the reason it cannot be parsed."""
    try:
        return parse_message(raw, limits)
    except ParseError as exc:
        return str(exc)  # one line that says what is wrong ("nested deeper than 20 levels", "not an e-mail: …")
    except Exception as exc:  # a parser bug must not stop the batch either
        log.exception("parsing failed")
        return f"parsing failed: {type(exc).__name__}: {first_line(exc)}"


def _ingest_one(session: Session, config: Config, queue: QueueConfig, key: _Key, mail: InboundMail | str,
                ours: Ours, ledger: _Ledger) -> Verdict:
    if isinstance(mail, str):
        return _settle(session, key, quarantine(key.uid, mail), None)
    earlier = ledger.earlier(mail)
    if earlier is not None:
        return _settle(session, key, _duplicate(session, key, earlier), mail)
    try:
        with session.begin_nested():
            verdict = _act(session, config, queue, key, mail, ours)
            receipt = key.receipt(verdict, mail)
            session.add(receipt)
    except IntegrityError:
        # Another daemon committed a copy of this mail while we processed ours (the receipt's unique identity).
        earlier = ledger.earlier(mail, refresh=True)
        if earlier is None:
            raise  # not a duplicate: a real inconsistency, so the batch rolls back like any database failure
        return _settle(session, key, _duplicate(session, key, earlier), mail)
    except ENVIRONMENT_ERRORS:
        raise  # not this message's fault: the batch rolls back and stays in the inbox for the next cycle
    except Exception as exc:  # the crash boundary: one bad message never blocks the ones behind it
        log.exception("%s UID %s: processing failed, quarantined", key.mailbox, key.uid)
        return _settle(session, key, quarantine(key.uid, f"processing failed: {type(exc).__name__}: "
                                                          f"{first_line(exc)}"), mail)
    if verdict.quarantined:
        log.warning("%s UID %s quarantined: %s", key.mailbox, key.uid, verdict.reason)
    else:
        ledger.remember(mail, receipt)
    return verdict


def _ours(config: Config, queue: QueueConfig, secret: bytes) -> Ours:
    """What classify knows of the desk and of the queue the batch came to."""
    return Ours(config.desk.message_id_domain, frozenset(q.address.lower() for q in config.queues),
                frozenset(a.lower() for a in queue.agents), queue.agents_group, secret,
                config.desk.trusted_authserv_ids)


def _act(session: Session, config: Config, queue: QueueConfig, key: _Key, mail: InboundMail,
         ours: Ours) -> Verdict:
    """classify → thread (and may the sender add to that case?) → the action the table names. A quoted live
    password is redacted first, so no action stores or forwards it."""
    mail = redact_quoted_password(session, config, mail)
    decision = classify(mail, ours)
    case = None
    if decision.case_number is not None:  # an agent's signed reference names its case
        case = session.scalars(select(Case).where(Case.number == decision.case_number)).one_or_none()
    if case is None and needs_thread(decision.route):
        case = threads.find_case(session, mail, config.desk.case_prefix)
    thread = threads.relation(config, queue, case, mail.from_addr or "")
    action = action_for(decision.route, thread)
    return action(Inbound(session, config, queue, key.uid, mail, decision, case, ours.secret))


def _duplicate(session: Session, key: _Key, earlier: Receipt) -> Verdict:
    case = session.get(Case, earlier.case_id) if earlier.case_id else None
    return Verdict(key.uid, Outcome.DUPLICATE, f"same message as {earlier.mailbox} UID {earlier.uid}", "duplicate",
                   case.id if case else None, case.number if case else None)


def _settle(session: Session, key: _Key, verdict: Verdict, mail: InboundMail | None) -> Verdict:
    """A verdict reached outside an action's savepoint (quarantine, duplicate): only its receipt is written."""
    session.add(key.receipt(verdict, mail))
    if verdict.quarantined:
        log.warning("%s UID %s quarantined: %s", key.mailbox, key.uid, verdict.reason)
    return verdict


def _from_receipt(session: Session, receipt: Receipt) -> Verdict:
    case = session.get(Case, receipt.case_id) if receipt.case_id else None
    return Verdict(receipt.uid, receipt.outcome, receipt.reason, receipt.rule, receipt.case_id,
                   case.number if case else None)
