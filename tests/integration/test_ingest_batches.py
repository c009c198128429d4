"""A batch is written whole, with its lookups read once for all its mails; a batch where one mail fails is taken
again one mail at a time, and every other mail is written exactly once. SQLite: none of this depends on the
database (the race between daemons that needs PostgreSQL is test_scale_out's)."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from mailbot.app import App
from mailbot.desk import actions
from mailbot.desk.models import Case, Contact, Entry, Outbox, Outcome, Receipt
from mailbot.desk.verdict import Verdict
from mailbot.runners.intake import IntakeRunner
from tests.conftest import Desk
from tests.integration.test_first_path import CUSTOMER, FIRST, mail

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while the block runs (an executemany counts once)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def intake(desk: Desk) -> list[Verdict]:
    """One pass of the mailbox's intake runner alone (the outbox is left alone)."""
    app = App.open(desk.config)
    try:
        return IntakeRunner(app, app.config.queues[0]).once()
    finally:
        app.close()


def test_a_batch_with_one_poisoned_mail_writes_every_other_mail_once(desk: Desk,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def exploding(action: actions.Action) -> actions.Action:
        def act(inbound: actions.Inbound) -> Verdict:
            if "veneno" in inbound.mail.subject:
                raise RuntimeError("simulated bug in an action")
            return action(inbound)
        return act

    monkeypatch.setattr(actions, "ACTIONS", tuple((r, t, exploding(a)) for r, t, a in actions.ACTIONS))
    desk.deliver(FIRST)
    desk.deliver(mail("<poison@example.org>", "Mensaje veneno", sender="otro@example.org"))
    desk.deliver(mail("<third@example.org>", "Otra consulta", sender="tercero@example.org"))

    verdicts = intake(desk)

    assert [v.outcome for v in verdicts] == [Outcome.NEW_CASE, Outcome.QUARANTINE, Outcome.NEW_CASE]
    assert verdicts[1].reason == "processing failed: RuntimeError: simulated bug in an action"
    assert len(desk.folder("Cuarentena")) == 1 and len(desk.folder("Procesados")) == 2
    with desk.session() as session:
        assert session.scalars(select(Case.number).order_by(Case.id)).all() == ["CS0000001", "CS0000002"]
        assert session.scalar(select(func.count()).select_from(Entry)) == 2
        assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.recipient == CUSTOMER)) == 2
        assert sorted(session.scalars(select(Contact.email))) == [CUSTOMER, "tercero@example.org"]
        assert session.scalars(select(Receipt.outcome).order_by(Receipt.uid)).all() == [
            Outcome.NEW_CASE, Outcome.QUARANTINE, Outcome.NEW_CASE]


