"""Record a batch of fetched messages in the caller's transaction: one receipt per message.

What happens to a message is its action's business (desk/actions); this module only keeps the ledger: a message
already received is not processed again, a copy of one already processed is a duplicate, and a message whose
processing fails is quarantined without taking the rest of the batch with it. The common case, a batch where
nothing fails, costs one savepoint and a few lookups for the whole batch; only a batch where something failed is
taken again with a savepoint per message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, insert, or_, select, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from .. import logs
from ..config import Config, QueueConfig
from ..errors import first_line
from ..mail.classify import Ours, classify
from ..mail.parse import InboundMail, ParseLimits, parse_or_reason
from ..mail.source import Fetched
from . import threads
from .settings import desk_secret
from .storage import durable_together
from .actions import Inbound, action_for, needs_thread
from .actions.quarantine import quarantine
from .lookups import Lookups, named_ids
from .models import Case, Outcome, Receipt, utcnow
from .redaction import redact_quoted_password
from .verdict import Verdict

log = logging.getLogger(__name__)
# Failures of the machine, not of the message: a full disk, a database that is locked or gone.
ENVIRONMENT_ERRORS = (OSError, OperationalError, InterfaceError)
# What one mail can make a database refuse, by the database's own words: a statement past one of its limits. A
# forged mail once put 260,000 ids in one IN (…); taken for an outage, it blocked its mailbox for good. Nothing else
# counts, even when the database still answers: a locked, full or read-only database or a missing table would then
# set aside every mail while it lasts. PostgreSQL says it by SQLSTATE class 54 (program limit exceeded); SQLite,
# and libpq before sending a statement, only in words.
_LIMIT_SQLSTATE_CLASS = "54"
_LIMIT_WORDS = ("too many sql variables", "string or blob too big", "expression tree is too large",
                "too many terms in compound select", "parser stack overflow",
                "number of parameters must be between")  # the last: libpq, of a statement it did not send
Identity = tuple[str, str]  # (Message-ID or "", content fingerprint)


def ingest_batch(session: Session, config: Config, queue: QueueConfig, mailbox: str, uidvalidity: int,
                 batch: list[Fetched], parsed: Mapping[int, InboundMail | str] | None = None) -> list[Verdict]:
    """A verdict for every message of the batch, written in `session`; the caller commits, then moves the mail.

    A message already in the ledger (a crash after the commit and before the move) is not processed again. The
    batch is first taken whole, under one savepoint: lookups read for all its mails at once, receipts inserted
    together. If anything in it fails (a message whose action raises, a copy another daemon committed meanwhile),
    that savepoint is rolled back and the batch is taken again one message at a time, each under a savepoint of
    its own, so only the failing message is quarantined or recorded as a duplicate. `parsed` holds, by UID, what
    a worker process already made of the messages (runners/parse_ahead.py); the others are parsed here."""
    known = {
        receipt.uid: receipt
        for receipt in session.scalars(
            select(Receipt).where(Receipt.mailbox == mailbox, Receipt.uidvalidity == uidvalidity,
                                  Receipt.uid.in_([item.uid for item in batch]))
        )
    }
    limits = parse_limits(config)
    ready = parsed or {}
    fresh = [(_Key(mailbox, uidvalidity, item.uid),
              item.error or (ready[item.uid] if item.uid in ready else parse_or_reason(item.raw, limits)))
             for item in batch if item.uid not in known]
    ours = _ours(config, queue, desk_secret(session, config))
    with durable_together():  # the raw mails and attachments: on disk before the caller's commit refers to them
        try:
            with session.begin_nested():
                done = _Pass(session, config, queue, ours, fresh, solo=False).run()
        except Exception as exc:
            if is_outage(session, exc):
                raise  # not a message's fault: the batch rolls back and stays in the inbox for the next cycle
            log.info("%s: the batch of %d failed whole (%s: %s); taking it one message at a time", mailbox,
                     len(fresh), type(exc).__name__, first_line(exc))
            done = _Pass(session, config, queue, ours, fresh, solo=True).run()
    message_ids = {key.uid: mail.message_id for key, mail in fresh if isinstance(mail, InboundMail)}
    for verdict in done.values():  # logged once the pass that counts is over (a retried batch is taken twice)
        with logs.about(queue=queue.key, uid=verdict.uid, message_id=message_ids.get(verdict.uid),
                        case=verdict.case_number):
            if verdict.quarantined:
                log.warning("%s UID %s quarantined: %s", mailbox, verdict.uid, verdict.reason)
            else:
                log.info("%s (%s): %s", verdict.outcome.value, verdict.rule, verdict.reason)
    return [_from_receipt(session, known[item.uid]) if item.uid in known else done[item.uid] for item in batch]


def is_outage(session: Session, exc: BaseException) -> bool:
    """Whether `exc`, raised under a savepoint now rolled back, is the machine's failure rather than the mail's.

    An environment error is an outage unless the database refused a statement for going past one of its limits
    (`past_a_database_limit`) and still answers on the same connection right after."""
    if not isinstance(exc, ENVIRONMENT_ERRORS):
        return False
    refused = (isinstance(exc, OperationalError) and not exc.connection_invalidated and exc.orig is not None
               and past_a_database_limit(exc.orig))
    if not refused:
        return True
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return True
    return False


def past_a_database_limit(error: BaseException) -> bool:
    """A driver's error that says a statement went past one of the database's limits (see _LIMIT_WORDS). The
    driver's own error, not SQLAlchemy's: that one quotes the statement's parameters, which a mail may fill."""
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_LIMIT_SQLSTATE_CLASS)
    words = str(error).lower()
    return any(limit in words for limit in _LIMIT_WORDS)


