"""The quarantine an admin works: what each set-aside message is, where it sits, and its receipt's end.

A quarantined message keeps its receipt (outcome `quarantine`) and sits in the mailbox's quarantine folder. The
receipt says what it is (sender, subject, date, size: one line each, from the first bytes of its header, so even
a message too big to download is described) and, when the server said so at the MOVE, its UID in that folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..mail.head import read_head
from ..mail.source import Fetched
from .models import Outcome, Receipt, utcnow
from .verdict import Verdict

__all__ = ["describe", "discarded", "placed", "released", "waiting"]


def describe(session: Session, mailbox: str, uidvalidity: int, items: Sequence[Fetched],
             verdicts: Sequence[Verdict]) -> None:
    """Write what each quarantined message of a batch is onto its receipt, in the batch's transaction."""
    quarantined = {verdict.uid for verdict in verdicts if verdict.quarantined}
    by_uid = {item.uid: item for item in items if item.uid in quarantined}
    if not by_uid:
        return
    for receipt in _receipts(session, mailbox, uidvalidity, list(by_uid)):
        item = by_uid[receipt.uid]
        head = read_head(item.head or item.raw)
        receipt.sender, receipt.subject, receipt.date = head.sender, head.subject, head.date
        # An unread or unparseable mail has no Message-ID on its receipt; the admin's tools find it by this one.
        receipt.message_id = receipt.message_id or head.message_id or None
        receipt.size = item.size if item.size is not None else len(item.raw)


def placed(session: Session, mailbox: str, uidvalidity: int, folder_uids: dict[int, int]) -> None:
    """Remember where the MOVE put each quarantined message (inbox UID → quarantine folder UID)."""
    for receipt in _receipts(session, mailbox, uidvalidity, list(folder_uids)):
        receipt.folder_uid = folder_uids[receipt.uid]


def waiting(session: Session) -> list[Receipt]:
    """Every quarantined message an admin has not deleted, newest first."""
    return list(session.scalars(
        select(Receipt).where(Receipt.outcome == Outcome.QUARANTINE, Receipt.deleted_at.is_(None))
        .order_by(Receipt.id.desc())
    ))


def released(session: Session, receipt: Receipt) -> None:
    """The message is back in the inbox under a new UID: its receipt goes, so nothing says it is set aside."""
    session.delete(receipt)


def discarded(session: Session, receipt: Receipt) -> None:
    """The message is gone from the quarantine folder; the receipt stays as the ledger's record of it."""
    receipt.deleted_at = utcnow()


def _receipts(session: Session, mailbox: str, uidvalidity: int, uids: list[int]) -> Sequence[Receipt]:
    return session.scalars(select(Receipt).where(Receipt.mailbox == mailbox, Receipt.uidvalidity == uidvalidity,
                                                 Receipt.uid.in_(uids))).all()
