"""`mailbot outbox list|retry`: replies waiting, sent or dead, with attempts and the server's last words; and
dead or bounced rows sent again."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Config
from ..desk import transport_state
from ..desk.models import Case, Contact, Outbox, OutboxStatus, utcnow
from ..desk.outbox import credentials_in_flight
from ..mail.sanitize import terminal_safe
from .output import (EXIT_OK, UserError, examples, iso, local_time, print_json, print_table, read_session,
                     write_session)

# What an operator may send again: the server gave up on them (dead) or reported them undelivered (bounced).
RETRYABLE = (OutboxStatus.DEAD, OutboxStatus.BOUNCED)


def register(commands: Any) -> None:
    outbox = commands.add_parser("outbox", help="replies waiting, sent or dead",
                                 **examples("mailbot outbox list --status dead", "mailbot outbox retry --dead")
                                 ).add_subparsers(
        required=True, metavar="ACTION")
    out_list = outbox.add_parser("list", help="list outbox rows, newest first; then each row's last error and the "
                                              "SMTP server's, if it took no mail",
                                 **examples("mailbot outbox list", "mailbot outbox list --status pending --json"))
    out_list.add_argument("--json", action="store_true", help="machine-readable output")
    out_list.add_argument("--status", choices=[s.value for s in OutboxStatus], help="only rows with this status")
    out_list.set_defaults(handler=cmd_outbox_list)
    retry = outbox.add_parser("retry", help="send dead or bounced rows again (pending, attempts from 0, now)",
                              **examples("mailbot outbox retry 7", "mailbot outbox retry --dead"))
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="its Id in `outbox list`")
    which.add_argument("--dead", action="store_true", help="every dead row")
    retry.set_defaults(handler=cmd_outbox_retry)


def cmd_outbox_list(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        query = select(Outbox, Case.number).outerjoin(Case, Outbox.case_id == Case.id).order_by(Outbox.id.desc())
        if args.status:
            query = query.where(Outbox.status == OutboxStatus(args.status))
        rows: list[dict[str, Any]] = [
            {
                "id": row.id,
                "kind": row.kind.value,
                "status": row.status.value,
                "case": number,
                "recipient": row.recipient,
                "queue": row.queue,
                "subject": row.subject,
                "attempts": row.attempts,
                "next_attempt_at": iso(row.next_attempt_at) if row.status is OutboxStatus.PENDING else None,
                "sent_at": iso(row.sent_at),
                "last_error": row.last_error,
                "message_id": row.message_id,
            }
            for row, number in session.execute(query)
        ]
        server = transport_state.last_error(session)
    # The rows wait uncharged while the server takes no mail at all: only this line says why.
    outage = server and terminal_safe(
        f"SMTP {server.server}, last error at {local_time(config, server.at.isoformat())}: {server.error}")
    if args.json:
        print_json(rows)
        if outage:
            print(outage, file=sys.stderr)  # the array stays what the README promises
        return EXIT_OK
    for row in rows:
        for key in ("next_attempt_at", "sent_at"):
            row[key] = row[key] and local_time(config, row[key])
    print_table(rows, [("id", "Id"), ("case", "Case"), ("kind", "Kind"), ("status", "Status"),
                       ("recipient", "To"), ("attempts", "Attempts"), ("next_attempt_at", "Next attempt"),
                       ("sent_at", "Sent")])
    # The server's last words are the point of the listing when something is wrong: printed whole, never cut.
    for row in rows:
        if row["last_error"]:
            print(terminal_safe(f"{row['id']}: {row['last_error']}"))
    if outage:
        print(outage)
    return EXIT_OK


def cmd_outbox_retry(config: Config, args: argparse.Namespace) -> int:
    with write_session(config) as session:
        if args.dead:
            rows = list(session.scalars(select(Outbox).where(Outbox.status == OutboxStatus.DEAD).order_by(Outbox.id)))
        else:
            rows = [_retryable(session, args.id)]
        for row in rows:
            print(terminal_safe(_requeue(session, row)))
            session.commit()  # one by one, as the sender may claim each as soon as it is pending
    if not rows:
        print("(nothing)")
    return EXIT_OK


def _retryable(session: Session, row_id: int) -> Outbox:
    row = session.get(Outbox, row_id)
    if row is None:
        raise UserError(f"no outbox row {row_id} (see `mailbot outbox list`)")
    if row.status not in RETRYABLE:
        raise UserError(f"outbox row {row_id} is {row.status.value}; only dead or bounced rows are retried")
    return row


def _requeue(session: Session, row: Outbox) -> str:
    """Back to pending with a fresh count of attempts; the last error stays on the row until the next attempt, and
    is said here. A mail carrying a temporary password is not sent again while another one is on its way: the
    contact would get two passwords and only the later one would work."""
    was = f"{row.id}: was {row.status.value} after {row.attempts} attempt(s)" + (
        f": {row.last_error}" if row.last_error else "")
    contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
    if row.kind.carries_password and contact is not None and credentials_in_flight(session, contact):
        return f"{was}; not requeued, another temporary password is already on its way"
    row.status, row.attempts, row.next_attempt_at = OutboxStatus.PENDING, 0, utcnow()
    row.claimed_by = row.lease_until = None
    return f"{was}; requeued"
