"""Route → action: what happens to a classified message, read as a spec. One small module per action.

The first row whose route matches, and whose threading matches (the mail threads onto a case, or it does not),
decides. A new kind of mail is a new classify rule, a new row here and a new module, never a branch in ingest.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from ...mail.classify import Route
from ..verdict import Verdict
from . import auto_reply, follow_up, ignore, new_case, quarantine
from .base import Inbound

Action = Callable[[Inbound], Verdict]


class Thread(enum.Enum):
    ON_CASE = "threads onto a case"
    NO_CASE = "answers no case of ours"
    ANY = "either"


ACTIONS: tuple[tuple[Route, Thread, Action], ...] = (
    (Route.NO_SENDER, Thread.ANY, quarantine.nobody_to_answer),
    (Route.OWN_LOOP, Thread.ANY, ignore.own_loop),
    (Route.AUTO_REPLY, Thread.ON_CASE, auto_reply.record),
    (Route.AUTO_REPLY, Thread.NO_CASE, ignore.automatic),
    (Route.CUSTOMER, Thread.ON_CASE, follow_up.add),
    (Route.CUSTOMER, Thread.NO_CASE, new_case.open_and_answer),
    (Route.BULK, Thread.ON_CASE, follow_up.add),
    (Route.BULK, Thread.NO_CASE, new_case.open_unanswered),
)


def needs_thread(route: Route) -> bool:
    """Whether the action for `route` depends on the case the mail threads onto (else no lookup is made)."""
    return any(row_route is route and thread is not Thread.ANY for row_route, thread, _ in ACTIONS)


def action_for(route: Route, on_case: bool) -> Action:
    for row_route, thread, action in ACTIONS:
        if row_route is route and (thread is Thread.ANY or (thread is Thread.ON_CASE) is on_case):
            return action
    raise LookupError(f"no action for route {route.value} ({'on a case' if on_case else 'no case'})")


__all__ = ["ACTIONS", "Action", "Inbound", "Thread", "action_for", "needs_thread"]
