"""The escalation pass with a moved clock, on real SQLite and PostgreSQL and a real SMTP sink (issue 13)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot import cli, store
from mailbot.desk import cases
from mailbot.desk.escalation import RETRY_FAILED, Event, PassReport, case_changed, escalate_due
from mailbot.desk.models import (Case, Direction, Entry, EntryKind, Escalation, EscalationKind, MailKind, Outbox,
                                 OutboxStatus, Priority, State, utcnow)
from mailbot.desk import survey
from mailbot.desk.survey import record_reply
from mailbot.servers.smtp_capture import SmtpCapture
from mailbot.template_samples import sample
from tests.databases import sqlite_only
from tests.escalation_desk import (AGENTS, COORDINATOR, CUSTOMER, DIRECTOR, SUPERVISOR, EscalationDesk, bogota,
                                   escalation_desk)


@pytest.fixture
def desk(tmp_path: Path, db_url: str, sink: SmtpCapture) -> Iterator[EscalationDesk]:
    with escalation_desk(tmp_path, db_url, sink) as made:
        yield made


def test_a_case_ignored_for_a_week_climbs_one_level_per_pass_at_the_business_instants_it_fell_due(
        desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    week_later = bogota(30, 9)
    reports = [desk.pass_at(week_later) for _ in range(4)]
    # 2h of open time → Monday 11:00; 4h more → 15:00; one business day more → Tuesday 15:00; then the top.
    assert desk.history(case_id) == [(1, bogota(23, 11)), (2, bogota(23, 15)), (3, bogota(24, 15))]
    assert [r.levels for r in reports] == [1, 1, 1, 0]
    case = desk.case(case_id)
    assert case.escalation_level == 3 and case.escalation_due_at is None and case.next_escalation_at is None
    sent = desk.send()
    # One mail per level to its contacts and one to the agents; the first pass also found the resolution target
    # (Thursday 09:00) missed, which the first level's contacts and the agents hear of once, in a mail of its own.
    assert sorted(sent) == sorted([
        (SUPERVISOR, "[CS0000001] Objetivo de solución incumplido: No puedo firmar"),
        (AGENTS, "[CS0000001] Objetivo de solución incumplido: No puedo firmar"),
        (SUPERVISOR, "[CS0000001] Escalamiento nivel 1: No puedo firmar"),
        (AGENTS, "[CS0000001] Escalado a Supervisor de soporte: No puedo firmar"),
        (COORDINATOR, "[CS0000001] Escalamiento nivel 2: No puedo firmar"),
        (AGENTS, "[CS0000001] Escalado a Coordinador de soporte: No puedo firmar"),
        (DIRECTOR, "[CS0000001] Escalamiento nivel 3: No puedo firmar"),
        (AGENTS, "[CS0000001] Escalado a Director de infraestructura y soporte: No puedo firmar"),
    ])
    assert desk.history(case_id, EscalationKind.RESOLUTION_BREACH) == [(1, bogota(26, 9))]


@sqlite_only
def test_each_level_falls_due_exactly_at_its_business_instant_not_before(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    for before, at, level in ((bogota(23, 10, 59), bogota(23, 11), 1), (bogota(23, 14, 59), bogota(23, 15), 2),
                              (bogota(24, 14, 59), bogota(24, 15), 3)):
        assert desk.pass_at(before).levels == 0
        assert desk.pass_at(at).levels == 1
        assert desk.case(case_id).escalation_level == level


@sqlite_only
def test_a_case_opened_friday_evening_climbs_on_saturday_morning(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(27, 18, 30))
    assert desk.case(case_id).escalation_due_at == bogota(28, 9, 30)  # 30 min on Friday, 1 h 30 on Saturday


def test_an_agent_answer_stops_the_climb_and_resets_it_and_the_next_customer_mail_starts_the_wait_again(
        desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.pass_at(bogota(23, 11))
    desk.pass_at(bogota(23, 15))
    desk.agent_answers(case_id, bogota(23, 16))
    case = desk.case(case_id)
    assert (case.escalation_level, case.waiting_since, case.next_escalation_at) == (0, None, None)
    assert case.first_response_at == bogota(23, 16)
    assert desk.pass_at(bogota(30, 9)).levels == 0
    desk.customer_writes(case_id, bogota(24, 8))
    assert desk.case(case_id).escalation_due_at == bogota(24, 10)
    desk.customer_writes(case_id, bogota(24, 9))  # a second mail does not restart the wait
    assert desk.case(case_id).escalation_due_at == bogota(24, 10)


@sqlite_only
def test_an_internal_note_is_no_answer(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    with desk.sessions.begin() as session:
        case = session.get_one(Case, case_id)
        cases.add_entry(session, case, Entry(direction=Direction.IN, kind=EntryKind.NOTE, author=AGENTS,
                                             text="Revisar mañana"), bogota(23, 10))
        case.state = State.IN_PROGRESS
        case_changed(session, desk.config, case, Event.STATE_CHANGED, bogota(23, 10))
    assert desk.pass_at(bogota(23, 11)).levels == 1


@sqlite_only
def test_priority_1_climbs_at_night_and_on_sunday(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(28, 23), Priority.CRITICAL)  # Saturday 23:00, the office long closed
    for at, level in ((bogota(29, 1), 1), (bogota(29, 5), 2), (bogota(30, 5), 3)):
        assert desk.pass_at(at - timedelta(seconds=1)).levels == 0
        assert desk.pass_at(at).levels == 1
        assert desk.case(case_id).escalation_level == level


@sqlite_only
def test_the_resolution_breach_is_recorded_once_and_the_first_level_told(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))  # answered in time: no level, but the case is not resolved
    desk.customer_writes(case_id, bogota(23, 12))
    desk.agent_answers(case_id, bogota(23, 13))
    desk.customer_writes(case_id, bogota(24, 7))
    for _ in range(3):
        desk.pass_at(bogota(30, 9))
    # Thursday 09:00 (3 business days), plus the 8 business hours the case waited on the customer.
    assert desk.history(case_id, EscalationKind.RESOLUTION_BREACH) == [(1, bogota(26, 17))]
    sent = desk.send()
    assert sorted((r, s) for r, s in sent if r == SUPERVISOR) == [
        (SUPERVISOR, "[CS0000001] Escalamiento nivel 1: No puedo firmar"),
        (SUPERVISOR, "[CS0000001] Objetivo de solución incumplido: No puedo firmar")]


def test_two_concurrent_passes_escalate_nothing_twice(desk: EscalationDesk) -> None:
    ids = [desk.open_case(bogota(23, 9)) for _ in range(20)]
    other_engine = store.make_engine(desk.config.database_url)
    others = store.session_factory(other_engine)
    barrier = threading.Barrier(2)
    reports: list[PassReport] = []

    def run(sessions: sessionmaker[Session]) -> None:
        barrier.wait()
        reports.append(escalate_due(sessions, desk.config, bogota(23, 11), batch=3))

    threads = [threading.Thread(target=run, args=(s,)) for s in (desk.sessions, others)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_engine.dispose()
    assert sum(r.levels for r in reports) == 20
    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Escalation)) == 20
        assert set(session.scalars(select(Case.escalation_level).where(Case.id.in_(ids)))) == {1}
        assert session.scalar(select(func.count()).select_from(Outbox)) == 40  # supervisor and agents, once each


def test_a_pass_takes_at_most_cases_per_pass_the_longest_due_first_and_the_next_passes_take_the_rest(
        desk: EscalationDesk) -> None:
    bounded = replace(desk.config, escalation=replace(desk.config.escalation, cases_per_pass=4))
    ids = [desk.open_case(bogota(23, 9, minute)) for minute in range(10, 0, -1)]  # the last opened is due first
    reports = [escalate_due(desk.sessions, bounded, bogota(23, 13)) for _ in range(4)]
    assert [(r.levels, r.more) for r in reports] == [(4, True), (4, True), (2, False), (0, False)]
    with desk.sessions() as session:
        order = session.scalars(select(Escalation.case_id).order_by(Escalation.id)).all()
    first_due = ids[::-1]
    assert [sorted(order[n:n + 4]) for n in (0, 4, 8)] == [sorted(first_due[n:n + 4]) for n in (0, 4, 8)], \
        "each case once, the longest due first"
    assert "more cases are due, the next pass takes them" in str(reports[0])


def test_cases_whose_step_fails_are_tried_later_and_never_starve_the_others(desk: EscalationDesk) -> None:
    bounded = replace(desk.config, escalation=replace(desk.config.escalation, cases_per_pass=2))
    broken = [desk.open_case(bogota(23, 9, minute)) for minute in (1, 2)]  # due first
    fine = desk.open_case(bogota(23, 9, 3))
    with desk.sessions.begin() as session:  # a queue taken out of the configuration: their steps fail
        session.execute(update(Case).where(Case.id.in_(broken)).values(queue="retirada"))
    first = escalate_due(desk.sessions, bounded, bogota(23, 13))
    second = escalate_due(desk.sessions, bounded, bogota(23, 13))
    assert (first.levels, first.more, second.levels, second.more) == (0, True, 1, False)
    assert desk.case(fine).escalation_level == 1
    for case_id in broken:
        assert desk.case(case_id).next_escalation_at == bogota(23, 13) + RETRY_FAILED, "tried again later"


@sqlite_only
def test_a_case_on_hold_gets_one_reminder_after_remind_after(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))
    desk.set_state(case_id, State.ON_HOLD, bogota(23, 10))
    assert desk.pass_at(bogota(26, 9, 59)).reminders == 0  # three business days: Thursday 10:00
    assert desk.pass_at(bogota(26, 10)).reminders == 1
    assert desk.pass_at(bogota(30, 10)).reminders == 0
    assert desk.send() == [(CUSTOMER, "[CS0000001] Recordatorio: No puedo firmar")]


def test_a_resolved_case_left_unanswered_closes_with_the_survey_and_a_reply_rates_it(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))
    desk.set_state(case_id, State.RESOLVED, bogota(23, 10))
    assert desk.pass_at(bogota(28, 9)).closed == 0  # five business days: Saturday 10:00
    assert desk.pass_at(bogota(28, 10)).closed == 1
    assert desk.case(case_id).state is State.CLOSED
    [(recipient, subject)] = desk.send()
    assert (recipient, subject) == (CUSTOMER, "[CS0000001] Caso cerrado: No puedo firmar")
    text = desk.sink.captured[0].message.get_body(("plain",)).get_content()
    assert "del 1 (muy insatisfecho)" in text and "responda este correo solo con el número" in text
    assert [line.split("/survey/")[0] for line in text.splitlines() if "/survey/" in line] == [
        f"{n}: {desk.config.portal.base_url}" for n in range(1, 6)]
    with desk.sessions.begin() as session:
        case = session.get_one(Case, case_id)
        assert not record_reply(case, "Gracias, todo bien")
        assert record_reply(case, "\n5\n\n> El caso CS0000001 se marcó como resuelto", bogota(28, 12))
        assert not record_reply(case, "1")  # the first answer stands
    assert desk.case(case_id).rating == 5


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has one writer: no such race there
def test_a_rating_by_mail_and_one_by_the_portal_at_once_keep_the_first(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))
    desk.set_state(case_id, State.RESOLVED, bogota(23, 10))
    assert desk.pass_at(bogota(28, 10)).closed == 1
    with desk.sessions.begin() as by_mail:
        case = by_mail.get_one(Case, case_id)  # the mail's transaction read the case, then the click committed
        _ = case.escalations
        with desk.sessions.begin() as by_portal:
            assert survey.rate(by_portal.get_one(Case, case_id), 5, bogota(28, 11))
        assert not record_reply(case, "1", bogota(28, 12))
    assert desk.case(case_id).rating == 5


@sqlite_only
def test_an_external_survey_url_replaces_the_portal_links(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))
    desk.set_state(case_id, State.RESOLVED, bogota(23, 10))
    external = replace(desk.config, escalation=replace(desk.config.escalation,
                                                       survey_url="https://encuesta.example.com/s"))
    assert escalate_due(desk.sessions, external, bogota(28, 10)).closed == 1
    desk.send()
    text = desk.sink.captured[0].message.get_body(("plain",)).get_content()
    assert "encuesta de un minuto: https://encuesta.example.com/s" in text and "/survey/" not in text


@sqlite_only
def test_staff_mails_name_the_levels_in_the_desks_language(desk: EscalationDesk) -> None:
    english = replace(desk.config, desk=replace(desk.config.desk, language="en"))
    desk.open_case(bogota(23, 9))
    assert escalate_due(desk.sessions, english, bogota(23, 11)).levels == 1
    sent = desk.send()
    assert sorted(subject for _, subject in sent) == [
        "[CS0000001] Escalated to Supervisor de soporte: No puedo firmar",
        "[CS0000001] Escalation level 1: No puedo firmar"]
    for captured in desk.sink.captured:
        text = captured.message.get_body(("plain",)).get_content()
        assert "level 0, Agents of Mesa de ayuda" in text and "Agentes" not in text


@sqlite_only
def test_a_customer_reply_before_the_close_keeps_the_case_open(desk: EscalationDesk) -> None:
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))
    desk.set_state(case_id, State.RESOLVED, bogota(23, 10))
    desk.customer_writes(case_id, bogota(24, 9))  # add_entry puts it back "En curso"
    assert desk.pass_at(bogota(30, 10)).closed == 0
    assert desk.case(case_id).state is State.IN_PROGRESS


def _cli_json(desk: EscalationDesk, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert cli.main(["--config", str(desk.config.path), *args]) == 0
    return json.loads(capsys.readouterr().out)


@sqlite_only
def test_cases_list_filters_and_shows_levels_sla_and_history(desk: EscalationDesk,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    desk.open_case(bogota(24, 9, year=2025))
    desk.pass_at(bogota(24, 11, year=2025))
    answered = desk.open_case(bogota(24, 9, year=2025))
    desk.agent_answers(answered, bogota(24, 10, year=2025))
    desk.set_state(answered, State.ON_HOLD, bogota(24, 10, year=2025))
    # `cases` reads the process clock, long after these cases: the late one is overdue, the one on hold is not.
    assert [c["number"] for c in _cli_json(desk, capsys, "cases", "list", "--json", "--overdue")] == ["CS0000001"]
    assert [c["number"] for c in _cli_json(desk, capsys, "cases", "list", "--json", "--level", "1")] == ["CS0000001"]
    assert [c["number"] for c in _cli_json(desk, capsys, "cases", "list", "--json", "--state", "En espera")] == [
        "CS0000002"]
    assert _cli_json(desk, capsys, "cases", "list", "--json", "--queue", "otra") == []
    shown = _cli_json(desk, capsys, "cases", "show", "CS0000001", "--json")
    assert shown["escalation_level"] == 1 and shown["next_escalation_at"] == "2025-11-24T20:00:00+00:00"
    assert shown["sla"]["first_response"] == {"target": "4h", "due_at": "2025-11-24T18:00:00+00:00",
                                              "met_at": None, "left_seconds": 0, "breached": True}
    assert [(e["kind"], e["level"], e["notified"]) for e in shown["escalations"]] == [
        ("level", 1, [SUPERVISOR, AGENTS])]
    on_hold = _cli_json(desk, capsys, "cases", "show", "CS0000002", "--json")["sla"]
    assert on_hold["first_response"]["met_at"] == "2025-11-24T15:00:00+00:00"
    assert on_hold["resolution"]["due_at"] is None and on_hold["resolution"]["breached"] is False
    assert cli.main(["--config", str(desk.config.path), "cases", "show", "CS0000001"]) == 0
    text = capsys.readouterr().out
    assert "BREACHED" in text
    assert "⇧ 2025-11-24 11:00 level level 1 (due 2025-11-24 11:00)" in text  # Bogotá's time, as every time shown
    assert cli.main(["--config", str(desk.config.path), "cases", "show", "CS0000002"]) == 0
    assert "first response: 4h target, met at 2025-11-24 10:00" in capsys.readouterr().out


@sqlite_only
def test_escalate_once_runs_one_pass_at_the_current_time(desk: EscalationDesk,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    desk.open_case(utcnow() - timedelta(days=30))
    assert cli.main(["--config", str(desk.config.path), "escalate", "--once"]) == 0
    assert "1 level step(s), 1 resolution breach(es)" in capsys.readouterr().out


def _shape(value: Any) -> Any:
    """The keys of a context, at every depth (a list of objects by its first): what templates may rely on."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], dict) else []
    return None


