"""The desk's tables as SQLAlchemy 2 typed models; enums persist by their value, so the database holds `3 - Moderada`."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from sqlalchemy import (JSON, BigInteger, DateTime, Enum, ForeignKey, Index, Integer, Interval, MetaData, String,
                        Text, UniqueConstraint, func, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..mail.addresses import delivery_mailbox


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which forgets the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Priority(enum.Enum):
    CRITICAL = "1 - Crítica"
    HIGH = "2 - Alta"
    MODERATE = "3 - Moderada"
    LOW = "4 - Baja"


class State(enum.Enum):
    NEW = "Nuevo"
    IN_PROGRESS = "En curso"
    ON_HOLD = "En espera"
    RESOLVED = "Resuelto"
    CLOSED = "Cerrado"


class Direction(enum.Enum):
    IN = "in"
    OUT = "out"


class EntryKind(enum.Enum):
    CUSTOMER = "customer"
    AGENT_REPLY = "agent_reply"
    NOTE = "note"
    SYSTEM = "system"
    AUTO_REPLY = "auto_reply"
    UNVERIFIED = "unverified"  # from an agent's address without proof: flagged, its commands ignored
    BOUNCE = "bounce"  # a note that a mail of ours bounced; the bounce itself is not stored

    @property
    def automatic(self) -> bool:
        """Mail no person wrote (ours, an out-of-office, a bounce): it does not move the case's "updated" time."""
        return self in (EntryKind.SYSTEM, EntryKind.AUTO_REPLY, EntryKind.BOUNCE)


class Outcome(enum.Enum):
    """What became of one inbound message: the exactly-once ledger's verdict."""

    NEW_CASE = "new_case"
    FOLLOW_UP = "follow_up"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    QUARANTINE = "quarantine"


class OutboxStatus(enum.Enum):
    """A row is pending until the SMTP server accepts it (sent) or it can never be sent (dead). Which daemon has a
    pending row in hand is not a status but a lease (`Outbox.claimed_by`, `Outbox.lease_until`)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    BOUNCED = "bounced"  # accepted, then a delivery status notification reported it failed
    SUPPRESSED = "suppressed"  # past [limits] auto_replies_per_hour/day for its recipient: kept, never sent


class MailKind(enum.Enum):
    """What an outbox row is; the value is the template's name (templates/README.md)."""

    ACK = "ack"
    CREDENTIALS = "credentials"
    AGENT_NOTIFY = "agent_notify"
    AGENT_REPLY = "agent_reply"
    COMMAND_ERROR = "command_error"
    UNVERIFIED_AGENT = "unverified_agent"
    BOUNCE_NOTICE = "bounce_notice"
    LINKED_CASE = "linked_case"
    STRANGER_LINKED = "stranger_linked"
    PASSWORD_RESET = "password_reset"
    ESCALATION = "escalation"
    ESCALATION_AGENTS = "escalation_agents"
    RESOLUTION_BREACH = "resolution_breach"
    REMINDER = "reminder"
    CLOSING = "closing"

    @property
    def in_history(self) -> bool:
        """Whether the sent mail becomes a `system` entry on its case. Mail to the desk's own people is not: an
        agent reply is already its `agent_reply` entry, and notices to agents are no part of the conversation."""
        return self not in (MailKind.AGENT_NOTIFY, MailKind.AGENT_REPLY, MailKind.COMMAND_ERROR,
                            MailKind.UNVERIFIED_AGENT, MailKind.BOUNCE_NOTICE, MailKind.STRANGER_LINKED,
                            MailKind.ESCALATION, MailKind.ESCALATION_AGENTS, MailKind.RESOLUTION_BREACH)

    @property
    def to_customer(self) -> bool:
        """Whether the mail goes to the case's contact (the others go to the desk's own people)."""
        return self.in_history or self is MailKind.AGENT_REPLY

    @property
    def carries_password(self) -> bool:
        """A temporary password is minted for each attempt of this mail, and its body is never kept."""
        return self in (MailKind.CREDENTIALS, MailKind.PASSWORD_RESET)


class EscalationKind(enum.Enum):
    """What the escalation pass did to a case: a step up the ladder, the resolution target breached, the one
    reminder of a case on hold, the automatic close of a resolved one."""

    LEVEL = "level"
    RESOLUTION_BREACH = "resolution_breach"
    REMINDER = "reminder"
    AUTO_CLOSE = "auto_close"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, values_callable=lambda members: [m.value for m in members], native_enum=False, length=32,
                validate_strings=True, name=cls.__name__.lower())


