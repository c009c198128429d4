"""`mailbot cases list|show`: the desk's cases, as a table or as stable JSON (documented in the README)."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from ..config import Config
from ..desk.models import Case, utcnow
from ..mail.sanitize import terminal_safe
from .case_sla import add_filters, filtered, sla_json, sla_lines
from .output import EXIT_OK, UserError, iso, local_time, print_json, print_table, read_session


def register(commands: Any) -> None:
    cases = commands.add_parser("cases", help="list or show cases").add_subparsers(required=True, metavar="ACTION")
    listing = cases.add_parser("list", help="list cases, newest first")
    listing.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    add_filters(listing)
    listing.set_defaults(handler=cmd_cases_list)
    show = cases.add_parser("show", help="show one case with its entries")
    show.add_argument("number", help="case number, e.g. CS0000001")
    show.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    show.set_defaults(handler=cmd_cases_show)


def cmd_cases_list(config: Config, args: argparse.Namespace) -> int:
    now = utcnow()
    with read_session(config) as session:
        cases = session.scalars(filtered(select(Case), args, now).order_by(Case.id.desc())).all()
        rows = [{**case_json(case), **sla_json(config, case, now)} for case in cases]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            row["updated_at"] = local_time(config, row["updated_at"])
        print_table(rows, [("number", "Número"), ("subject", "Breve descripción"), ("queue", "Cola"),
                            ("contact", "Contacto"), ("account", "Cuenta"), ("priority", "Prioridad"),
                            ("state", "Estado"), ("escalation_level", "Nivel"), ("updated_at", "Actualizado")])
    return EXIT_OK


def cmd_cases_show(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        case = session.scalars(select(Case).where(Case.number == args.number.upper())).one_or_none()
        if case is None:
            raise UserError(f"no case {args.number}")
        data = {**case_json(case), **sla_json(config, case, utcnow())}
        data["entries"] = [
            {
                "direction": e.direction.value,
                "kind": e.kind.value,
                "author": e.author,
                "subject": e.subject,
                "text": e.text,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
                    for a in e.attachments
                ],
                "message_id": e.message_id,
                "flags": list(e.flags or []),
                "at": iso(e.at),
            }
            for e in case.entries
        ]
    if args.json:
        print_json(data)
        return EXIT_OK
    for key in ("number", "subject", "queue", "state", "priority", "contact", "account", "created_at", "updated_at"):
        value = local_time(config, data[key]) if key.endswith("_at") else data[key]
        print(f"{key:>14}: {terminal_safe(str(value))}")
    for line in sla_lines(data):
        print(terminal_safe(line))
    for entry in data["entries"]:
        arrow = "←" if entry["direction"] == "in" else "→"
        print(terminal_safe(f"\n{arrow} {local_time(config, entry['at'])} {entry['kind']} {entry['author']}\n"
                            f"  {entry['subject']}"))
        for attachment in entry["attachments"]:
            print(terminal_safe(f"  📎 {attachment['filename']} ({attachment['content_type']}, "
                                f"{attachment['size']} bytes)"))
        print(terminal_safe("  " + entry["text"].strip().replace("\n", "\n  ")))
    return EXIT_OK


def case_json(case: Case) -> dict[str, Any]:
    """The stable JSON shape of a case (documented in the README)."""
    return {
        "number": case.number,
        "subject": case.subject,
        "queue": case.queue,
        "state": case.state.value,
        "priority": case.priority.value,
        "contact": case.contact.email,
        "account": case.account,
        "owner": case.assignee,
        "participants": [p.email for p in case.participants],
        "first_response_at": iso(case.first_response_at),
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
    }
