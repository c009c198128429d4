"""desk/submissions: what the portal writes goes through the mail path's own actions, so both paths agree."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.desk import submissions
from mailbot.desk.models import Case, Contact, EntryKind, MailKind, Outbox, State
from tests.conftest import DESK_ADDRESS
from tests.portal.conftest import COLLEAGUE, CUSTOMER, Portal


def contact(session: Session, email: str) -> Contact:
    return session.scalars(select(Contact).where(Contact.email == email)).one()


@pytest.mark.parametrize("state", list(State))
def test_a_portal_reply_changes_a_case_as_the_same_reply_by_mail_does(portal: Portal, state: State) -> None:
    with portal.desk.session() as session:
        session.execute(update(Case).values(state=state))
        session.commit()
    portal.desk.deliver(f"From: {CUSTOMER}\nTo: {DESK_ADDRESS}\nSubject: RE: [CS0000001] Certificado vencido\n"
                        f"Message-ID: <por-correo@example.org>\n\nSigue igual.\n")
    portal.desk.run_once()

    with portal.desk.session() as session:
        case = session.scalars(select(Case).where(Case.number == "CS0000003")).one()
        verdict = submissions.reply(session, portal.config, contact(session, COLLEAGUE), case, "Sigue igual.")
        session.commit()
        by_mail, by_portal = (session.scalars(select(Case).where(Case.number == n)).one()
                              for n in ("CS0000001", "CS0000003"))
        assert by_portal.state is by_mail.state
        if state is State.CLOSED:  # the closed-case rule: a new case linked to the closed one, by mail as by portal
            linked = {c.linked_case_id: c for c in session.scalars(select(Case).where(Case.linked_case_id.is_not(None)))}
            assert set(linked) == {by_mail.id, by_portal.id}
            assert verdict.case_number == linked[by_portal.id].number
            return
        assert verdict.case_number == "CS0000003"
        assert [e.kind for e in by_portal.entries][-1] is [e.kind for e in by_mail.entries][-1] is EntryKind.CUSTOMER


def test_a_password_reset_is_queued_once_from_the_queue_the_customer_knows(portal: Portal) -> None:
    with portal.desk.session() as session:
        customer = contact(session, CUSTOMER)
        submissions.open_request(session, portal.config, customer,
                                 submissions.NewRequest("clavesegura", "Otra", "Otra solicitud."))
        first = submissions.enqueue_password_reset(session, portal.config, customer)
        second = submissions.enqueue_password_reset(session, portal.config, customer)
        session.commit()

        assert first is not None and second is None
        assert (first.kind, first.queue, first.case_id, first.references) == (MailKind.PASSWORD_RESET, "clavesegura",
                                                                              None, "")
        assert session.scalars(select(Outbox).where(Outbox.kind == MailKind.PASSWORD_RESET,
                                                    Outbox.id == first.id)).one().context["username"]
