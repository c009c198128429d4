"""The contract between a place mail comes from and the ledger: what is fetched, and where it goes after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Fetched:
    """One message as the source saw it: its UID and bytes, or why the server could not give them."""

    uid: int
    raw: bytes
    error: str | None = None


@dataclass(frozen=True)
class Batch:
    uidvalidity: int
    items: list[Fetched]


class SourceUnavailable(Exception):
    """The mailbox cannot be reached or used now; str() says which one and why. Nothing was moved."""


class MailSource(Protocol):
    """A place mail comes from. `key` names it in the receipt ledger."""

    key: str
    uidvalidity: int

    def batches(self, size: int) -> Iterator[Batch]:
        """Every message waiting, oldest first, `size` at a time."""
        ...

    def settle(self, processed: list[int], quarantined: list[int]) -> None:
        """Move messages out of the inbox, once what became of them is committed."""
        ...
