"""Exactly once across a crash: a real `mailbot run --once` process dies at the worst moments, then restarts."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from mailbot.desk.models import Case, Outbox, OutboxStatus, Outcome, Receipt
from tests.conftest import Desk
from tests.integration.test_first_path import CUSTOMER, FIRST, mail

# Runs the real CLI in a child process after replacing one step with a hard exit (no cleanup, no commit).
CRASHING_RUN = """
import os, sys
from mailbot.mail import imap_source
from mailbot.desk import actions
where = os.environ["CRASH_AT"]
calls = []
def dying(action):
    def act(inbound):
        calls.append(1)
        if where == "mid-batch" and len(calls) == 2:
            os._exit(137)
        if where == "poison" and b"MATAR" in inbound.mail.raw:
            os._exit(137)  # as an out-of-memory kill or a crash in C code would: no exception, no cleanup
        return action(inbound)
    return act
if where == "after-commit":
    imap_source.ImapSource.settle = lambda self, *moves: os._exit(137)
else:  # through the public route -> action table: every action dies at the chosen moment
    actions.ACTIONS = tuple((route, thread, dying(action)) for route, thread, action in actions.ACTIONS)
from mailbot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(desk: Desk, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAILBOT_CONFIG": str(desk.config_path)}
    if crash_at is None:
        command = [sys.executable, "-m", "mailbot", "run", "--once"]
    else:
        command = [sys.executable, "-c", CRASHING_RUN, "run", "--once"]
        env["CRASH_AT"] = crash_at
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_crash_between_commit_and_move_then_a_restart_does_not_double(desk: Desk) -> None:
    desk.deliver(FIRST)

    crashed = run(desk, "after-commit")

    assert crashed.returncode == 137
    assert len(desk.folder("INBOX")) == 1, "the message stays in the inbox until it is moved"
    with desk.session() as session:
        assert len(session.scalars(select(Case)).all()) == 1
        assert [r.status for r in session.scalars(select(Outbox))] == [OutboxStatus.PENDING] * 2

    restarted = run(desk)

    assert restarted.returncode == 0, restarted.stderr
    assert desk.folder("INBOX") == [] and len(desk.folder("Procesados")) == 1
    with desk.session() as session:
        assert len(session.scalars(select(Case)).all()) == 1
        assert len(session.scalars(select(Receipt)).all()) == 1
    assert len(desk.sent_to(CUSTOMER)) == 2  # credentials and acknowledgement, once each


def test_a_crash_in_the_middle_of_a_batch_commits_nothing_and_the_restart_processes_all(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.deliver(mail("<two@example.org>", "Segunda solicitud", sender="laura.perez@example.org"))

    assert run(desk, "mid-batch").returncode == 137
    with desk.session() as session:
        assert session.scalars(select(Case)).all() == []

    assert run(desk).returncode == 0
    with desk.session() as session:
        assert session.scalars(select(Case.subject).order_by(Case.id)).all() == [
            "No puedo firmar con el token en Adobe", "Segunda solicitud"]
    assert desk.folder("INBOX") == []
    assert len(desk.sink.captured) == 4


def test_a_message_that_kills_the_daemon_is_set_aside_after_three_crashes_and_the_rest_go_on(desk: Desk) -> None:
    desk.deliver(FIRST)
    desk.deliver(mail("<poison@example.org>", "MATAR: mensaje venenoso", "MATAR", sender="otro@example.org"))
    desk.deliver(mail("<after@example.org>", "Solicitud posterior", sender="laura.perez@example.org"))

    exits = [run(desk, "poison").returncode for _ in range(4)]

    assert exits == [137, 137, 137, 0], "the batch, then the message alone twice; the fourth run sets it aside"
    assert desk.folder("INBOX") == [] and len(desk.folder("Procesados")) == 2 and len(desk.folder("Cuarentena")) == 1
    with desk.session() as session:
        assert session.scalars(select(Case.subject).order_by(Case.id)).all() == [
            "No puedo firmar con el token en Adobe", "Solicitud posterior"]
        reasons = session.scalars(select(Receipt.reason).where(Receipt.outcome == Outcome.QUARANTINE)).all()
    assert reasons == ["processing it stopped the daemon 3 times (batch included)"]
    assert len(desk.sink.captured) == 4, "credentials and acknowledgement for each good mail, once"
