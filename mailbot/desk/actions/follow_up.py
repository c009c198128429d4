"""A person's mail on a case it threads onto: recorded there, the people it Cc'd put on the case when the mail shows
it is its sender's (desk/actions/copies.py), the case back in progress when it waited on the customer or was
resolved, and the agents told."""

from __future__ import annotations

from .. import cases, escalation
from ..agents import notify_agents
from ..models import EntryKind, MailKind, Outcome, State, utcnow
from ..outbox import agent_notify_context
from ..verdict import Verdict
from .base import Inbound
from .copies import sort_copied


def add(inbound: Inbound) -> Verdict:
    case = inbound.case
    assert case is not None
    copies = sort_copied(inbound, case, opening=False)
    entry = cases.record_inbound(inbound.session, inbound.config.storage_path, case, inbound.mail,
                                 inbound.raw_sha256, EntryKind.CUSTOMER, notes=copies.notes)
    if case.state is State.ON_HOLD:  # the case waited on the customer's answer, and this is it
        case.state = State.IN_PROGRESS
    cases.add_participants(inbound.session, case, copies.joining)
    escalation.case_changed(inbound.session, inbound.config, case, escalation.Event.CUSTOMER_WROTE, utcnow())
    notify_agents(inbound.session, inbound.config, inbound.queue, MailKind.AGENT_NOTIFY,
                  agent_notify_context(inbound.config, inbound.queue, case, "follow_up", entry, inbound.history(case)),
                  case, inbound.secret)
    return inbound.verdict(Outcome.FOLLOW_UP, f"added to {case.number}", case)
