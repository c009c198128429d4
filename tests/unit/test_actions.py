"""The Route → action table reads as the spec of what happens to each kind of mail."""

from __future__ import annotations

import pytest

from mailbot.desk import actions
from mailbot.desk.actions import Thread, action_for, auto_reply, follow_up, ignore, needs_thread, new_case, quarantine
from mailbot.mail.classify import Route

SPEC = [
    # route,            threads onto a case?  → action
    (Route.CUSTOMER, False, new_case.open_and_answer),
    (Route.CUSTOMER, True, follow_up.add),
    (Route.BULK, False, new_case.open_unanswered),
    (Route.BULK, True, follow_up.add),
    (Route.AUTO_REPLY, False, ignore.automatic),
    (Route.AUTO_REPLY, True, auto_reply.record),
    (Route.OWN_LOOP, False, ignore.own_loop),
    (Route.OWN_LOOP, True, ignore.own_loop),
    (Route.NO_SENDER, False, quarantine.nobody_to_answer),
    (Route.NO_SENDER, True, quarantine.nobody_to_answer),
]


@pytest.mark.parametrize(("route", "on_case", "expected"), SPEC)
def test_each_route_has_the_action_the_spec_names(route: Route, on_case: bool, expected: actions.Action) -> None:
    assert action_for(route, on_case) is expected


def test_every_route_has_an_action_whether_or_not_it_threads() -> None:
    assert {(route, on_case) for route, on_case, _ in SPEC} == {(r, c) for r in Route for c in (False, True)}


@pytest.mark.parametrize(("route", "looked_up"), [
    (Route.CUSTOMER, True), (Route.BULK, True), (Route.AUTO_REPLY, True),
    (Route.OWN_LOOP, False), (Route.NO_SENDER, False),
])
def test_threading_is_looked_up_only_where_the_action_depends_on_it(route: Route, looked_up: bool) -> None:
    assert needs_thread(route) is looked_up


def test_rows_name_their_threading_explicitly() -> None:
    assert all(isinstance(thread, Thread) for _, thread, _ in actions.ACTIONS)