@sqlite_only
def test_every_mail_of_the_pass_has_the_context_its_sample_promises(desk: EscalationDesk) -> None:
    desk.open_case(bogota(23, 9))
    desk.pass_at(bogota(23, 11))
    held = desk.open_case(bogota(23, 9))
    desk.agent_answers(held, bogota(23, 10))
    desk.set_state(held, State.ON_HOLD, bogota(23, 10))
    desk.pass_at(bogota(26, 10))
    desk.set_state(held, State.RESOLVED, bogota(26, 11))
    desk.pass_at(bogota(26, 11) + timedelta(days=10))
    with desk.sessions() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        kinds = {row.kind.value for row in rows}
        assert kinds == {"escalation", "escalation_agents", "resolution_breach", "reminder", "closing"}
        for row in rows:
            assert _shape(row.context) == _shape(sample(row.kind.value)), row.kind


@sqlite_only
def test_a_reminder_obeys_the_customers_limit_of_automatic_mail(desk: EscalationDesk) -> None:
    """Reminders and closing mails are automatic mail: past [limits] auto_replies_per_hour to one address they are
    kept as suppressed, never sent (a loop through a customer's autoresponder stays bounded)."""
    case_id = desk.open_case(bogota(23, 9))
    desk.agent_answers(case_id, bogota(23, 10))
    desk.set_state(case_id, State.ON_HOLD, bogota(23, 10))
    with desk.sessions.begin() as session:  # the customer already had the hour's automatic mails
        for n in range(desk.config.limits.auto_replies_per_hour):
            session.add(Outbox(kind=MailKind.ACK, case_id=case_id, queue="mesadeayuda", language="es",
                               recipient=CUSTOMER, message_id=f"<earlier-{n}@example.com>", context={},
                               status=OutboxStatus.SENT, next_attempt_at=utcnow()))

    assert desk.pass_at(bogota(26, 10)).reminders == 1
    with desk.sessions() as session:
        reminder = session.scalars(select(Outbox).where(Outbox.kind == MailKind.REMINDER)).one()
        assert reminder.status is OutboxStatus.SUPPRESSED