# 64-bit keys on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
IntPK = Annotated[int, mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)]
Address = Annotated[str, mapped_column(String(320))]
# parse.py bounds every Message-ID to MAX_MESSAGE_ID characters, so it always fits an index entry.
MessageId = Annotated[str | None, mapped_column(String(255), index=True)]
Created = Annotated[datetime, mapped_column(UtcDateTime(), default=utcnow)]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime()}


class Counter(Base):
    """Named counters bumped with UPDATE … RETURNING, so case numbers stay unique under concurrent writers."""

    __tablename__ = "counter"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class MailboxState(Base):
    """Per mailbox: the UIDVALIDITY last seen (a change means every UID is new, RFC 3501 §2.3.1.1), and the last
    UID of the batch in hand, cleared once it is committed: still set at start, it means the daemon died in it."""

    __tablename__ = "mailbox_state"
    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    in_flight_to: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[Created]


class CrashCount(Base):
    """How often processing one message alone was begun and never finished: the daemon died in it."""

    __tablename__ = "crash_count"
    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    uid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tries: Mapped[int] = mapped_column(default=0)


class Contact(Base):
    __tablename__ = "contact"
    id: Mapped[IntPK]
    email: Mapped[Address] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    account: Mapped[str] = mapped_column(Text, default="")
    # The hash of the password in the latest credentials mail handed to the SMTP server, stored before it is sent.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    credentials_sent_at: Mapped[datetime | None]  # when the SMTP server first accepted a credentials mail
    # A temporary password asked for with "Restablecer contraseña": it works beside the current one until it is
    # used (then it becomes the password) or expires, so a stranger who asks for a reset locks nobody out.
    reset_password_hash: Mapped[str | None] = mapped_column(String(200))
    reset_sent_at: Mapped[datetime | None]
    created_at: Mapped[Created]


class Case(Base):
    __tablename__ = "case"
    id: Mapped[IntPK]
    number: Mapped[str] = mapped_column(String(16), unique=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    account: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.MODERATE)
    state: Mapped[State] = mapped_column(_enum(State), default=State.NEW)
    assignee: Mapped[str | None] = mapped_column(String(320))  # the owner: an agent's address
    language: Mapped[str] = mapped_column(String(8), default="es")
    created_at: Mapped[Created]
    updated_at: Mapped[Created]
    first_response_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    # The next instant the escalation pass has something to do for the case (min of the due times below).
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    # The SLA clock (desk/sla.py): it runs from `waiting_since` while the case waits on the desk.
    first_response_due_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    escalation_due_at: Mapped[datetime | None]  # when the next level is due; None at the top or clock stopped
    resolution_due_at: Mapped[datetime | None]  # while the clock runs
    resolution_left: Mapped[timedelta | None] = mapped_column(Interval())  # while it is stopped
    resolution_breached_at: Mapped[datetime | None]
    # Waiting on the customer in "En espera" (one reminder) or "Resuelto" (automatic close).
    held_since: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    rating: Mapped[int | None]  # the satisfaction survey's answer, 1–5
    rated_at: Mapped[datetime | None]

    # The case this one was opened from: a closed case its customer wrote on, or another customer's case a
    # stranger quoted (flagged for the agents; the stranger learns nothing of it).
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))

    contact: Mapped[Contact] = relationship(lazy="joined")
    entries: Mapped[list[Entry]] = relationship(back_populates="case", order_by="Entry.id")
    escalations: Mapped[list[Escalation]] = relationship(back_populates="case", order_by="Escalation.id",
                                                         lazy="selectin")
    participants: Mapped[list[Participant]] = relationship(order_by="Participant.id", lazy="selectin")


class Participant(Base):
    """Someone besides the contact who is on a case (Cc'd by the customer or added by an agent): they get the
    agents' replies and may add to the case."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("case_id", "email"),)
    id: Mapped[IntPK]
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    email: Mapped[Address]


class Setting(Base):
    """Values the desk keeps for itself, such as the generated desk secret when none is configured."""

    __tablename__ = "setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Entry(Base):
    """One message on a case, inbound or outbound."""

    __tablename__ = "entry"
    id: Mapped[IntPK]
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind))
    author: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[MessageId]
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    # Why agents should look twice at the sender (mail/sender.FromFlag values: "name-looks-like-address", …).
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[Created]

    case: Mapped[Case] = relationship(back_populates="entries")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", lazy="selectin")


class Escalation(Base):
    """One thing the escalation pass did to a case, and who was told: the ladder's history, never rewritten."""

    __tablename__ = "escalation"
    id: Mapped[IntPK]
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[EscalationKind] = mapped_column(_enum(EscalationKind))
    level: Mapped[int]  # the level the case reached (LEVEL) or stood at
    due_at: Mapped[datetime]  # when it became due: the ladder's timing counts from here, not from the pass
    at: Mapped[Created]  # when the pass did it
    why: Mapped[str] = mapped_column(Text, default="")
    notified: Mapped[list[str]] = mapped_column(JSON, default=list)

    case: Mapped[Case] = relationship(back_populates="escalations")


