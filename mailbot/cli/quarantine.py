"""`mailbot quarantine list|show|retry|delete`: the mail set aside, and what an admin does about it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..desk import quarantine
from ..desk.models import Outcome, Receipt
from ..mail.imap_source import ImapSource
from ..mail.quarantine_folder import QuarantineFolder
from ..mail.sanitize import terminal_safe
from ..mail.source import SourceUnavailable
from ..runners.intake import mailbox_key
from .output import EXIT_OK, UserError, examples, iso, local_time, print_json, print_table, read_session, write_session


def register(commands: Any) -> None:
    group = commands.add_parser("quarantine", help="mail set aside: list, show, retry, delete",
                                **examples("mailbot quarantine list", "mailbot quarantine show 12",
                                           "mailbot quarantine retry --all --reason timeout")).add_subparsers(
        required=True, metavar="ACTION")
    listing = group.add_parser("list", help="quarantined mail not deleted, newest first",
                               **examples("mailbot quarantine list --json"))
    listing.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    listing.set_defaults(handler=cmd_list)
    show = group.add_parser("show", help="one quarantined mail: reason, size and header, read from the folder",
                            **examples("mailbot quarantine show 12"))
    show.add_argument("id", type=int, help="its Id in `quarantine list`")
    show.set_defaults(handler=cmd_show)
    retry = group.add_parser("retry", help="move back to the inbox and forget the verdict, so it is processed again",
                             **examples("mailbot quarantine retry 12",
                                        "mailbot quarantine retry --all --reason timeout"))
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="its Id in `quarantine list`")
    which.add_argument("--all", action="store_true", help="every quarantined mail (see --reason)")
    retry.add_argument("--reason", help="with --all: only those whose reason contains this text (any case)")
    retry.set_defaults(handler=cmd_retry)
    delete = group.add_parser("delete", help="delete from the quarantine folder; the receipt stays, marked",
                              **examples("mailbot quarantine delete 12"))
    delete.add_argument("id", type=int, help="its Id in `quarantine list`")
    delete.set_defaults(handler=cmd_delete)


def cmd_list(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        rows = [_row(receipt) for receipt in quarantine.waiting(session)]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            row["at"] = local_time(config, row["at"])
        print_table(rows, [("id", "Id"), ("mailbox", "Mailbox"), ("folder_uid", "UID"), ("at", "Received"),
                           ("sender", "From"), ("subject", "Subject"), ("reason", "Reason"), ("rule", "Rule")])
    return EXIT_OK


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        receipt = _receipt(session, args.id)
        row = _row(receipt)
        queue = _queue(config, receipt)
        with _folder(queue) as folder:
            uid = _locate(folder, receipt)
            size, header = folder.header(uid)
    lines = [f"Id: {row['id']}", f"Mailbox: {row['mailbox']}  (folder {queue.imap.quarantine}, UID {uid})",
             f"Received: {local_time(config, row['at'])}", f"Reason: {row['reason']}",
             f"Rule: {row['rule'] or '-'}", f"Size: {size:,} bytes", "",
             header.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n")]
    print(terminal_safe("\n".join(lines)))
    return EXIT_OK


def cmd_retry(config: Config, args: argparse.Namespace) -> int:
    with write_session(config) as session:
        if args.all:
            receipts = [r for r in quarantine.waiting(session)
                        if not args.reason or args.reason.casefold() in r.reason.casefold()]
        else:
            if args.reason:
                raise UserError("--reason goes with --all")
            receipts = [_receipt(session, args.id)]
        for mailbox, group in _by_mailbox(receipts).items():
            with _folder(_queue(config, group[0])) as folder:
                for receipt in group:
                    folder.release(_locate(folder, receipt))
                    quarantine.released(session, receipt)
                    session.commit()  # one by one: a failure later leaves what was moved consistent
                    print(f"{receipt.id}: back in {mailbox}")
    if not receipts:
        print("(nothing)")
    return EXIT_OK


def cmd_delete(config: Config, args: argparse.Namespace) -> int:
    with write_session(config) as session:
        receipt = _receipt(session, args.id)
        with _folder(_queue(config, receipt)) as folder:
            uid = folder.locate(receipt.folder_uid, receipt.message_id)
            if uid is not None:
                folder.discard(uid)
        quarantine.discarded(session, receipt)
        session.commit()
    print(f"{args.id}: deleted" if uid is not None else f"{args.id}: no longer in the folder; marked deleted")
    return EXIT_OK


def _row(receipt: Receipt) -> dict[str, Any]:
    return {"id": receipt.id, "mailbox": receipt.mailbox, "uid": receipt.uid, "folder_uid": receipt.folder_uid,
            "at": iso(receipt.at), "date": receipt.date, "sender": receipt.sender, "subject": receipt.subject,
            "size": receipt.size, "reason": receipt.reason, "rule": receipt.rule}


def _receipt(session: Session, receipt_id: int) -> Receipt:
    receipt = session.scalars(select(Receipt).where(Receipt.id == receipt_id, Receipt.outcome == Outcome.QUARANTINE,
                                                    Receipt.deleted_at.is_(None))).one_or_none()
    if receipt is None:
        raise UserError(f"no quarantined mail {receipt_id} (see `mailbot quarantine list`)")
    return receipt


def _queue(config: Config, receipt: Receipt) -> QueueConfig:
    for queue in config.queues:
        if mailbox_key(queue) == receipt.mailbox:
            return queue
    raise UserError(f"mailbox {receipt.mailbox} of quarantined mail {receipt.id} is no longer configured")


def _locate(folder: QuarantineFolder, receipt: Receipt) -> int:
    uid = folder.locate(receipt.folder_uid, receipt.message_id)
    if uid is None:
        raise UserError(f"quarantined mail {receipt.id} is not in folder {folder.name} any more "
                        f"(moved or deleted by hand?); `mailbot quarantine delete {receipt.id}` forgets it")
    return uid


def _by_mailbox(receipts: list[Receipt]) -> dict[str, list[Receipt]]:
    groups: dict[str, list[Receipt]] = {}
    for receipt in sorted(receipts, key=lambda r: r.id):
        groups.setdefault(receipt.mailbox, []).append(receipt)
    return groups


@contextmanager
def _folder(queue: QueueConfig) -> Iterator[QuarantineFolder]:
    try:
        with ImapSource(queue.imap, mailbox_key(queue)) as source:
            yield QuarantineFolder(source)
    except SourceUnavailable as exc:
        raise UserError(str(exc)) from None
