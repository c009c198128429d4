"""On a backlog the next batch is parsed in a worker process while the current one is written; the verdicts are
the ones the in-process parse gives, and a worker that dies costs nothing but the overlap."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.desk.models import Case, Outcome
from mailbot.mail.parse import InboundMail, ParseLimits
from mailbot.mail.source import Batch, Fetched, SourceUnavailable
from mailbot.runners.intake import IntakeRunner
from mailbot.runners.parse_ahead import ParseAhead
from tests.conftest import Desk
from tests.integration.test_first_path import mail

NOT_A_MAIL = b"\x00\x01\x02 no headers at all\n"


def desk_mails() -> list[bytes]:
    """Seven mails over four batches of two: new cases, one follow-up (three batches after its case), one mail
    that cannot be parsed."""
    mails = [mail(f"<m{n}@example.org>", f"Consulta {n}", sender=f"cliente{n}@example.org") for n in range(5)]
    mails.insert(3, NOT_A_MAIL.decode("latin-1"))
    mails.append(mail("<m6@example.org>", "RE: Consulta 0", sender="cliente0@example.org",
                      extra="In-Reply-To: <m0@example.org>\n"))
    return [m.encode("latin-1") for m in mails]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_backlog_is_parsed_ahead_in_a_worker_with_the_verdicts_of_the_in_process_parse(desk: Desk) -> None:
    for raw in desk_mails():
        desk.deliver(raw)
    config = desk.config
    app = App.open(replace(config, daemon=replace(config.daemon, batch_size=2)))
    try:
        verdicts = IntakeRunner(app, app.config.queues[0]).once()
        parsed_ahead = app.parse_ahead.parsed
    finally:
        app.close()

    assert parsed_ahead == 5  # batches 2, 3 and 4 (the unparseable mail is in batch 2); the first is parsed here
    assert [v.outcome for v in verdicts] == [Outcome.NEW_CASE] * 3 + [Outcome.QUARANTINE] + [Outcome.NEW_CASE] * 2 \
        + [Outcome.FOLLOW_UP]
    assert verdicts[3].reason.startswith("not an e-mail"), verdicts[3].reason
    assert verdicts[6].case_number == verdicts[0].case_number
    with desk.session() as session:
        assert len(session.scalars(select(Case)).all()) == 5
    assert len(desk.folder("Procesados")) == 6 and len(desk.folder("Cuarentena")) == 1


def batches(count: int) -> Iterator[Batch]:
    for n in range(count):
        raw = mail(f"<b{n}@example.org>", f"Lote {n}").encode()
        yield Batch(1, [Fetched(n + 1, raw)])


def test_a_worker_that_dies_leaves_the_batches_to_the_in_process_parse_and_is_reported_once(
        caplog: pytest.LogCaptureFixture) -> None:
    ahead = ParseAhead()
    seen: list[dict[int, InboundMail | str]] = []
    try:
        with caplog.at_level(logging.ERROR, "mailbot.runners.parse_ahead"):
            for n, (_batch, parsed) in enumerate(ahead.batches(batches(5), ParseLimits())):
                seen.append(parsed)
                if n == 1:  # batch 2 came from the worker, batch 3 was handed to it: it dies now
                    for child in multiprocessing.active_children():
                        os.kill(child.pid or 0, signal.SIGKILL)
                        child.join(10)
                    time.sleep(0.2)
    finally:
        ahead.close()

    parsed = [sorted(p) for p in seen]
    assert parsed[:2] == [[], [2]] and parsed[3:] == [[], []], parsed  # after the death, every batch in-process
    assert parsed[2] in ([], [3]), parsed  # batch 3: the worker may have sent it back before it died
    assert isinstance(seen[1][2], InboundMail) and seen[1][2].raw.startswith(b"From:")  # its raw put back
    assert len([r for r in caplog.records if "parsing worker failed" in r.getMessage()]) == 1
    assert multiprocessing.active_children() == []


def test_a_source_that_fails_fetching_the_next_batch_still_hands_out_the_current_one_first() -> None:
    def failing() -> Iterator[Batch]:
        yield from batches(1)
        raise SourceUnavailable("mailbox: the connection dropped")

    ahead = ParseAhead()
    handed: list[int] = []
    with pytest.raises(SourceUnavailable, match="dropped"):
        for batch, _parsed in ahead.batches(failing(), ParseLimits()):
            handed += [item.uid for item in batch.items]
    ahead.close()
    assert handed == [1]


def test_a_worker_that_cannot_start_leaves_every_batch_to_the_in_process_parse(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A pids limit or no memory for a new process: the backlog is parsed here, never stalled."""
    def refuse(*_: object, **__: object) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.get_context("spawn").Process, "start", refuse)
    ahead = ParseAhead()
    with caplog.at_level(logging.ERROR, "mailbot.runners.parse_ahead"):
        handed = [(batch.items[0].uid, parsed) for batch, parsed in ahead.batches(batches(3), ParseLimits())]
    ahead.close()
    assert handed == [(1, {}), (2, {}), (3, {})]
    assert len([r for r in caplog.records if "parsing worker failed" in r.getMessage()]) == 1


def test_after_close_no_worker_starts() -> None:
    ahead = ParseAhead()
    ahead.close()
    assert [parsed for _batch, parsed in ahead.batches(batches(3), ParseLimits())] == [{}, {}, {}]
    assert multiprocessing.active_children() == []


def test_the_worker_of_a_daemon_killed_outright_ends_too(tmp_path: Path) -> None:
    """SIGKILL (the OOM killer) gives the daemon no chance to end its worker; an orphan would live for ever."""
    script = tmp_path / "daemon.py"
    script.write_text(
        "import sys, threading, time\n"
        "from mailbot.mail.parse import ParseLimits\n"
        "from mailbot.mail.source import Batch, Fetched\n"
        "from mailbot.runners.parse_ahead import ParseAhead\n"
        "AHEAD = ParseAhead()  # as the daemon's App holds it\n"
        "def intake():  # as in the daemon: a runner's thread starts the worker\n"
        "    raw = b'From: a@example.org\\nSubject: x\\nMessage-ID: <x@example.org>\\n\\nHola\\n'\n"
        "    batches = iter([Batch(1, [Fetched(1, raw)]), Batch(1, [Fetched(2, raw)])])\n"
        "    for _batch, _parsed in AHEAD.batches(batches, ParseLimits()):\n"
        "        pass\n"
        "if __name__ == '__main__':\n"
        "    runner = threading.Thread(target=intake)\n"
        "    runner.start()\n"
        "    runner.join()\n"
        "    print('started', flush=True)\n"
        "    time.sleep(600)\n")
    daemon = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert daemon.stdout is not None and daemon.stdout.readline() == "started\n"
    workers = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(daemon.pid)], capture_output=True,
                                                  text=True).stdout.split()]
    assert workers, "the worker was started"
    daemon.kill()
    daemon.wait()
    daemon.stdout.close()
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers)), "the worker outlived its daemon"


def _alive(pid: int) -> bool:
    """Running, neither gone nor a zombie waiting for whoever adopted it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
