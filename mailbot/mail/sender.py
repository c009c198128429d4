"""Decide who sent a mail: the From mailbox that mail clients and DMARC see, flagged when the header may deceive."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.errors import ObsoleteHeaderDefect
from email.policy import default
from enum import StrEnum

from .addresses import addr_spec, has_encoded_word, mailboxes
from .charsets import clean, decode_words
from .sanitize import one_line

__all__ = ["EncodedWordInAddress", "FromFlag", "Sender", "read_sender"]

# RFC 5322 §2.1.1 line limit: a longer From is not a mailbox anyone types, and the stdlib's address parser
# is quadratic in its length, so it is not asked to look for defects in one.
_MAX_CHECKED = 998
# Started only where a run of address characters starts: tried inside a long run, it rescanned the rest of the run
# from every character (a 64 kB name took 12 s). The matches are the same: a match never starts mid-run.
_ADDRESS_LIKE = re.compile(r"(?<![^\s@<>()\"',;])[^\s@<>()\"',;]+@[^\s@<>()\"',;]+")


class FromFlag(StrEnum):
    """Why agents should look twice at who a mail claims to come from."""

    SEVERAL_FROM = "several-from"  # RFC 5322 §3.6.2: several authors; only the first is the contact
    FROM_DEFECTS = "from-defects"  # the header does not parse cleanly; clients may show another sender
    NAME_LOOKS_LIKE_ADDRESS = "name-looks-like-address"  # "victim@bank.example.com" <evil@example.net>


@dataclass(frozen=True)
class Sender:
    """The From mailbox: `addr` is None when there is no usable one; `name` is "" when it imitates an address."""

    addr: str | None
    name: str
    flags: tuple[FromFlag, ...]


class EncodedWordInAddress(ValueError):
    """A From address carries an RFC 2047 encoded word: no server will deliver a reply to it."""


def read_sender(values: Sequence[str], max_name: int) -> Sender:
    """The first mailbox of the From header fields `values` (unfolded, 8-bit bytes decoded), with flags.

    Raises EncodedWordInAddress for "=?utf-8?q?…?=@example.net" (RFC 2047 §5 allows encoded words in names
    only): the stdlib would decode it into an address nobody wrote."""
    boxes = [box for value in values for box in mailboxes(value)]
    if any(has_encoded_word(box.addr) for box in boxes):
        raise EncodedWordInAddress("the From address contains an RFC 2047 encoded word, which RFC 2047 §5 "
                                   "allows only in display names")
    usable = [(addr, box.name) for box in boxes if (addr := addr_spec(box.addr))]
    flags: set[FromFlag] = set()
    if len(values) > 1 or len(boxes) > 1:
        flags.add(FromFlag.SEVERAL_FROM)
    if len(usable) < len(boxes) or any(_has_defects(value) for value in values):
        flags.add(FromFlag.FROM_DEFECTS)
    addr, written = usable[0] if usable else (None, "")
    name = clean(decode_words(written))
    imitated = [found.lower().rstrip(".") for found in _ADDRESS_LIKE.findall(unicodedata.normalize("NFKC", name))]
    if any(found != addr for found in imitated):
        flags.add(FromFlag.NAME_LOOKS_LIKE_ADDRESS)
    # An address is never a name, and never the account: "victim@bank.example.com" is not who wrote.
    name = "" if imitated else one_line(name, max_name)
    return Sender(addr, name, tuple(flag for flag in FromFlag if flag in flags))

def _has_defects(value: str) -> bool:
    """True when the stdlib's RFC 5322 parser finds more than obsolete syntax (such as "Juan A. Pérez")."""
    if len(value) > _MAX_CHECKED:
        return True
    try:
        header = default.header_factory("from", value)
    except Exception:  # RecursionError on deeply nested comments, IndexError on some hostile lists
        return True
    return any(not isinstance(defect, ObsoleteHeaderDefect) for defect in header.defects)
