"""/healthz's rules: a mailbox not polled for too long, an outbox that does not drain."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.health import IDLE_RENEWAL, Health, OutboxFacts, Poll, outbox_problems, stale_mailboxes

NOW = datetime(2026, 11, 23, 14, 15, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(("polls", "now", "expected"), [
    ({"mesadeayuda": Poll(100.0, "poll")}, 279.0, []),
    ({"mesadeayuda": Poll(100.0, "poll")}, 281.0, ["mailbox mesadeayuda not polled: 181s (limit 180s)"]),
    ({"mesadeayuda": Poll(100.0, "idle")}, 281.0, []),
    ({"mesadeayuda": Poll(100.0, "idle")}, 100 + 180 + IDLE_RENEWAL + 1,
     ["mailbox mesadeayuda not polled: 1921s (limit 1920s)"]),
    ({}, 179.0, []),
    ({}, 181.0, ["mailbox mesadeayuda not polled since the daemon started: 181s (limit 180s)"]),
    # A poll from before this server started (an earlier one in the same process) does not count.
    ({"mesadeayuda": Poll(-50.0, "idle")}, 181.0,
     ["mailbox mesadeayuda not polled since the daemon started: 181s (limit 180s)"]),
    ({"otra": Poll(170.0, "poll")}, 181.0,
     ["mailbox mesadeayuda not polled since the daemon started: 181s (limit 180s)"]),
], ids=["fresh", "stale", "idle-waits-longer", "idle-stale", "not-yet-due", "never-polled", "earlier-server",
        "another-mailbox"])
def test_a_mailbox_is_stale_after_three_intervals_plus_idle_renewal(polls: dict[str, Poll], now: float,
                                                                     expected: list[str]) -> None:
    assert stale_mailboxes(["mesadeayuda"], polls, since=0.0, now=now, poll_interval=60.0) == expected


@given(at=st.floats(0, 1e6), wait=st.floats(0, 1e6), later=st.floats(0, 1e6), mode=st.sampled_from(["idle", "poll"]),
       interval=st.floats(0.1, 86400))
def test_a_stale_mailbox_stays_stale_until_polled(at: float, wait: float, later: float, mode: str,
                                                  interval: float) -> None:
    polls = {"q": Poll(at, "idle" if mode == "idle" else "poll")}
    if stale_mailboxes(["q"], polls, 0.0, at + wait, interval):
        assert stale_mailboxes(["q"], polls, 0.0, at + wait + later, interval)
    assert stale_mailboxes(["q"], {"q": Poll(at + wait, polls["q"].mode)}, 0.0, at + wait, interval) == []


@pytest.mark.parametrize(("facts", "expected"), [
    (OutboxFacts(), []),
    (OutboxFacts(oldest_due=NOW - 29 * MINUTE, oldest_pending=NOW - 29 * MINUTE), []),
    (OutboxFacts(oldest_due=NOW - 31 * MINUTE, oldest_pending=NOW - 31 * MINUTE, last_sent=NOW - MINUTE),
     ["outbox: a reply has been due for 1860s (limit 1800s)"]),
    # Retried with backoff (so never due for long), and nothing has gone out meanwhile.
    (OutboxFacts(oldest_due=None, oldest_pending=NOW - 40 * MINUTE, last_sent=NOW - 60 * MINUTE),
     ["outbox: replies pending for 2400s and none sent in 3600s (limit 1800s)"]),
    (OutboxFacts(oldest_due=None, oldest_pending=NOW - 40 * MINUTE, last_sent=None),
     ["outbox: replies pending for 2400s and none sent ever (limit 1800s)"]),
    # One reply being retried while others go out: its own trouble, shown by `outbox list`, not the daemon's.
    (OutboxFacts(oldest_due=None, oldest_pending=NOW - 40 * MINUTE, last_sent=NOW - 5 * MINUTE), []),
    # A quiet desk that sent its last reply days ago and just queued one.
    (OutboxFacts(oldest_due=NOW, oldest_pending=NOW, last_sent=NOW - timedelta(days=3)), []),
], ids=["empty", "due-but-young", "due-too-long", "retried-nothing-sent", "never-sent", "others-sent", "quiet-desk"])
def test_the_outbox_is_stuck_when_a_due_reply_waits_or_nothing_goes_out(facts: OutboxFacts,
                                                                         expected: list[str]) -> None:
    assert outbox_problems(facts, NOW, stuck_after=1800) == expected


ages = st.one_of(st.none(), st.integers(0, 10 ** 6).map(lambda s: NOW - timedelta(seconds=s)))


@given(facts=st.builds(OutboxFacts, ages, ages, ages), limit=st.floats(1, 10 ** 6), more=st.floats(0, 10 ** 6))
def test_a_longer_limit_never_makes_a_healthy_outbox_stuck(facts: OutboxFacts, limit: float, more: float) -> None:
    if not outbox_problems(facts, NOW, limit):
        assert outbox_problems(facts, NOW, limit + more) == []


def test_health_is_one_line_of_json_with_every_reason() -> None:
    assert Health(()).json() == '{"status": "ok"}'
    assert Health(("mailbox a not polled: 200s (limit 180s)", "outbox: x")).json() == (
        '{"status": "fail", "reason": "mailbox a not polled: 200s (limit 180s); outbox: x"}')
