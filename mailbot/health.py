"""Decide whether the daemon is healthy: every mailbox polled lately, the outbox draining, the database answering."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .config import Config
from .desk.models import Outbox, OutboxStatus, utcnow
from .errors import first_line

PollMode = Literal["idle", "poll"]
# A mailbox waiting in IDLE is re-issued before 29 minutes (RFC 2177 §3: servers may log out a client idle for 30),
# so it may pass that long between two passes without anything being wrong.
IDLE_RENEWAL = 29 * 60.0
# A mailbox is stale after this many poll intervals without a successful pass.
STALE_POLLS = 3


@dataclass(frozen=True)
class Poll:
    """A mailbox's last successful pass, on the monotonic clock, and how it waits for mail."""

    at: float
    mode: PollMode


_lock = threading.Lock()
_polls: dict[str, Poll] = {}


def polled(queue: str, mode: PollMode) -> None:
    """Remember a successful pass over the mailbox (`metrics.poll_succeeded` calls it)."""
    with _lock:
        _polls[queue] = Poll(time.monotonic(), mode)


def last_polls() -> dict[str, Poll]:
    with _lock:
        return dict(_polls)


@dataclass(frozen=True)
class OutboxFacts:
    """What /healthz needs from the outbox: when the longest-due pending reply fell due, when the oldest pending
    reply was queued, and when a reply was last sent (None: no such row)."""

    oldest_due: datetime | None = None
    oldest_pending: datetime | None = None
    last_sent: datetime | None = None


@dataclass(frozen=True)
class Health:
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    def json(self) -> str:
        """`{"status": "ok"}` or `{"status": "fail", "reason": "mailbox mesadeayuda not polled for 200s …"}`."""
        body = {"status": "ok"} if self.ok else {"status": "fail", "reason": "; ".join(self.reasons)}
        return json.dumps(body, ensure_ascii=False)


def stale_mailboxes(queues: Sequence[str], polls: Mapping[str, Poll], since: float, now: float,
                    poll_interval: float) -> list[str]:
    """One reason per mailbox without a successful pass for too long: STALE_POLLS poll intervals, plus the IDLE
    renewal while it waits in IDLE. A mailbox not served since `since` (the server's start) counts from then."""
    reasons = []
    for queue in queues:
        poll = polls.get(queue)
        if poll is None or poll.at < since:  # an earlier server's, in this process: the count starts again
            poll = None
        last = since if poll is None else poll.at
        limit = STALE_POLLS * poll_interval + (IDLE_RENEWAL if poll is not None and poll.mode == "idle" else 0.0)
        if now - last > limit:
            what = "not polled since the daemon started" if poll is None else "not polled"
            reasons.append(f"mailbox {queue} {what}: {now - last:.0f}s (limit {limit:.0f}s)")
    return reasons


def outbox_problems(facts: OutboxFacts, now: datetime, stuck_after: float) -> list[str]:
    """Why the outbox looks stuck: a due reply waiting longer than `stuck_after` seconds (the drain is not
    running, or the server takes nothing), or replies waiting that long while nothing at all was sent."""
    limit = timedelta(seconds=stuck_after)
    reasons = []
    if facts.oldest_due is not None and now - facts.oldest_due > limit:
        reasons.append(f"outbox: a reply has been due for {_seconds(now - facts.oldest_due)}s "
                       f"(limit {stuck_after:.0f}s)")
    quiet = facts.last_sent is None or now - facts.last_sent > limit
    if not reasons and facts.oldest_pending is not None and now - facts.oldest_pending > limit and quiet:
        since = "ever" if facts.last_sent is None else f"in {_seconds(now - facts.last_sent)}s"
        reasons.append(f"outbox: replies pending for {_seconds(now - facts.oldest_pending)}s and none sent {since} "
                       f"(limit {stuck_after:.0f}s)")
    return reasons


def outbox_facts(session: Session, now: datetime) -> OutboxFacts:
    pending = Outbox.status == OutboxStatus.PENDING
    return OutboxFacts(
        oldest_due=session.scalar(select(func.min(Outbox.next_attempt_at)).where(pending,
                                                                                  Outbox.next_attempt_at <= now)),
        oldest_pending=session.scalar(select(func.min(Outbox.created_at)).where(pending)),
        last_sent=session.scalar(select(func.max(Outbox.sent_at))),
    )


def check(config: Config, engine: Engine, since: float) -> Health:
    """The daemon's health now: every mailbox polled lately, the outbox draining, the database answering."""
    reasons = stale_mailboxes([q.key for q in config.queues], last_polls(), since, time.monotonic(),
                              config.daemon.poll_interval)
    try:
        with Session(engine) as session:
            now = utcnow()
            reasons += outbox_problems(outbox_facts(session, now), now, config.metrics.outbox_stuck_after)
    except SQLAlchemyError as exc:
        reasons.append(f"database: {first_line(exc)}")
    return Health(tuple(reasons))


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():.0f}"
