"""`mailbot cases list|search|show|attachment`: the desk's cases, as a table or as stable JSON (documented in the
README), and a stored attachment written out."""

from __future__ import annotations

import argparse
import hashlib
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ..config import Config
from ..desk.models import Attachment, Case, Contact, Entry, utcnow
from ..desk.storage import blob_path
from ..mail.sanitize import terminal_safe
from .case_sla import add_filters, filtered, sla_json, sla_lines
from .output import EXIT_OK, UserError, examples, iso, local_time, print_json, print_table, read_session


def register(commands: Any) -> None:
    cases = commands.add_parser("cases", help="list, search or show cases",
                                **examples("mailbot cases list", "mailbot cases show CS0000001")
                                ).add_subparsers(required=True, metavar="ACTION")
    listing = cases.add_parser("list", help="list cases, newest first",
                               **examples("mailbot cases list --state \"En curso\" --queue mesadeayuda",
                                          "mailbot cases list --overdue --json",
                                          "mailbot cases list --since 2026-11-01"))
    listing.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    add_filters(listing)
    listing.add_argument("--contact", metavar="ADDR", help="only the cases of this contact (their mail address)")
    listing.add_argument("--since", type=day, metavar="YYYY-MM-DD",
                         help="only cases opened on or after this day (the desk's time zone)")
    listing.set_defaults(handler=cmd_cases_list)
    search = cases.add_parser(
        "search", help="cases whose subject or any entry's text contains TEXT (any case; a full scan)",
        **examples("mailbot cases search token"))
    search.add_argument("text", help="the text to look for")
    search.add_argument("--json", action="store_true", help="machine-readable output, as `cases list --json`")
    search.set_defaults(handler=cmd_cases_search)
    show = cases.add_parser("show", help="show one case with its entries",
                            **examples("mailbot cases show CS0000001", "mailbot cases show CS0000001 --json"))
    show.add_argument("number", help="case number, e.g. CS0000001")
    show.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    show.set_defaults(handler=cmd_cases_show)
    attachment = cases.add_parser(
        "attachment", help="write one of a case's attachments to a file (never over an existing one)",
        **examples("mailbot cases attachment CS0000001 factura.pdf -o /tmp/factura.pdf"))
    attachment.add_argument("number", help="case number, e.g. CS0000001")
    attachment.add_argument("name", help="the attachment's file name as `cases show` lists it, or its sha256")
    attachment.add_argument("-o", "--output", type=Path, metavar="FILE",
                            help="where to write it (default: its own name, in the current folder)")
    attachment.set_defaults(handler=cmd_cases_attachment)


def day(text: str) -> date:
    """A YYYY-MM-DD day (argparse names this function in its error: "invalid day value")."""
    return date.fromisoformat(text)


def cmd_cases_list(config: Config, args: argparse.Namespace) -> int:
    query = filtered(select(Case), args, utcnow())
    if args.contact is not None:
        query = query.where(Case.contact.has(Contact.email == args.contact.strip().lower()))
    if args.since is not None:
        query = query.where(Case.created_at >= datetime.combine(args.since, time(), config.desk.zone))
    return _print_cases(config, query, args.json)


def cmd_cases_search(config: Config, args: argparse.Namespace) -> int:
    """A LIKE over every subject and entry text, with no index: fine for a desk's thousands of cases, slow past
    that. SQLite folds only ASCII letters for case; PostgreSQL (ILIKE) folds every letter."""
    mentions = select(Entry.case_id).where(Entry.text.icontains(args.text, autoescape=True))
    return _print_cases(config, select(Case).where(or_(Case.subject.icontains(args.text, autoescape=True),
                                                       Case.id.in_(mentions))), args.json)


def _print_cases(config: Config, query: Select[Case], as_json: bool) -> int:
    now = utcnow()
    with read_session(config) as session:
        cases = session.scalars(query.order_by(Case.id.desc())).all()
        rows = [{**case_json(case), **sla_json(config, case, now)} for case in cases]
    if as_json:
        print_json(rows)
    else:
        for row in rows:
            row["updated_at"] = local_time(config, row["updated_at"])
        print_table(rows, [("number", "Number"), ("subject", "Subject"), ("queue", "Queue"),
                            ("contact", "Contact"), ("account", "Account"), ("priority", "Priority"),
                            ("state", "State"), ("escalation_level", "Level"), ("updated_at", "Updated")])
    return EXIT_OK


def cmd_cases_show(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        case = find_case(session, config, args.number)
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
    for line in sla_lines(config, data):
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


def cmd_cases_attachment(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        case = find_case(session, config, args.number)
        found = _attachment(case, args.name)
    try:
        data = blob_path(config.storage_path, "attachments", found.sha256).read_bytes()
    except FileNotFoundError:
        raise UserError(f"the stored copy of {found.filename} ({found.sha256}) is missing from "
                        f"{config.storage_path / 'attachments'}") from None
    if hashlib.sha256(data).hexdigest() != found.sha256:
        raise UserError(f"the stored copy of {found.filename} ({found.sha256}) is damaged; not written")
    target = args.output or Path(Path(found.filename).name or found.sha256)
    try:
        with target.open("xb") as out:  # "x": an existing file is never overwritten
            out.write(data)
    except FileExistsError:
        raise UserError(f"{target} exists; not overwritten (choose another -o FILE)") from None
    print(terminal_safe(f"{target}: {found.filename} ({found.content_type}, {len(data)} bytes)"))
    return EXIT_OK


def find_case(session: Session, config: Config, number: str) -> Case:
    """The case `number` names (any case), or a one-line error that hints at the format."""
    number = number.strip().upper()
    case = session.scalars(select(Case).where(Case.number == number)).one_or_none()
    if case is None:
        raise UserError(f"no case {number}{number_hint(config.desk.case_prefix, number)}")
    return case


def number_hint(prefix: str, number: str) -> str:
    """What a mistyped number should have been: `1` is CS0000001 (a prefix and seven digits, desk/cases.py)."""
    if number.isdigit() and len(number) <= 7:
        return f" (did you mean {prefix}{int(number):07d}?)"
    return "" if re.fullmatch(rf"{prefix}\d{{7}}", number) else f" (case numbers look like {prefix}0000001)"


def _attachment(case: Case, name: str) -> Attachment:
    """The attachment named `name` on the case, or whose sha256 starts with it; one file even when it came twice."""
    matches = {a.sha256: a for e in case.entries for a in e.attachments if a.filename == name}
    if not matches and re.fullmatch(r"[0-9a-fA-F]{8,64}", name):
        matches = {a.sha256: a for e in case.entries for a in e.attachments if a.sha256.startswith(name.lower())}
    if not matches:
        names = sorted({a.filename for e in case.entries for a in e.attachments})
        raise UserError(terminal_safe(f"no attachment {name} on {case.number}"
                                      + (f"; it has {', '.join(names)}" if names else "")))
    if len(matches) > 1:
        raise UserError(f"{len(matches)} different files named {name} on {case.number}; give the sha256 of one: "
                        + ", ".join(sha[:12] for sha in matches))
    return next(iter(matches.values()))


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
