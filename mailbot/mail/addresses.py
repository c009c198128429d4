"""Read RFC 5322 address lists the way mail clients do, in one linear pass that can stop early."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

__all__ = ["MAX_ADDRESS", "Mailbox", "addr_spec", "address_list", "delivery_mailbox", "has_encoded_word", "mailboxes",
           "unquoted"]

MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3: a longer path cannot be delivered to, so it is nobody's address
# Ordinary text, an escaped character (RFC 5322 §3.2.1 quoted-pair) or one special.
_TOKEN = re.compile(r'[^"\\(),:;<>]+|\\.|.', re.DOTALL)
_ATOM = r'[^\s"(),:;<>@\[\\\]\x00-\x1f\x7f]+'  # dots allowed anywhere: real senders write "juan.@…"
_ADDR_SPEC = re.compile(rf'(?:{_ATOM}|"(?:[^"\\\r\n]|\\.)*")@(?:{_ATOM}|\[[^\[\]\\\s]*\])')
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bq]\?[^?\s]*\?=", re.IGNORECASE)  # RFC 2047 §2
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)  # RFC 5322 §3.2.1


@dataclass(frozen=True)
class Mailbox:
    """One mailbox as written: `name` without quotes or comments (encoded words still encoded), `addr` the
    addr-spec without whitespace or comments outside quotes ("" when there is none)."""

    name: str
    addr: str


class _Reader:
    """State of one pass over an address list: inside a comment, a quoted string or an angle-addr."""

    def __init__(self) -> None:
        self.comment_depth = 0
        self.in_quote = self.in_angle = self.saw_angle = False
        self.phrase: list[str] = []  # what a client shows as the name: text outside <…>, unquoted
        self.bare: list[str] = []  # the same text as written, the addr-spec of a mailbox without <…>
        self.angle: list[str] = []  # the addr-spec inside <…>, whitespace outside quotes dropped

    def text(self, text: str, quoted: bool) -> None:
        """Text of the mailbox in hand; inside <…> only a quoted string keeps its whitespace."""
        if self.in_angle:
            self.angle.append(text if quoted else "".join(text.split()))
        else:
            self.phrase.append(text)
            self.bare.append(text)

    def mark(self, token: str) -> None:
        """A quote or quoted-pair: part of an addr-spec as written, never of the name a client shows."""
        (self.angle if self.in_angle else self.bare).append(token)
        if token.startswith("\\") and not self.in_angle:
            self.phrase.append(token[1:])

    def mailbox(self) -> Mailbox | None:
        """The mailbox read so far (then forget it), or None when it was empty."""
        if self.saw_angle:
            addr = "".join(self.angle)
            if addr.startswith("@"):  # RFC 5322 §4.4 obs-route "@relay.example.net:juan@example.org"
                addr = addr.rpartition(":")[2]
            found = Mailbox(" ".join("".join(self.phrase).split()), addr)
        else:
            found = Mailbox("", "".join(self.bare).strip())
        self.phrase, self.bare, self.angle, self.saw_angle = [], [], [], False
        return found if found.name or found.addr else None


def mailboxes(value: str) -> Iterator[Mailbox]:
    """Each mailbox of an unfolded address-list header, lazily, in order; group names are dropped.

    Unlike the stdlib, an unquoted name is whatever precedes the angle-addr, as clients and DMARC read it:
    "victim@bank.example.com <evil@example.net>" is Mailbox("victim@bank.example.com", "evil@example.net")."""
    reader = _Reader()
    for match in _TOKEN.finditer(value):
        token = match.group()
        if reader.comment_depth:  # RFC 5322 §3.2.2: comments nest and are no part of any value
            reader.comment_depth += {"(": 1, ")": -1}.get(token, 0)
        elif reader.in_quote:
            if token == '"' or token.startswith("\\"):
                reader.in_quote = token != '"'
                reader.mark(token)
            else:
                reader.text(token, quoted=True)
        elif token == '"':
            reader.in_quote = True
            reader.mark(token)
        elif token == "(":
            reader.comment_depth = 1
        elif token == "<":  # a second "<" starts over: the last angle-addr wins
            reader.in_angle = reader.saw_angle = True
            reader.angle = []
        elif token == ">" and reader.in_angle:
            reader.in_angle = False
        elif token in ",;" and not reader.in_angle:
            if (found := reader.mailbox()) is not None:
                yield found
        elif token == ":" and not reader.in_angle:  # RFC 5322 §3.4 group "display-name:" is no mailbox
            reader.phrase, reader.bare = [], []
        else:
            reader.text(token, quoted=False)
    if (found := reader.mailbox()) is not None:
        yield found


def has_encoded_word(addr: str) -> bool:
    """True when an addr-spec carries an RFC 2047 encoded word, which §5 allows only in names and text."""
    return _ENCODED_WORD.search(addr) is not None


def addr_spec(addr: str) -> str | None:
    """The lower-cased address when `addr` is a deliverable-looking addr-spec, else None."""
    if len(addr) > MAX_ADDRESS or has_encoded_word(addr) or not _ADDR_SPEC.fullmatch(addr):
        return None
    return addr.lower()


def address_list(values: Iterable[str], limit: int) -> tuple[str, ...]:
    """The first `limit` usable addresses of one or more address-list headers (To, Cc), reading no further."""
    found = (addr for value in values for box in mailboxes(value) if (addr := addr_spec(box.addr)))
    return tuple(islice(found, limit))


def delivery_mailbox(address: str) -> str:
    """One spelling for the addresses a mail server delivers to the same mailbox, to count what the desk sends
    there: lower case, the local part unquoted and without its "+tag" (RFC 5233 sub-addressing), the domain
    without its root dot and in the A-labels DNS resolves. '"Ana"@example.org', "ana+1@example.org",
    "ana@example.org." and "ana@ｅxample.org" are "ana@example.org".
    Provider-specific rules (dots at gmail.com, "-" tags) are not guessed."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return domain
    local = unquoted(local)
    untagged = local.partition("+")[0]
    return f"{untagged or local}@{_dns_name(domain.rstrip('.'))}"


def unquoted(local: str) -> str:
    """A quoted local part as its content ('"juan perez"' → 'juan perez', quoted pairs undone); any other as is."""
    if len(local) > 1 and local.startswith('"') and local.endswith('"'):
        return _QUOTED_PAIR.sub(r"\1", local[1:-1])
    return local


def _dns_name(domain: str) -> str:
    """The name DNS resolves for `domain`: IDNA-mapped to A-labels (full-width letters, the ideographic full stop
    and a U-label all become the one ASCII name a relay looks up); the domain as given when it is no valid IDN."""
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain
