"""`mailbot outbox list`: replies waiting, sent or dead, with attempts and the server's last words."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from ..config import Config
from ..desk.models import Outbox, OutboxStatus
from .output import EXIT_OK, iso, print_json, print_table, read_session


def register(commands: Any) -> None:
    outbox = commands.add_parser("outbox", help="replies waiting, sent or dead").add_subparsers(
        required=True, metavar="ACTION")
    out_list = outbox.add_parser("list", help="list outbox rows, newest first")
    out_list.add_argument("--json", action="store_true", help="machine-readable output")
    out_list.add_argument("--status", choices=[s.value for s in OutboxStatus], help="only rows with this status")
    out_list.set_defaults(handler=cmd_outbox_list)


def cmd_outbox_list(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        query = select(Outbox).order_by(Outbox.id.desc())
        if args.status:
            query = query.where(Outbox.status == OutboxStatus(args.status))
        rows = [
            {
                "id": row.id,
                "kind": row.kind.value,
                "status": row.status.value,
                "recipient": row.recipient,
                "queue": row.queue,
                "subject": row.subject,
                "attempts": row.attempts,
                "next_attempt_at": iso(row.next_attempt_at) if row.status is OutboxStatus.PENDING else None,
                "sent_at": iso(row.sent_at),
                "last_error": row.last_error,
                "message_id": row.message_id,
            }
            for row in session.scalars(query)
        ]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, [("id", "Id"), ("kind", "Tipo"), ("status", "Estado"), ("recipient", "Para"),
                            ("attempts", "Intentos"), ("sent_at", "Enviado"), ("last_error", "Último error")])
    return EXIT_OK