def parse_limits(config: Config) -> ParseLimits:
    return ParseLimits(max_attachment_size=config.limits.max_attachment_size)


@dataclass(frozen=True)
class _Key:
    """Where a message sits: (mailbox, UIDVALIDITY, UID), the ledger's unique key."""

    mailbox: str
    uidvalidity: int
    uid: int

    def receipt(self, verdict: Verdict, mail: InboundMail | None) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "uidvalidity": self.uidvalidity, "uid": self.uid,
                "message_id": mail.message_id if mail else None, "fingerprint": mail.fingerprint if mail else None,
                "outcome": verdict.outcome, "case_id": verdict.case_id, "rule": verdict.rule,
                "reason": verdict.reason, "at": utcnow()}


@dataclass(frozen=True)
class _Earlier:
    """The receipt of a message processed before: what a duplicate of it says."""

    mailbox: str
    uid: int
    case_id: int | None


class _Ledger:
    """Messages processed before, by (Message-ID, fingerprint): one query per batch, not one per mail.

    A resend, or one mail sent to two desk addresses, is a duplicate; the fingerprint tells a different mail that
    reuses a Message-ID (FreeScout #5591) apart, and that one is processed as new. A mail without a Message-ID is
    known by its fingerprint alone. The receipt table's unique index on the same identity makes this race-safe:
    of two daemons that take copies of one mail at once, the second's insert fails and it records a duplicate.
    One query binds a Message-ID or a fingerprint per mail: 10,000 at most ([daemon] batch_size), under SQLite's
    32,766 bound parameters and PostgreSQL's 65,535."""

    def __init__(self, session: Session, mails: list[InboundMail]) -> None:
        self.session = session
        self.seen = self._lookup({_identity(mail) for mail in mails})

    def _lookup(self, identities: set[Identity]) -> dict[Identity, _Earlier]:
        ids = {message_id for message_id, _ in identities if message_id}
        anonymous = {fingerprint for message_id, fingerprint in identities if not message_id}
        if not ids and not anonymous:
            return {}
        rows = self.session.execute(
            select(Receipt.message_id, Receipt.fingerprint, Receipt.mailbox, Receipt.uid, Receipt.case_id)
            .where(or_(Receipt.message_id.in_(ids),
                       and_(Receipt.message_id.is_(None), Receipt.fingerprint.in_(anonymous))),
                   Receipt.outcome.not_in([Outcome.QUARANTINE, Outcome.DUPLICATE]))
            .order_by(Receipt.id)
        )
        found: dict[Identity, _Earlier] = {}
        for message_id, fingerprint, mailbox, uid, case_id in rows:
            found.setdefault((message_id or "", fingerprint or ""), _Earlier(mailbox, uid, case_id))
        return found

    def earlier(self, mail: InboundMail, refresh: bool = False) -> _Earlier | None:
        identity = _identity(mail)
        if refresh:
            self.seen.update(self._lookup({identity}))
        return self.seen.get(identity)

    def remember(self, mail: InboundMail, earlier: _Earlier) -> None:
        self.seen.setdefault(_identity(mail), earlier)


def _identity(mail: InboundMail) -> Identity:
    return (mail.message_id or "", mail.fingerprint)


