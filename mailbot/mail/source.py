"""The contract between a place mail comes from and the ledger: what is fetched, and where it goes after."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Fetched:
    """One message as the source saw it: its UID and bytes, or why they were not taken (`error`: the server
    could not give them, or the message is over the size limit and was left unread).

    `size` is what the server says the message weighs (None when unknown); `head` is the first bytes of its
    From, Subject, Date and Message-ID fields, so a message that was not read can still be described."""

    uid: int
    raw: bytes
    error: str | None = None
    size: int | None = None
    head: bytes = b""


@dataclass(frozen=True)
class Batch:
    uidvalidity: int
    items: list[Fetched]


class SourceUnavailable(Exception):
    """The mailbox cannot be reached or used now; str() says which one and why. Nothing was moved."""


class MailSource(Protocol):
    """A place mail comes from. `key` names it in the receipt ledger.

    Its owner opens it once and keeps it open for many rounds::

        with ImapSource(queue.imap, key) as source:
            while not stop.is_set():
                for batch in source.batches(size):
                    ...                                   # commit the receipts, then
                    source.settle(processed, quarantined)
                if isinstance(source, WaitsForMail) and source.can_idle:
                    source.wait_for_mail(timeout, stop)
                else:
                    stop.wait(poll_interval)

    Every round's `batches()` sees the mail that arrived since the round before. Any failure to reach or use
    the mailbox raises `SourceUnavailable` with one line saying which mailbox and why; the owner then closes the
    source and opens a new one later (backing off), and nothing has been moved out of the inbox uncommitted.
    """

    key: str
    uidvalidity: int

    def batches(self, size: int) -> Iterator[Batch]:
        """Every message waiting, oldest first, `size` at a time, or fewer where their bytes would pass the
        source's budget for one batch."""
        ...

    def settle(self, processed: list[int], quarantined: list[int]) -> dict[int, int]:
        """Move messages out of the inbox, once what became of them is committed. Returns where each
        quarantined message now is in the quarantine folder (inbox UID → folder UID), as far as the source
        knows: an admin fetches it from there (`mailbot quarantine`)."""
        ...


@runtime_checkable
class WaitsForMail(Protocol):
    """Optional: a source that can be told when mail arrives (IMAP IDLE, RFC 2177). A source without it, or
    whose `can_idle` is False, is polled every poll_interval."""

    can_idle: bool

    def wait_for_mail(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Block until mail may be waiting (True), or until `timeout` seconds pass or `stop` is set (False).

        Call it after draining `batches()`: mail that arrived since the last `batches()` began makes it return
        True at once, so nothing that came in between is left waiting for the next wake-up. It leaves the source
        ready for `batches()`. `stop` is looked at least every half second. When the server turns out not to
        offer the wait, `can_idle` becomes False and the call just sleeps `timeout` (or until `stop`)."""
        ...
