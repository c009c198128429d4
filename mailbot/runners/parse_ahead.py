"""On a backlog, parse the next batch in a worker process while this one is written to the database.

Parsing is about a fifth of what a mail costs the intake, and it needs nothing from the database, so a worker
process does it beside the database work instead of before it: while the intake classifies, threads and commits
batch k, the worker parses batch k+1 (fetched just before). Only a mailbox with more than one batch waiting uses
the worker; a single batch is parsed in-process as before, so a quiet desk starts no process at all.

A worker that dies (a message that crashes the parser in C code, the out-of-memory killer) is not the daemon's
death: the batch is parsed in-process instead, where the crash accounting of runners/intake.py sees it, and no
worker is used again by this process."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from .. import logs
from ..config import LoggingConfig
from ..errors import first_line
from ..mail.parse import InboundMail, ParseLimits, parse_or_reason
from ..mail.source import Batch

log = logging.getLogger(__name__)
Parsed = dict[int, InboundMail | str]  # UID → the parsed mail, or why it cannot be parsed
RESULT_TIMEOUT = 300.0  # seconds a batch may take in the worker: past that it is taken as hung, and parsed here
STOP_WAIT = 10.0  # seconds `close` waits for the worker to finish the batch in hand before killing it
PARENT_CHECK = 1.0  # seconds between the worker's looks at whether its daemon is still alive


class ParseAhead:
    """One worker process, started at the first backlog and kept until `close` (the daemon's life). Thread-safe:
    several mailboxes' intake runners share it; their batches queue for the one worker. Memory: a mailbox in a
    backlog holds two batches (the one written, the one parsed ahead), each within `[daemon]`'s byte budget."""

    def __init__(self, logging_config: LoggingConfig | None = None) -> None:
        self.logging = logging_config or LoggingConfig()
        self._pool: ProcessPoolExecutor | None = None
        self._broken = self._closed = False
        self._lock = threading.Lock()
        self.parsed = 0  # mails the worker parsed, for the tests and the curious

    def batches(self, batches: Iterator[Batch], limits: ParseLimits) -> Iterator[tuple[Batch, Parsed]]:
        """`batches` with, for each, what the worker made of it ({} for the first: parsed in-process). The next
        batch is fetched before the current one is yielded, so the worker parses it meanwhile; an error fetching
        it is raised after the current batch was handed out, as it was before this overlap."""
        current = next(batches, None)
        parsing: Future[Parsed] | None = None
        while current is not None:
            error: Exception | None = None
            try:
                following = next(batches, None)
            except Exception as exc:  # the source failed: the current batch is still whole and is taken first
                following, error = None, exc
            ahead = self._submit(following, limits) if following is not None else None
            yield current, self._result(parsing, current)
            if error is not None:
                raise error
            current, parsing = following, ahead

    def close(self) -> None:
        """End the worker: it finishes the batch in hand (up to STOP_WAIT), or is killed. No worker starts after."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            _end(pool, STOP_WAIT)

    def _submit(self, batch: Batch, limits: ParseLimits) -> Future[Parsed] | None:
        raws = [(item.uid, item.raw) for item in batch.items if item.error is None]
        with self._lock:
            if self._broken or self._closed or not raws:
                return None
            try:
                if self._pool is None:
                    # spawn, not fork: the daemon has threads (and their locks) a forked child would inherit mid-use.
                    self._pool = ProcessPoolExecutor(
                        1, multiprocessing.get_context("spawn"), initializer=_worker_started,
                        initargs=(self.logging.format, self.logging.level))  # no max_tasks_per_child: gh-115634
                return self._pool.submit(parse_batch, raws, limits)
            except Exception as exc:  # no process could be started (a pids limit, memory), or the pool broke
                self._give_up(exc)
                return None

    def _result(self, parsing: Future[Parsed] | None, batch: Batch) -> Parsed:
        if parsing is None:
            return {}
        try:
            parsed = parsing.result(RESULT_TIMEOUT)
        except Exception as exc:  # the worker died (BrokenProcessPool), hung (TimeoutError), or sent nothing back
            with self._lock:
                self._give_up(exc)
            return {}
        raws = {item.uid: item.raw for item in batch.items}
        self.parsed += len(parsed)
        return {uid: replace(mail, raw=raws[uid]) if isinstance(mail, InboundMail) else mail
                for uid, mail in parsed.items()}

    def _give_up(self, exc: BaseException) -> None:
        if not self._broken:
            log.error("the parsing worker failed (%s: %s); parsing in-process from now on", type(exc).__name__,
                      first_line(exc) or "no detail")
        self._broken = True
        pool, self._pool = self._pool, None
        if pool is not None:
            _end(pool, 0.0)


def parse_batch(raws: list[tuple[int, bytes]], limits: ParseLimits) -> Parsed:
    """In the worker: every message parsed, sent back without its raw bytes (the intake holds them already)."""
    parsed: Parsed = {}
    for uid, raw in raws:
        mail = parse_or_reason(raw, limits)
        parsed[uid] = replace(mail, raw=b"") if isinstance(mail, InboundMail) else mail
    return parsed


def _worker_started(log_format: str, log_level: str) -> None:
    """The daemon decides when the worker ends (`close`): Ctrl-C or systemd's SIGTERM to the whole group must not
    kill it under a batch, and SIGHUP is the daemon's. A daemon killed outright (SIGKILL, the OOM killer) cannot
    end it, and its task pipe never closes (the worker holds both ends), so it watches for its parent's death. Its
    log lines look like the daemon's."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    logs.setup(log_format, log_level)
    threading.Thread(target=_exit_with, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this process within a second of `parent`'s death (the worker is then someone else's child)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(0)


def _end(pool: ProcessPoolExecutor, wait: float) -> None:
    """Shut the pool down without blocking on a hung worker: after `wait` seconds its process is killed (it ignores
    SIGTERM). A worker whose daemon died outright exits on its own when its task pipe closes."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # CPython's own, read before shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(wait)
        if process.is_alive():
            process.kill()
            process.join(1.0)
