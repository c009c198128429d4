"""Route → action: what happens to a classified message, read as a spec. One small module per action.

The first row whose route matches, and whose threading matches (desk/threads.Thread: no case, a case the sender
may add to, another's case, a closed case), decides. A new kind of mail is a new classify rule, a new row here and
a new module, never a branch in ingest.
"""

from __future__ import annotations

from collections.abc import Callable

from ...mail.classify import Route
from ..threads import Thread
from ..verdict import Verdict
from . import agent_reply, auto_reply, bounce, follow_up, ignore, new_case, quarantine, unverified
from .base import Inbound

Action = Callable[[Inbound], Verdict]

ACTIONS: tuple[tuple[Route, Thread, Action], ...] = (
    (Route.NO_SENDER, Thread.ANY, quarantine.nobody_to_answer),
    (Route.OWN_LOOP, Thread.ANY, ignore.own_loop),
    (Route.BOUNCE, Thread.ANY, bounce.match),
    (Route.AUTO_REPLY, Thread.ON_CASE, auto_reply.record),
    (Route.AUTO_REPLY, Thread.CLOSED_CASE, auto_reply.record),  # recorded; it never reopens a case
    (Route.AUTO_REPLY, Thread.FOREIGN_CASE, ignore.automatic),
    (Route.AUTO_REPLY, Thread.NO_CASE, ignore.automatic),
    (Route.AGENT, Thread.ON_CASE, agent_reply.act),
    (Route.AGENT, Thread.CLOSED_CASE, agent_reply.act),
    (Route.AGENT, Thread.FOREIGN_CASE, new_case.open_for_stranger),  # another queue's case: not theirs to run
    (Route.AGENT, Thread.NO_CASE, new_case.open_and_answer),
    (Route.AGENT_UNVERIFIED, Thread.ON_CASE, unverified.record),
    (Route.AGENT_UNVERIFIED, Thread.CLOSED_CASE, unverified.record),
    (Route.AGENT_UNVERIFIED, Thread.FOREIGN_CASE, unverified.report),
    (Route.AGENT_UNVERIFIED, Thread.NO_CASE, unverified.report),
    (Route.CUSTOMER, Thread.ON_CASE, follow_up.add),
    (Route.CUSTOMER, Thread.CLOSED_CASE, new_case.open_after_closed),
    (Route.CUSTOMER, Thread.FOREIGN_CASE, new_case.open_for_stranger),
    (Route.CUSTOMER, Thread.NO_CASE, new_case.open_and_answer),
    (Route.BULK, Thread.ON_CASE, follow_up.add),
    (Route.BULK, Thread.CLOSED_CASE, new_case.open_after_closed),
    (Route.BULK, Thread.FOREIGN_CASE, new_case.open_for_stranger),
    (Route.BULK, Thread.NO_CASE, new_case.open_unanswered),
)


def needs_thread(route: Route) -> bool:
    """Whether the action for `route` depends on the case the mail threads onto (else no lookup is made)."""
    return any(row_route is route and thread is not Thread.ANY for row_route, thread, _ in ACTIONS)


def action_for(route: Route, thread: Thread) -> Action:
    for row_route, row_thread, action in ACTIONS:
        if row_route is route and row_thread in (Thread.ANY, thread):
            return action
    raise LookupError(f"no action for route {route.value} ({thread.value})")


__all__ = ["ACTIONS", "Action", "Inbound", "Thread", "action_for", "needs_thread"]
