"""What the customer portal writes: a reply on a case, a new request, a password reset; the same rules as mail.

A reply or a request becomes a real RFC 5322 message from the customer to the queue, read by the mail parser and
handed to the route → action table as a customer's mail, so that what a follow-up or a new case does to the desk
(a resolved case back in progress, the closed-case rule, the acknowledgement, the agents' notifications) is
written once, in desk/actions. Services flush; the caller commits, and rings nothing: the outgoing runner polls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Config, QueueConfig
from ..mail.classify import Decision, Route
from ..mail.compose import address, inert
from ..mail.message_ids import new_message_id
from ..mail.parse import InboundMail, parse_message
from .actions import Inbound, action_for
from .threads import relation
from .models import Case, CaseRequest, Contact, MailKind, Outbox, utcnow
from .outbox import credentials_in_flight, enqueue, password_reset_context
from .settings import desk_secret
from .verdict import Verdict

# Recorded on the raw message, so that an admin reading it knows it was typed in the portal, not mailed.
CHANNEL_HEADER = "X-Mailbot-Channel"
PORTAL = Decision(Route.CUSTOMER, "portal", "written by the contact in the customer portal")
# RFC 2045 §5.1 type/subtype tokens; anything else a browser sends is stored as opaque bytes.
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
FIELD_LABELS = {
    "es": {"product": "Producto", "report": "Novedad a reportar", "contact_hours": "Horario de contacto",
           "phone": "Teléfono de contacto"},
    "en": {"product": "Product", "report": "Issue to report", "contact_hours": "Contact hours",
           "phone": "Contact phone"},
}


@dataclass(frozen=True)
class Upload:
    """A file a customer attached in the portal."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class NewRequest:
    """The manual's request form: Servicio (a queue's key), Asunto, Descripción and the optional details."""

    queue: str
    subject: str
    description: str
    product: str = ""
    report: str = ""  # "Novedad a reportar"
    contact_hours: str = ""
    phone: str = ""


def reply(session: Session, config: Config, contact: Contact, case: Case, text: str,
          uploads: Sequence[Upload] = ()) -> Verdict:
    """The contact's reply on `case`, recorded as their mail on it would be. The verdict names the case it went to
    (the closed-case rule may open another)."""
    queue = _queue_of(config, case.queue)
    mail = _as_mail(config, contact, queue, f"[{case.number}] {case.subject}", text, uploads)
    return _act(session, config, queue, mail, case)


def open_request(session: Session, config: Config, contact: Contact, request: NewRequest,
                 uploads: Sequence[Upload] = ()) -> Verdict:
    """A new case from the request form, acknowledged by mail as if it had been mailed; the form's details are kept
    on it and written above the description, so agents reading the case or its mail see them too."""
    queue = config.queue(request.queue)
    mail = _as_mail(config, contact, queue, request.subject, request_text(request, config.desk.language), uploads)
    verdict = _act(session, config, queue, mail, None)
    assert verdict.case_id is not None, verdict.reason
    session.add(CaseRequest(case_id=verdict.case_id, product=request.product, report=request.report,
                            contact_hours=request.contact_hours, phone=request.phone))
    session.flush()
    return verdict


def request_text(request: NewRequest, language: str) -> str:
    """The description under one "Label: value" line per detail given.

    >>> request_text(NewRequest("q", "s", "El token no firma.", product="Token"), "es")
    'Producto: Token\\n\\nEl token no firma.'
    """
    labels = FIELD_LABELS.get(language, FIELD_LABELS["es"])
    lines = [f"{label}: {getattr(request, key)}" for key, label in labels.items() if getattr(request, key)]
    return "\n".join(lines) + "\n\n" + request.description if lines else request.description


def enqueue_password_reset(session: Session, config: Config, contact: Contact) -> Outbox | None:
    """Queue a credentials mail with a new temporary password ("Restablecer contraseña"), or nothing while one is
    already on its way. The sender mints the password and stores its hash when it sends, as for a first-time
    customer; `reset` in the context lets the template say why it came. It answers no mail, so it threads under
    none and belongs to no case (so it is in no case's history)."""
    if credentials_in_flight(session, contact):
        return None
    queue = _home_queue(session, config, contact)
    row = enqueue(session, config, queue, MailKind.PASSWORD_RESET, contact.email,
                  password_reset_context(config, queue, contact), None, in_reply_to=None, references=[],
                  automatic=False)  # asked for by the customer, and limited by the portal's own reset limits
    row.contact_id = contact.id
    session.flush()
    return row


def _act(session: Session, config: Config, queue: QueueConfig, mail: InboundMail, case: Case | None) -> Verdict:
    """The action the table names for a customer's mail, on a case or not: the mail path's own code and its rules
    (a closed case gives a new linked one, exactly as a mail reply would)."""
    action = action_for(PORTAL.route, relation(config, queue, case, mail.from_addr or ""))
    return action(Inbound(session, config, queue, 0, mail, PORTAL, case, desk_secret(session, config)))


def _as_mail(config: Config, contact: Contact, queue: QueueConfig, subject: str, text: str,
             uploads: Sequence[Upload]) -> InboundMail:
    """The message the customer would have mailed, with a Message-ID of ours, parsed as any mail is."""
    message = EmailMessage()
    message["From"] = address(contact.name, contact.email)  # names and subjects came from mail: kept inert
    message["To"] = queue.address
    message["Subject"] = inert(" ".join(subject.split()))  # one line: a header cannot carry a line break
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = new_message_id(config.desk.message_id_domain)
    message[CHANNEL_HEADER] = "portal"
    message.set_content(text)
    for upload in uploads:
        content_type = upload.content_type.lower()
        maintype, _, subtype = (content_type if _CONTENT_TYPE.fullmatch(content_type)
                                else "application/octet-stream").partition("/")
        message.add_attachment(upload.data, maintype=maintype, subtype=subtype, filename=upload.filename)
    return parse_message(message.as_bytes())


def _queue_of(config: Config, key: str) -> QueueConfig:
    """The case's queue; the first one if it has left the configuration since (its mail must still go out)."""
    try:
        return config.queue(key)
    except KeyError:
        return config.queues[0]


def _home_queue(session: Session, config: Config, contact: Contact) -> QueueConfig:
    """The queue of the contact's latest case (the address they know), else the first."""
    key = session.scalar(select(Case.queue).where(Case.contact_id == contact.id).order_by(Case.id.desc()).limit(1))
    return _queue_of(config, key) if key is not None else config.queues[0]
