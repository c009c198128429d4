"""The Route → action table reads as the spec of what happens to each kind of mail."""

from __future__ import annotations

import pytest

from mailbot.desk import actions
from mailbot.desk.actions import (Thread, action_for, agent_reply, auto_reply, bounce, follow_up, ignore, needs_thread,
                                  new_case, quarantine, unverified)
from mailbot.mail.classify import Route

NO, ON, FOREIGN, CLOSED = Thread.NO_CASE, Thread.ON_CASE, Thread.FOREIGN_CASE, Thread.CLOSED_CASE
SPEC = [
    # route,                  the mail and the case it names → action
    (Route.CUSTOMER, NO, new_case.open_and_answer),
    (Route.CUSTOMER, ON, follow_up.add),
    (Route.CUSTOMER, FOREIGN, new_case.open_for_stranger),  # quotes another's case: their own, linked, flagged
    (Route.CUSTOMER, CLOSED, new_case.open_after_closed),  # a new case linked to the closed one; told its number
    (Route.BULK, NO, new_case.open_unanswered),
    (Route.BULK, ON, follow_up.add),
    (Route.BULK, FOREIGN, new_case.open_for_stranger),
    (Route.BULK, CLOSED, new_case.open_after_closed),
    (Route.AUTO_REPLY, NO, ignore.automatic),
    (Route.AUTO_REPLY, ON, auto_reply.record),
    (Route.AUTO_REPLY, FOREIGN, ignore.automatic),
    (Route.AUTO_REPLY, CLOSED, auto_reply.record),  # recorded, never reopens
    (Route.AGENT, NO, new_case.open_and_answer),
    (Route.AGENT, ON, agent_reply.act),
    (Route.AGENT, FOREIGN, new_case.open_for_stranger),  # an agent of another queue is a stranger to its cases
    (Route.AGENT, CLOSED, agent_reply.act),
    (Route.AGENT_UNVERIFIED, NO, unverified.report),
    (Route.AGENT_UNVERIFIED, ON, unverified.record),
    (Route.AGENT_UNVERIFIED, FOREIGN, unverified.report),
    (Route.AGENT_UNVERIFIED, CLOSED, unverified.record),
    *[(Route.BOUNCE, thread, bounce.match) for thread in (NO, ON, FOREIGN, CLOSED)],
    *[(Route.OWN_LOOP, thread, ignore.own_loop) for thread in (NO, ON, FOREIGN, CLOSED)],
    *[(Route.NO_SENDER, thread, quarantine.nobody_to_answer) for thread in (NO, ON, FOREIGN, CLOSED)],
]


@pytest.mark.parametrize(("route", "thread", "expected"), SPEC)
def test_each_route_has_the_action_the_spec_names(route: Route, thread: Thread, expected: actions.Action) -> None:
    assert action_for(route, thread) is expected


def test_every_route_has_an_action_however_it_threads() -> None:
    threads = {NO, ON, FOREIGN, CLOSED}
    assert {(route, thread) for route, thread, _ in SPEC} == {(r, t) for r in Route for t in threads}


@pytest.mark.parametrize(("route", "looked_up"), [
    (Route.CUSTOMER, True), (Route.BULK, True), (Route.AUTO_REPLY, True), (Route.AGENT, True),
    (Route.AGENT_UNVERIFIED, True), (Route.BOUNCE, False), (Route.OWN_LOOP, False), (Route.NO_SENDER, False),
])
def test_threading_is_looked_up_only_where_the_action_depends_on_it(route: Route, looked_up: bool) -> None:
    assert needs_thread(route) is looked_up


def test_rows_name_their_threading_explicitly() -> None:
    assert all(isinstance(thread, Thread) for _, thread, _ in actions.ACTIONS)
