"""What processing a mail reads by key, read for a whole batch at once: one query per kind of key, not one per mail.

Threading asks which entries carry the Message-IDs a mail answers and which case a number names; redaction asks
which contact a password mail it answers went to, and a follow-up that Cc's someone whether it answers a mail we
sent its sender on the case (desk/actions/copies.py): one read of the outbox rows it names answers both; a new case
asks for its sender's contact; the agents' notification shows the case's newest entries.
`for_batch` reads all of that for every mail of a batch in one query each (the cases found, with their contacts
and participants, in one more), so a batch of a hundred mails costs a handful of indexed lookups instead of several
hundred, and a follow-up asks the database nothing (its writes are flushed together with the next mails'). A key
the batch did not read, or one that a mail earlier in the batch wrote to (`wrote`), is read from the database when
asked, as without a batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..mail.parse import InboundMail
from ..mail.subject import find_case_number
from .models import Case, Contact, Entry, EntryKind, MailKind, Outbox
from .outbox import HISTORY

CHUNK = 500  # keys per IN (…): far below any driver's limit on bound parameters
Key = TypeVar("Key", str, int)
HISTORY_READ = HISTORY + 1  # the agents see HISTORY entries, besides the one they are told about


class EntryRow(NamedTuple):
    """An entry as threading needs it."""

    id: int
    message_id: str
    case_id: int
    author: str


class OurMail(NamedTuple):
    """A mail the desk queued, as a mail answering it needs it: what it was, to whom, about which case."""

    kind: MailKind
    contact_id: int | None
    case_id: int | None
    recipient: str


def named_ids(mail: InboundMail) -> list[str]:
    """The Message-IDs a mail answers: In-Reply-To first, then References from the newest back (RFC 5322 §3.6.4)."""
    return list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))


class Lookups:
    """Reads by key for the mails of one batch; built empty (`Lookups(session)`), every read goes to the database."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._entries: dict[str, list[EntryRow]] = {}  # Message-ID → its entries, oldest first ([] when none)
        self._numbers: dict[str, int | None] = {}  # case number → case id, or None when no case has it
        self._ours: dict[str, OurMail | None] = {}  # Message-ID → the outbox row that carries it, or None
        self._history: dict[int, list[Entry]] = {}  # case id → its newest entries but system ones, oldest first
        self._contacts: dict[str, Contact | None] = {}  # a sender's address → its contact, or None when none
        # The rows read for the batch, held here: the session's identity map alone keeps them only weakly.
        self._held: list[Case | Contact] = []

    @classmethod
    def for_batch(cls, session: Session, mails: Iterable[InboundMail], case_prefix: str) -> Lookups:
        lookups = cls(session)
        mails = list(mails)
        ids = list(dict.fromkeys(i for mail in mails for i in named_ids(mail)))
        numbers = list(dict.fromkeys(n for mail in mails if (n := find_case_number(mail.subject, case_prefix))))
        lookups._read_entries(ids)
        lookups._read_numbers(numbers)
        lookups._read_ours(ids)
        case_ids = {row.case_id for rows in lookups._entries.values() for row in rows}
        case_ids |= {case_id for case_id in lookups._numbers.values() if case_id is not None}
        for chunk in _chunks(sorted(case_ids)):  # into the session: session.get(Case, id) asks nothing more
            lookups._held.extend(session.scalars(select(Case).where(Case.id.in_(chunk))))
        lookups._read_history(sorted(case_ids))
        for chunk in _chunks(sorted({c for m in lookups._ours.values() if (c := _password_contact(m)) is not None})):
            lookups._held.extend(session.scalars(select(Contact).where(Contact.id.in_(chunk))))
        senders = sorted({mail.from_addr.lower() for mail in mails if mail.from_addr})
        for emails in _chunks(senders):
            lookups._contacts.update((email, None) for email in emails)
            for contact in session.scalars(select(Contact).where(Contact.email.in_(emails))):
                lookups._contacts[contact.email] = contact
        return lookups

    def entries_named(self, message_ids: Sequence[str]) -> list[EntryRow]:
        """Every entry carrying one of `message_ids`, oldest first."""
        self._read_entries([i for i in message_ids if i not in self._entries])
        return sorted((row for i in message_ids for row in self._entries[i]), key=lambda row: row.id)

    def case(self, case_id: int) -> Case | None:
        return self.session.get(Case, case_id)

    def case_numbered(self, number: str) -> Case | None:
        if number not in self._numbers:
            self._read_numbers([number])
        case_id = self._numbers[number]
        return self.case(case_id) if case_id is not None else None

    def password_contact(self, message_ids: Sequence[str]) -> Contact | None:
        """The contact a password mail (credentials, reset) named by one of `message_ids` went to."""
        contact_id = next((c for m in self._our_mails(message_ids) if (c := _password_contact(m)) is not None), None)
        return self.session.get(Contact, contact_id) if contact_id is not None else None

    def sender(self, email: str) -> tuple[bool, Contact | None]:
        """(searched, the contact) for a sender's address: whether the batch read it, and what it found then (a
        contact created by a mail of the batch since is not here: get_or_create_contact's insert finds it)."""
        key = email.lower()
        return (key in self._contacts, self._contacts.get(key))

    def mailed(self, message_ids: Sequence[str], recipient: str, case_id: int) -> bool:
        """Whether one of `message_ids` is a mail the desk queued to `recipient` about case `case_id`."""
        recipient = recipient.strip().lower()
        return any(m is not None and (m.recipient, m.case_id) == (recipient, case_id)
                   for m in self._our_mails(message_ids))

    def _our_mails(self, message_ids: Sequence[str]) -> list[OurMail | None]:
        self._read_ours([i for i in message_ids if i not in self._ours])
        return [self._ours[i] for i in message_ids]

    def exposed(self, message_ids: Sequence[str]) -> frozenset[str]:
        """Which of `message_ids` are notifications whose signed id went outside the desk (asked for an agent's
        mail only, and always of the database: a mail earlier in the batch may have exposed one)."""
        if not message_ids:
            return frozenset()
        return frozenset(self.session.scalars(select(Outbox.message_id).where(
            Outbox.message_id.in_(list(message_ids)[:CHUNK]), Outbox.exposed_at.is_not(None))))

    def history(self, case: Case) -> list[Entry]:
        """The case's newest entries but the desk's own automatic mails (HISTORY_READ of them), oldest first.
        Only what `for_batch` read is kept: a case read here is read again next time, by its index."""
        held = self._history.get(case.id)
        if held is not None:
            return held
        newest = self.session.scalars(select(Entry).where(Entry.case_id == case.id, Entry.kind != EntryKind.SYSTEM)
                                      .order_by(Entry.id.desc()).limit(HISTORY_READ)).all()
        return list(reversed(newest))

    def wrote(self, message_id: str | None, case_number: str | None, case_id: int | None) -> None:
        """A mail of the batch was recorded: what was read for its Message-ID, its case's number or its case's
        history is stale."""
        if message_id is not None:
            self._entries.pop(message_id, None)
        if case_number is not None:
            self._numbers.pop(case_number, None)
        if case_id is not None:
            self._history.pop(case_id, None)

    def _read_entries(self, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            self._entries.update((i, []) for i in chunk)
            for row in self.session.execute(select(Entry.id, Entry.message_id, Entry.case_id, Entry.author)
                                            .where(Entry.message_id.in_(chunk))):
                self._entries[row.message_id].append(EntryRow(row.id, row.message_id, row.case_id, row.author))
        for rows in self._entries.values():
            rows.sort(key=lambda row: row.id)

    def _read_numbers(self, numbers: list[str]) -> None:
        for chunk in _chunks(numbers):
            self._numbers.update((n, None) for n in chunk)
            self._numbers.update((number, case_id) for number, case_id in
                                 self.session.execute(select(Case.number, Case.id).where(Case.number.in_(chunk))))

    def _read_history(self, case_ids: list[int]) -> None:
        """The newest entries of each case, all cases in one query (a window over the case's index)."""
        for chunk in _chunks(case_ids):
            self._history.update((case_id, []) for case_id in chunk)
            rank = func.row_number().over(partition_by=Entry.case_id, order_by=Entry.id.desc()).label("rank")
            newest = (select(Entry.id, rank).where(Entry.case_id.in_(chunk), Entry.kind != EntryKind.SYSTEM)
                      .subquery())
            for entry in self.session.scalars(select(Entry).join(newest, Entry.id == newest.c.id)
                                              .where(newest.c.rank <= HISTORY_READ).order_by(Entry.id)):
                self._history[entry.case_id].append(entry)

    def _read_ours(self, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            self._ours.update((i, None) for i in chunk)
            rows = self.session.execute(select(Outbox.message_id, Outbox.kind, Outbox.contact_id, Outbox.case_id,
                                               Outbox.recipient).where(Outbox.message_id.in_(chunk)))
            self._ours.update((row.message_id, OurMail(row.kind, row.contact_id, row.case_id, row.recipient))
                              for row in rows)


def _password_contact(mail: OurMail | None) -> int | None:
    """The contact a password mail (credentials, reset) went to; None for any other mail."""
    return mail.contact_id if mail is not None and mail.kind.carries_password else None


def _chunks(keys: list[Key]) -> Iterator[list[Key]]:
    return (keys[start:start + CHUNK] for start in range(0, len(keys), CHUNK))
