"""A bounce of a mail we sent: its outbox row marked bounced with the server's words, a note on the case, the
agents told; no case is opened and the bounce itself is not stored (it quotes what we sent)."""

from __future__ import annotations

from sqlalchemy import select

from ...mail.bounces import parse_bounce
from .. import cases
from ..agents import notify_agents
from ..models import Case, Contact, Direction, Entry, EntryKind, MailKind, Outbox, OutboxStatus, Outcome
from ..outbox import bounce_context, is_agent_address
from ..verdict import Verdict
from .base import Inbound

NOTE = {"es": "Correo no entregado a {recipient} ({what})", "en": "Mail not delivered to {recipient} ({what})"}


def match(inbound: Inbound) -> Verdict:
    report = parse_bounce(inbound.mail.raw)
    assert report is not None  # classify's "bounce" rule said so
    row = inbound.session.scalars(
        select(Outbox).where(Outbox.message_id.in_(report.original_message_ids))
    ).first() if report.original_message_ids else None
    if row is None:
        return inbound.verdict(Outcome.IGNORED, "a bounce of no mail of ours; nothing to match")
    if not report.permanent:
        return inbound.verdict(Outcome.IGNORED, f"outbox row {row.id} delayed ({report.status or 'no status'}); "
                                                "the server still tries")
    status = report.status or ""
    row.status = OutboxStatus.BOUNCED
    row.last_error = " ".join(part for part in (status, report.diagnostic) if part)
    if row.kind is MailKind.CREDENTIALS and row.contact_id is not None:
        _forget_credentials(inbound, row.contact_id)
    case = inbound.session.get(Case, row.case_id) if row.case_id is not None else None
    if case is not None:
        what = row.last_error or status
        text = NOTE.get(case.language, NOTE["es"]).format(recipient=row.recipient, what=what)
        cases.add_entry(inbound.session, case, Entry(direction=Direction.IN, kind=EntryKind.BOUNCE,
                                                     author=report.recipient or row.recipient,
                                                     subject=row.subject, text=text))
    if not is_agent_address(inbound.queue, row.recipient):  # a notice about a notice: no
        notify_agents(inbound.session, inbound.config, inbound.queue, MailKind.BOUNCE_NOTICE,
                      bounce_context(inbound.config, inbound.queue, case, row, status, report.diagnostic), case,
                      inbound.secret)
    return inbound.verdict(Outcome.FOLLOW_UP if case else Outcome.IGNORED,
                           f"bounce of outbox row {row.id} to {row.recipient}: {row.last_error}", case)


def _forget_credentials(inbound: Inbound, contact_id: int) -> None:
    """The password in a bounced credentials mail reached nobody, or someone else: it stops working, and the
    customer gets new credentials with their next answered case."""
    contact = inbound.session.get(Contact, contact_id)
    if contact is not None:
        contact.password_hash = None
        contact.credentials_sent_at = None
