"""`mailbot accounts list|show|reset-password`: the customers who can log in to the portal, and a new password."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Config
from ..desk.models import Case, Contact, MailKind, Outbox, OutboxStatus
from ..desk.submissions import enqueue_password_reset
from ..mail.sanitize import terminal_safe
from .output import EXIT_OK, UserError, examples, iso, local_time, print_json, print_table, read_session, write_session


def register(commands: Any) -> None:
    group = commands.add_parser("accounts", help="customers' portal accounts: list, show, reset-password",
                                **examples("mailbot accounts list", "mailbot accounts show marta@example.org")
                                ).add_subparsers(required=True, metavar="ACTION")
    listing = group.add_parser("list", help="every contact, newest first",
                               **examples("mailbot accounts list --json"))
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_list)
    show = group.add_parser("show", help="one contact: account, password state, cases",
                            **examples("mailbot accounts show marta@example.org"))
    show.add_argument("address", help="the contact's mail address")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=cmd_show)
    reset = group.add_parser(
        "reset-password", help="mail the contact a new temporary password (the running daemon sends it)",
        **examples("mailbot accounts reset-password marta@example.org"))
    reset.add_argument("address", help="the contact's mail address")
    reset.set_defaults(handler=cmd_reset_password)


def cmd_list(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        counts = {contact_id: count for contact_id, count in
                  session.execute(select(Case.contact_id, func.count()).group_by(Case.contact_id))}
        rows = [{**account_json(contact), "cases": counts.get(contact.id, 0)}
                for contact in session.scalars(select(Contact).order_by(Contact.id.desc()))]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            row["created_at"] = local_time(config, row["created_at"])
            row["password"] = _password_state(row)
        print_table(rows, [("email", "Email"), ("name", "Name"), ("account", "Account"), ("cases", "Cases"),
                           ("password", "Password"), ("created_at", "Created")])
    return EXIT_OK


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    with read_session(config) as session:
        contact = _contact(session, args.address)
        data = {**account_json(contact),
                "cases": list(session.scalars(select(Case.number).where(Case.contact_id == contact.id)
                                              .order_by(Case.id))),
                "password_mail": _password_mail(session, contact)}
    if args.json:
        print_json(data)
        return EXIT_OK
    mail = data["password_mail"]
    lines = [f"{'email':>14}: {data['email']}", f"{'name':>14}: {data['name']}",
             f"{'account':>14}: {data['account']}", f"{'password':>14}: {_password_state(data)}",
             f"{'created_at':>14}: {local_time(config, data['created_at'])}",
             f"{'cases':>14}: {', '.join(data['cases']) or '(none)'}"]
    if mail is not None:
        lines.append(f"{'password mail':>14}: outbox {mail['id']} {mail['status']}"
                     + (f", last error: {mail['last_error']}" if mail["last_error"] else ""))
    print(terminal_safe("\n".join(lines)))
    return EXIT_OK


def cmd_reset_password(config: Config, args: argparse.Namespace) -> int:
    """The portal's "Restablecer contraseña" from the command line: the password is minted when the mail is sent,
    so it is never printed, logged or stored in clear."""
    with write_session(config) as session:
        contact = _contact(session, args.address)
        row = enqueue_password_reset(session, config, contact)
        if row is None:
            waiting = _password_mail(session, contact)
            assert waiting is not None  # enqueue_password_reset said one is in flight
            print(f"{contact.email}: a temporary password is already on its way (outbox {waiting['id']}); "
                  "no second one queued")
            return EXIT_OK
        session.commit()
        print(f"{contact.email}: a new temporary password is queued (outbox {row.id}); "
              "the running daemon mails it (see `mailbot outbox list`)")
    return EXIT_OK


def account_json(contact: Contact) -> dict[str, Any]:
    """A contact as the accounts commands show it; never the password hash."""
    return {"email": contact.email, "name": contact.name, "account": contact.account,
            "has_password": contact.password_hash is not None,
            "must_change_password": contact.must_change_password,
            "credentials_sent_at": iso(contact.credentials_sent_at), "created_at": iso(contact.created_at)}


def _password_state(data: dict[str, Any]) -> str:
    if not data["has_password"]:
        return "none yet"
    return "temporary" if data["must_change_password"] else "set by the contact"


def _password_mail(session: Session, contact: Contact) -> dict[str, Any] | None:
    """The newest mail that carried (or will carry) a temporary password to the contact."""
    row = session.scalars(select(Outbox).where(
        Outbox.contact_id == contact.id, Outbox.kind.in_([k for k in MailKind if k.carries_password]))
        .order_by(Outbox.id.desc()).limit(1)).one_or_none()
    if row is None:
        return None
    return {"id": row.id, "kind": row.kind.value, "status": row.status.value, "created_at": iso(row.created_at),
            "sent_at": iso(row.sent_at), "last_error": row.last_error or None,
            "in_flight": row.status is OutboxStatus.PENDING}


def _contact(session: Session, address: str) -> Contact:
    contact = session.scalars(select(Contact).where(Contact.email == address.strip().lower())).one_or_none()
    if contact is None:
        raise UserError(f"no contact {address} (see `mailbot accounts list`)")
    return contact
