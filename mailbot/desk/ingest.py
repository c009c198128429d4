"""Turn a batch of fetched messages into desk state: one transaction, one savepoint and one receipt per message."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..errors import first_line
from ..mail.classify import Ours, Route, classify
from ..mail.parse import InboundMail, ParseError, parse_message
from ..mail.source import Fetched
from ..mail.subject import find_case_number, normalize_subject, strip_case_tag
from . import cases, threads
from .accounts import get_or_create_contact
from .models import Attachment, Case, Direction, Entry, EntryKind, MailKind, Outcome, Receipt
from .outbox import ack_context, credentials_context, enqueue_reply
from .storage import store_blob

log = logging.getLogger(__name__)
NO_SUBJECT = {"es": "(sin asunto)", "en": "(no subject)"}
# Failures of the machine, not of the message: a full disk, a database that is locked or gone.
ENVIRONMENT_ERRORS = (OSError, OperationalError, InterfaceError)


@dataclass(frozen=True)
class Verdict:
    """What became of one message; the source moves it accordingly after the commit."""

    uid: int
    outcome: Outcome
    case_number: str | None
    reason: str

    @property
    def quarantined(self) -> bool:
        return self.outcome is Outcome.QUARANTINE


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    reason: str
    case: Case | None = None
    mail: InboundMail | None = None
    rule: str = ""


def ingest_batch(
    session: Session, config: Config, queue: QueueConfig, mailbox: str, uidvalidity: int, batch: list[Fetched]
) -> list[Verdict]:
    """Record every message of the batch and commit once. A message already in the ledger (a crash after the
    commit and before the move) is not processed again; a message that fails is quarantined and the rest go on."""
    known = {
        receipt.uid: receipt
        for receipt in session.scalars(
            select(Receipt).where(Receipt.mailbox == mailbox, Receipt.uidvalidity == uidvalidity,
                                  Receipt.uid.in_([item.uid for item in batch]))
        )
    }
    parsed = {item.uid: item.error or _parse(item.raw) for item in batch if item.uid not in known}
    earlier = _earlier_copies(session, [mail for mail in parsed.values() if isinstance(mail, InboundMail)])
    verdicts: list[Verdict] = []
    for item in batch:
        receipt = known.get(item.uid)
        if receipt is None:
            key = {"mailbox": mailbox, "uidvalidity": uidvalidity, "uid": item.uid}
            receipt = _ingest_one(session, config, queue, key, item.raw, parsed[item.uid], earlier)
        number = session.get(Case, receipt.case_id).number if receipt.case_id else None  # type: ignore[union-attr]
        verdicts.append(Verdict(item.uid, receipt.outcome, number, receipt.reason))
    session.commit()
    return verdicts


def _parse(raw: bytes) -> InboundMail | str:
    """The parsed mail, or the reason it cannot be parsed."""
    try:
        return parse_message(raw)
    except ParseError as exc:
        return f"not an e-mail: {exc}"
    except Exception as exc:  # a parser bug must not stop the batch either
        log.exception("parsing failed")
        return f"parsing failed: {type(exc).__name__}: {first_line(exc)}"


def _identity(mail: InboundMail) -> tuple[str, str]:
    return (mail.message_id or "", mail.fingerprint)


def _earlier_copies(session: Session, mails: list[InboundMail]) -> dict[tuple[str, str], Receipt]:
    """Messages seen before, by (Message-ID, fingerprint): one query per batch, not one per mail.

    A resend, or one mail sent to two desk addresses, is a duplicate; the fingerprint tells a different mail that
    reuses a Message-ID (FreeScout #5591) apart, and that one is processed as new. A mail without a Message-ID
    is known by its fingerprint alone."""
    ids = {mail.message_id for mail in mails if mail.message_id}
    anonymous = {mail.fingerprint for mail in mails if not mail.message_id}
    if not ids and not anonymous:
        return {}
    found: dict[tuple[str, str], Receipt] = {}
    rows = session.scalars(
        select(Receipt)
        .where(
            or_(Receipt.message_id.in_(ids), and_(Receipt.message_id.is_(None), Receipt.fingerprint.in_(anonymous))),
            Receipt.outcome != Outcome.QUARANTINE,
        )
        .order_by(Receipt.id)
    )
    for receipt in rows:
        found.setdefault((receipt.message_id or "", receipt.fingerprint or ""), receipt)
    return found


def _ingest_one(
    session: Session, config: Config, queue: QueueConfig, key: dict[str, object], raw: bytes,
    mail: InboundMail | str, earlier: dict[tuple[str, str], Receipt],
) -> Receipt:
    try:
        with session.begin_nested():
            result = _process(session, config, queue, raw, mail, earlier)
            receipt = _receipt(key, result)
            session.add(receipt)
    except ENVIRONMENT_ERRORS:
        raise  # not this message's fault: the batch rolls back and stays in the inbox for the next cycle
    except Exception as exc:  # the crash boundary: one bad message never blocks the ones behind it
        log.exception("%s UID %s: processing failed, quarantined", key["mailbox"], key["uid"])
        receipt = Receipt(**key, outcome=Outcome.QUARANTINE,
                          reason=f"processing failed: {type(exc).__name__}: {first_line(exc)}")
        session.add(receipt)
        return receipt
    if receipt.outcome is Outcome.QUARANTINE:
        log.warning("%s UID %s quarantined: %s", key["mailbox"], key["uid"], receipt.reason)
    elif isinstance(mail, InboundMail):
        earlier.setdefault(_identity(mail), receipt)
    return receipt


def _receipt(key: dict[str, object], result: _Result) -> Receipt:
    mail = result.mail
    return Receipt(
        **key,
        message_id=mail.message_id if mail else None,
        fingerprint=mail.fingerprint if mail else None,
        outcome=result.outcome,
        case_id=result.case.id if result.case else None,
        rule=result.rule,
        reason=result.reason,
    )


def _process(session: Session, config: Config, queue: QueueConfig, raw: bytes, mail: InboundMail | str,
             earlier: dict[tuple[str, str], Receipt]) -> _Result:
    if isinstance(mail, str):
        return _Result(Outcome.QUARANTINE, mail)
    duplicate = earlier.get(_identity(mail))
    if duplicate is not None:
        case = session.get(Case, duplicate.case_id) if duplicate.case_id else None
        return _Result(Outcome.DUPLICATE, f"same message as {duplicate.mailbox} UID {duplicate.uid}", case, mail,
                       "duplicate")
    decision = classify(mail, Ours(config.desk.message_id_domain, frozenset(q.address for q in config.queues)))
    rule = decision.rule
    if decision.route is Route.NO_SENDER:
        return _Result(Outcome.QUARANTINE, f"{decision.reason}: nobody to answer", mail=mail, rule=rule)
    if decision.route is Route.OWN_LOOP:
        return _Result(Outcome.IGNORED, f"our own mail came back ({decision.reason}); not answered", mail=mail,
                       rule=rule)
    raw_sha = store_blob(config.storage_path, "raw", raw, ".eml")
    case = threads.find_case(session, mail, config.desk.case_prefix)
    if decision.route is Route.AUTO_REPLY:
        if case is None:
            return _Result(Outcome.IGNORED, f"automatic mail ({decision.reason}); no case opened", mail=mail,
                           rule=rule)
        _record(session, config, case, mail, raw_sha, EntryKind.AUTO_REPLY)
        return _Result(Outcome.FOLLOW_UP, f"automatic mail ({decision.reason}) recorded; not answered", case,
                       mail, rule)
    if case is not None:
        _record(session, config, case, mail, raw_sha, EntryKind.CUSTOMER)
        return _Result(Outcome.FOLLOW_UP, f"added to {case.number}", case, mail, rule)
    answer = decision.route is Route.CUSTOMER  # bulk or list mail opens a case but gets no automatic mail
    case = _open_case(session, config, queue, mail, raw_sha, answer)
    suffix = "" if answer else f"; not answered ({decision.reason})"
    return _Result(Outcome.NEW_CASE, f"opened {case.number}{suffix}", case, mail, rule)


def _open_case(session: Session, config: Config, queue: QueueConfig, mail: InboundMail, raw_sha: str,
               answer: bool) -> Case:
    assert mail.from_addr is not None
    language = config.desk.language
    contact, created = get_or_create_contact(
        session, mail.from_addr, mail.from_name, config.account_for(mail.from_addr)
    )
    subject = normalize_subject(mail.subject)
    stale = find_case_number(subject, config.desk.case_prefix)  # a number we do not know: not this case's name
    subject = (strip_case_tag(subject, stale) if stale else subject) or NO_SUBJECT[language]
    case = cases.open_case(session, config.desk.case_prefix, cases.NewCase(queue.key, subject, contact, language))
    _record(session, config, case, mail, raw_sha, EntryKind.CUSTOMER)
    if not answer:
        return case
    if created:
        enqueue_reply(session, config, queue, MailKind.CREDENTIALS, contact, mail,
                      credentials_context(config, queue, contact), case)
    enqueue_reply(session, config, queue, MailKind.ACK, contact, mail, ack_context(config, queue, case), case)
    return case


def _record(session: Session, config: Config, case: Case, mail: InboundMail, raw_sha: str, kind: EntryKind) -> None:
    assert mail.from_addr is not None
    entry = Entry(
        direction=Direction.IN,
        kind=kind,
        author=mail.from_addr,
        subject=mail.subject,
        text=mail.text,
        message_id=mail.message_id,
        raw_sha256=raw_sha,
    )
    for attachment in mail.attachments:
        digest = store_blob(config.storage_path, "attachments", attachment.data)
        entry.attachments.append(
            Attachment(filename=attachment.filename, content_type=attachment.content_type,
                       size=len(attachment.data), sha256=digest)
        )
    cases.add_entry(session, case, entry)