def test_a_mail_threads_onto_a_case_opened_earlier_in_the_same_batch(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.deliver(mail("<by-header@transportes.example.org>", "RE: el token", "Sigue igual.",
                      extra="In-Reply-To: <first-1@transportes.example.org>\n"))
    desk.deliver(mail("<by-number@transportes.example.org>", "RV: caso CS0000001, ¿alguna novedad?"))
    desk.deliver(FIRST.replace("first-1@", "again@"))  # the same words again under another Message-ID

    verdicts = intake(desk)

    assert [(v.outcome, v.case_number) for v in verdicts] == [
        (Outcome.NEW_CASE, "CS0000001"), (Outcome.FOLLOW_UP, "CS0000001"), (Outcome.FOLLOW_UP, "CS0000001"),
        (Outcome.NEW_CASE, "CS0000002")]


def test_a_copy_of_a_mail_in_the_same_batch_is_a_duplicate(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.deliver(FIRST)

    verdicts = intake(desk)

    assert [v.outcome for v in verdicts] == [Outcome.NEW_CASE, Outcome.DUPLICATE]
    with desk.session() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == 1


LOOKUPS = {
    "threading by Message-ID": re.compile(r"^SELECT .* FROM entry WHERE entry\.message_id IN"),
    "cases by number": re.compile(r'^SELECT .* FROM "case" WHERE "case"\.number IN'),
    "mails of ours answered": re.compile(r"^SELECT .* FROM outbox WHERE outbox\.message_id IN"),
    "the ledger": re.compile(r"^SELECT .* FROM receipt WHERE \(receipt\.message_id IN"),
    "the agents' history": re.compile(r"row_number\(\) OVER \(PARTITION BY entry\.case_id"),
    "receipts written": re.compile(r"^INSERT INTO receipt"),
}


@pytest.mark.parametrize("follow_ups", [2, 8])
def test_a_batch_reads_each_kind_of_lookup_once_whatever_its_size(desk: Desk, follow_ups: int) -> None:
    customers = [f"cliente{n}@example.org" for n in range(follow_ups)]
    for n, customer in enumerate(customers):
        desk.deliver(mail(f"<open-{n}@example.org>", f"Consulta {n}", sender=customer))
    intake(desk)
    for n, customer in enumerate(customers):  # half thread by their headers, half by the number alone
        extra = f"In-Reply-To: <open-{n}@example.org>\nReferences: <open-{n}@example.org>\n" if n % 2 else ""
        desk.deliver(mail(f"<again-{n}@example.org>", f"RE: [CS{n + 1:07d}] Consulta {n}", sender=customer,
                          extra=extra))

    with statements() as seen:
        verdicts = intake(desk)

    assert [v.outcome for v in verdicts] == [Outcome.FOLLOW_UP] * follow_ups
    assert [v.case_number for v in verdicts] == [f"CS{n + 1:07d}" for n in range(follow_ups)]
    counts = {name: sum(1 for sql in seen if pattern.search(sql)) for name, pattern in LOOKUPS.items()}
    assert counts == dict.fromkeys(LOOKUPS, 1), counts
    per_mail = [sql for sql in seen if sql.startswith("SELECT") and "entry.case_id = " in sql]
    assert per_mail == [], "a follow-up reads nothing of its case's history on its own"
    assert sum(sql.startswith("SAVEPOINT") for sql in seen) == 1, "one savepoint for the batch, none per mail"


NEW_CASE_WASTE = {  # what a case opened by the mail needs not ask: it has no participants, entries or escalations yet
    "its participants read": re.compile(r"^SELECT .* FROM participant WHERE \? = participant\.case_id"),
    "its entry's attachments read": re.compile(r"^SELECT .* FROM attachment WHERE \? = attachment\.entry_id"),
    "the case updated after its insert": re.compile(r'^UPDATE "case"'),
}


def new_case_statements(desk: Desk, customers: int, first: int = 0) -> list[str]:
    """The statements of one intake of `customers` first-time customers' mails, numbered from `first`."""
    for n in range(first, first + customers):
        desk.deliver(mail(f"<first-{n}@example.org>", f"Consulta {n}", sender=f"nuevo{n}@example.org"))
    with statements() as seen:
        verdicts = intake(desk)
    assert [v.outcome for v in verdicts] == [Outcome.NEW_CASE] * customers
    return seen


def test_a_new_case_is_written_without_reading_back_what_it_just_wrote(desk: Desk) -> None:
    seen = new_case_statements(desk, 4)
    wasted = {name: sum(1 for sql in seen if pattern.search(sql)) for name, pattern in NEW_CASE_WASTE.items()}
    assert wasted == dict.fromkeys(NEW_CASE_WASTE, 0), wasted


NEW_CASE_COST = {  # each new customer's case: its writes and two rate-limit counts. The batch reads every sender's
    # contact at once, and a contact the mail just created needs no credentials check (nothing can be in flight).
    'INSERT INTO contact': 1, 'UPDATE counter SET': 1, 'INSERT INTO "case"': 1, 'INSERT INTO entry': 1,
    'SELECT count(*) AS': 2, 'INSERT INTO outbox': 2}


def test_what_a_new_case_costs_in_statements_is_fixed(desk: Desk) -> None:
    two = new_case_statements(desk, 2)
    eight = new_case_statements(desk, 8, first=2)  # the first intake's own set-up statements are not counted
    growth = collections.Counter(" ".join(sql.split()[:3]) for sql in eight)
    growth.subtract(" ".join(sql.split()[:3]) for sql in two)
    assert {sql: n / 6 for sql, n in growth.items() if n > 0} == NEW_CASE_COST
