"""A proved agent's mail on a case: commands at the top applied, a note kept for the agents, or the reply recorded
and sent to the customer and the case's participants, threaded into their conversation."""

from __future__ import annotations

from sqlalchemy import update

from ...mail.quotes import strip_reply
from .. import cases, escalation
from ..commands import EXAMPLES, Commands, parse_commands
from ..lookups import named_ids
from ..models import Case, Direction, Entry, EntryKind, MailKind, Outbox, Outcome, State, utcnow
from ..outbox import agent_reply_context, command_error_context, enqueue
from ..verdict import Verdict
from .base import Inbound


def act(inbound: Inbound) -> Verdict:
    config, mail, case = inbound.config, inbound.mail, inbound.case
    assert mail.from_addr is not None and case is not None
    agent = mail.from_addr.lower()
    _expose_if_copied(inbound)
    commands = parse_commands(strip_reply(mail.text), agent, inbound.queue.agents, config.desk.language)
    if commands.error is not None:
        return _refuse(inbound, case, commands)
    _apply(case, commands)
    cases.add_participants(inbound.session, case, inbound.copied())  # whom the agent Cc'd joins the case
    if commands.note or not commands.text.strip():  # a note or a command alone is no answer: the clock goes on
        cases.record_inbound(inbound.session, config.storage_path, case, mail, inbound.raw_sha256, EntryKind.NOTE,
                             commands.text)
        if commands.state is not None:
            escalation.case_changed(inbound.session, config, case, escalation.Event.STATE_CHANGED, utcnow())
        done = "a note" if commands.note else "commands only"
        return inbound.verdict(Outcome.FOLLOW_UP, f"{done} by {agent} on {case.number}; nothing sent", case)
    reply = cases.add_entry(inbound.session, case, Entry(
        direction=Direction.OUT, kind=EntryKind.AGENT_REPLY, author=agent, subject=mail.subject,
        text=commands.text, message_id=mail.message_id, raw_sha256=inbound.raw_sha256))
    if commands.state is None:
        case.state = State.IN_PROGRESS
    case.first_response_at = case.first_response_at or reply.at
    escalation.case_changed(inbound.session, config, case, escalation.Event.DESK_ANSWERED, reply.at)
    if commands.state is not None:  # e.g. #estado resuelto: the auto-close wait starts
        escalation.case_changed(inbound.session, config, case, escalation.Event.STATE_CHANGED, reply.at)
    inbound.session.flush()
    _send_to_customer(inbound, case, reply)
    return inbound.verdict(Outcome.FOLLOW_UP, f"{agent} answered {case.number}", case)


def _expose_if_copied(inbound: Inbound) -> None:
    """The agent's mail went to people outside the desk too (its To or Cc): they now hold the signed notification
    ids it answers, so those ids prove no agent from now on (the agent's next mail answers a newer notification)."""
    if not inbound.outsiders((*inbound.mail.to, *inbound.mail.cc)):
        return
    inbound.session.execute(update(Outbox).where(Outbox.message_id.in_(named_ids(inbound.mail)),
                                                 Outbox.exposed_at.is_(None))
                            .values(exposed_at=utcnow()).execution_options(synchronize_session=False))


def _apply(case: Case, commands: Commands) -> None:
    case.state = commands.state or case.state
    case.priority = commands.priority or case.priority
    case.assignee = commands.assign or case.assignee
    case.updated_at = utcnow()


def _refuse(inbound: Inbound, case: Case, commands: Commands) -> Verdict:
    """Nothing of the mail is applied or sent; the agent is told which line and why."""
    assert commands.error is not None and inbound.mail.from_addr is not None
    error = {"line_number": commands.error.line_number, "line": commands.error.line,
             "reason": commands.error.reason, "held": True}
    agent = inbound.mail.from_addr.lower()
    context = command_error_context(inbound.config, inbound.queue, case, agent, inbound.mail.from_name, error,
                                    EXAMPLES.get(inbound.config.desk.language, EXAMPLES["es"]))
    references = [*inbound.mail.references, *([inbound.mail.message_id] if inbound.mail.message_id else [])]
    enqueue(inbound.session, inbound.config, inbound.queue, MailKind.COMMAND_ERROR, agent, context, case,
            in_reply_to=inbound.mail.message_id, references=references)
    return inbound.verdict(Outcome.FOLLOW_UP, f"command not understood on line {commands.error.line_number}: "
                                              f"{commands.error.reason}; nothing applied or sent", case)


def _send_to_customer(inbound: Inbound, case: Case, reply: Entry) -> None:
    """To the contact and each participant, In-Reply-To the customer's last mail (RFC 5322 §3.6.4)."""
    last = next((e for e in reversed(case.entries)
                 if e.direction is Direction.IN and e.kind is EntryKind.CUSTOMER and e.message_id), None)
    in_reply_to = last.message_id if last else None
    context = agent_reply_context(inbound.config, inbound.queue, case, reply)
    for recipient in [case.contact.email, *(p.email for p in case.participants)]:
        enqueue(inbound.session, inbound.config, inbound.queue, MailKind.AGENT_REPLY, recipient, context, case,
                in_reply_to=in_reply_to, references=[in_reply_to] if in_reply_to else [], automatic=False)