class Attachment(Base):
    """Metadata of a file kept once on disk under storage/attachments by its sha256."""

    __tablename__ = "attachment"
    id: Mapped[IntPK]
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


PROCESSED_OUTCOMES = "outcome IN ('new_case', 'follow_up', 'ignored')"


class Receipt(Base):
    """The exactly-once ledger: one row per message seen in a mailbox, and what became of it."""

    __tablename__ = "receipt"
    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid"),
        Index("ix_receipt_message_id_fingerprint", "message_id", "fingerprint"),
        Index("ix_receipt_fingerprint", "fingerprint"),
        # Processed mail is unique by identity: of two daemons taking copies of one mail at once, the second's
        # insert fails and it records a duplicate (desk/ingest.py).
        Index("uq_receipt_processed_identity", func.coalesce(text("message_id"), ""), "fingerprint", unique=True,
              sqlite_where=text(PROCESSED_OUTCOMES), postgresql_where=text(PROCESSED_OUTCOMES)),
    )
    id: Mapped[IntPK]
    mailbox: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    rule: Mapped[str] = mapped_column(String(64), default="")  # the classify rule that decided, or "duplicate"
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[Created]
    # What an admin sees of a quarantined message (desk/quarantine.py): one line each, capped (mail/head.py).
    sender: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(64))  # the Date header as written
    size: Mapped[int | None] = mapped_column(BigInteger)  # RFC822.SIZE, as the server counts it
    folder_uid: Mapped[int | None] = mapped_column(BigInteger)  # its UID in the quarantine folder (COPYUID)
    deleted_at: Mapped[datetime | None]  # when an admin deleted it from the quarantine folder


def _recipients_mailbox(context: Any) -> str:
    return delivery_mailbox(context.get_current_parameters()["recipient"])


class Outbox(Base):
    """One mail to send. The template is rendered when it is sent, so a secret is minted then and never stored.

    A sender claims a pending row before it works on it: `claimed_by` names the daemon, `lease_until` says until
    when; a lease that ran out (its daemon died) may be taken over. Both are empty when nobody holds the row."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_mailbox_created_at", "mailbox", "created_at"),  # the automatic-mail rate limit
    )
    id: Mapped[IntPK]
    kind: Mapped[MailKind] = mapped_column(_enum(MailKind))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    # Indexed: whether a contact's credentials are in flight is asked for every new case (desk/outbox.py).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[Address]
    # The recipient as the mailbox it reaches (mail/addresses.delivery_mailbox), what the rate limit counts by:
    # ana+1@… and "ana"@… are one person. Set on every insert; empty only on rows older than the column.
    mailbox: Mapped[str | None] = mapped_column(String(320), default=_recipients_mailbox)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[Created]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Created]
    sent_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    # A notification whose signed Message-ID went outside the desk (an agent's reply to it copied someone, and their
    # mail client sent it to them too): since then that id proves no agent (mail/classify.agent_proof).
    exposed_at: Mapped[datetime | None]


class PortalSession(Base):
    """A customer logged in to the portal. The cookie carries a random token and only its sha256 is stored here, so
    a copy of the database logs nobody in. `password_stamp` ties the session to the password it was opened with:
    a new password (changed in the portal, or mailed by a reset) ends every session opened before it."""

    __tablename__ = "portal_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's token
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    password_stamp: Mapped[str] = mapped_column(String(64))
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[Created]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PortalThrottle(Base):
    """One counted attempt (a failed login, a password reset asked for) under a hashed key such as the address
    typed or the client's IP address: rate limits hold across portal processes and restarts."""

    __tablename__ = "portal_throttle"
    __table_args__ = (Index("ix_portal_throttle_key_at", "key", "at"),)
    id: Mapped[IntPK]
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[Created] = mapped_column(index=True)


class CaseRequest(Base):
    """The fields of the portal's new-request form that a mail has no place for, kept with the case they opened."""

    __tablename__ = "case_request"
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    product: Mapped[str] = mapped_column(Text, default="")
    report: Mapped[str] = mapped_column(Text, default="")  # the manual's "Novedad a reportar"
    contact_hours: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
