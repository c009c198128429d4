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
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from ..errors import first_line
from ..mail.parse import InboundMail, ParseLimits, parse_or_reason
from ..mail.source import Batch

log = logging.getLogger(__name__)
Parsed = dict[int, InboundMail | str]  # UID → the parsed mail, or why it cannot be parsed


class ParseAhead:
    """One worker process, started at the first backlog and kept until `close` (the daemon's life). Thread-safe:
    several mailboxes' intake runners share it; their batches queue for the one worker."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
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
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, batch: Batch, limits: ParseLimits) -> Future[Parsed] | None:
        raws = [(item.uid, item.raw) for item in batch.items if item.error is None]
        with self._lock:
            if self._broken or not raws:
                return None
            if self._pool is None:
                # spawn, not fork: the daemon has threads (and their locks) that a forked child would inherit mid-use.
                self._pool = ProcessPoolExecutor(1, multiprocessing.get_context("spawn"), initializer=_quiet)
            try:
                return self._pool.submit(parse_batch, raws, limits)
            except RuntimeError as exc:  # the pool broke earlier or is shut down
                self._give_up(exc)
                return None

    def _result(self, parsing: Future[Parsed] | None, batch: Batch) -> Parsed:
        if parsing is None:
            return {}
        try:
            parsed = parsing.result()
        except Exception as exc:  # the worker died (BrokenProcessPool) or could not send its result back
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
                      first_line(exc))
        self._broken = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def parse_batch(raws: list[tuple[int, bytes]], limits: ParseLimits) -> Parsed:
    """In the worker: every message parsed, sent back without its raw bytes (the intake holds them already)."""
    parsed: Parsed = {}
    for uid, raw in raws:
        mail = parse_or_reason(raw, limits)
        parsed[uid] = replace(mail, raw=b"") if isinstance(mail, InboundMail) else mail
    return parsed


def _quiet() -> None:
    """Ctrl-C in a terminal reaches the whole process group: the daemon finishes its batch, and the worker must
    not die under it meanwhile. The daemon's shutdown ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