class _Pass:
    """One pass over the new messages of a batch, in order; `run` gives each one's verdict by UID.

    Whole (`solo=False`): no savepoint per message, lookups read for the batch at once, receipts inserted together
    at the end; any failure ends the pass (the caller rolls it back). Solo: every message under a savepoint of its
    own with its receipt, so a message whose action raises is quarantined and a copy another daemon committed
    meanwhile is recorded as a duplicate, without taking the rest with it.

    `_one` is the work on one message: ledger, then (`_act`) redaction, classify, threading and the action."""

    def __init__(self, session: Session, config: Config, queue: QueueConfig, ours: Ours,
                 messages: list[tuple[_Key, InboundMail | str]], *, solo: bool) -> None:
        self.session, self.config, self.queue, self.ours, self.solo = session, config, queue, ours, solo
        self.messages = messages
        mails = [mail for _, mail in messages if isinstance(mail, InboundMail)]
        self.ledger = _Ledger(session, mails)
        self.lookups = Lookups(session) if solo else Lookups.for_batch(session, mails, config.desk.case_prefix)
        self.receipts: list[dict[str, Any]] = []

    def run(self) -> dict[int, Verdict]:
        verdicts = {}
        for key, mail in self.messages:  # every line logged about a mail names it
            with logs.about(queue=self.queue.key, uid=key.uid, message_id=getattr(mail, "message_id", None)):
                verdicts[key.uid] = self._one(key, mail)
        self._flush_receipts()
        return verdicts

    def _one(self, key: _Key, mail: InboundMail | str) -> Verdict:
        if isinstance(mail, str):
            return self._record(key, quarantine(key.uid, mail), None)
        earlier = self.ledger.earlier(mail)
        if earlier is not None:
            return self._record(key, _duplicate(self.session, key, earlier), mail)
        if not self.solo:
            verdict = self._record(key, self._act(key, mail), mail)
        else:
            self._flush_receipts()  # the quarantines and duplicates before it stay, whatever becomes of this one
            try:
                with self.session.begin_nested():
                    verdict = self._record(key, self._act(key, mail), mail)
                    self._flush_receipts()
            except IntegrityError:
                # Another daemon committed a copy of this mail while we processed ours (the receipt's identity).
                earlier = self.ledger.earlier(mail, refresh=True)
                if earlier is None:
                    raise  # not a duplicate: a real inconsistency, so the batch rolls back like any database failure
                return self._record(key, _duplicate(self.session, key, earlier), mail)
            except Exception as exc:  # the crash boundary: one bad message never blocks the ones behind it
                if is_outage(self.session, exc):
                    raise  # not this message's fault: the batch rolls back and stays in the inbox for the next cycle
                log.exception("%s UID %s: processing failed, quarantined", key.mailbox, key.uid)
                return self._record(key, quarantine(key.uid, f"processing failed: {type(exc).__name__}: "
                                                             f"{first_line(exc)}"), mail)
        if not verdict.quarantined:
            self.ledger.remember(mail, _Earlier(key.mailbox, key.uid, verdict.case_id))
            self.lookups.wrote(mail.message_id, verdict.case_number, verdict.case_id)
        return verdict

    def _record(self, key: _Key, verdict: Verdict, mail: InboundMail | None) -> Verdict:
        self.receipts.append(key.receipt(verdict, mail))
        return verdict

    def _flush_receipts(self) -> None:
        """Insert the receipts recorded so far, in one statement (executemany)."""
        rows, self.receipts = self.receipts, []
        if rows:
            self.session.execute(insert(Receipt), rows)

    def _act(self, key: _Key, mail: InboundMail) -> Verdict:
        """classify → thread (and may the sender add to that case?) → the action the table names. A quoted live
        password is redacted first, so no action stores or forwards it."""
        mail = redact_quoted_password(self.lookups, self.config, mail)
        ours = self.ours
        if (mail.from_addr or "").lower() in ours.desk_agents:  # which of its signed ids went outside the desk
            ours = replace(ours, exposed=self.lookups.exposed(named_ids(mail)))
        decision = classify(mail, ours)
        case = None
        if decision.case_number is not None:  # an agent's signed reference names its case
            case = self.lookups.case_numbered(decision.case_number)
        if case is None and needs_thread(decision.route):
            case = threads.find_case(self.lookups, mail, self.config.desk.case_prefix)
        thread = threads.relation(self.config, self.queue, case, mail.from_addr or "")
        action = action_for(decision.route, thread)
        return action(Inbound(self.session, self.config, self.queue, key.uid, mail, decision, case, self.ours.secret,
                              self.lookups))


def _ours(config: Config, queue: QueueConfig, secret: bytes) -> Ours:
    """What classify knows of the desk and of the queue the batch came to."""
    return Ours(config.desk.message_id_domain, frozenset(q.address.lower() for q in config.queues),
                frozenset(a.lower() for a in queue.agents), queue.agents_group, secret,
                config.desk.trusted_authserv_ids, config.desk.agents_server_binds_sender,
                frozenset(a.lower() for q in config.queues for a in q.agents))


def _duplicate(session: Session, key: _Key, earlier: _Earlier) -> Verdict:
    case = session.get(Case, earlier.case_id) if earlier.case_id else None
    return Verdict(key.uid, Outcome.DUPLICATE, f"same message as {earlier.mailbox} UID {earlier.uid}", "duplicate",
                   case.id if case else None, case.number if case else None)


def _from_receipt(session: Session, receipt: Receipt) -> Verdict:
    case = session.get(Case, receipt.case_id) if receipt.case_id else None
    return Verdict(receipt.uid, receipt.outcome, receipt.reason, receipt.rule, receipt.case_id,
                   case.number if case else None)
