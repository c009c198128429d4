"""The satisfaction survey of a closed case: its answer by reply ("1".."5") or by a click on a signed link.

The closing mail carries one portal link per rating. Each holds a token that binds the case number and the rating
with an HMAC under a key of the survey's own, derived from the desk secret: the daemon that mails the links and
the portal that reads them share that secret through the database, and the raw secret (which also signs agents'
Message-IDs) never signs a text a visitor can choose. A token only rates its case with its rating; the first
answer stands (by reply or by click), so a forwarded or prefetched link changes nothing after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import object_session
from sqlalchemy.orm.attributes import set_committed_value

from .models import Case, EscalationKind, State, utcnow
from .settings import derived_key

RATINGS = range(1, 6)
PATH = "/survey/"  # where the portal serves the survey page: <portal base_url>/survey/<token>
_PURPOSE = b"mailbot satisfaction survey links"
# The survey's answer by mail: a reply whose first line is a number from 1 to 5 ("4", "5.", " 3 ").
_REPLY = re.compile(r"\s*([1-5])\s*[.!]?\s*")
# CS0000001.4.<43 characters of base64url HMAC-SHA256>; a case prefix is letters, a number digits.
_TOKEN = re.compile(r"(?P<number>[A-Za-z]{1,10}[0-9]{1,12})\.(?P<rating>[1-5])\.(?P<mac>[A-Za-z0-9_-]{43})")


def survey_key(desk_secret: bytes) -> bytes:
    """The key that signs survey links, derived from the desk secret (never the secret itself)."""
    return derived_key(desk_secret, _PURPOSE)


def token(key: bytes, number: str, rating: int) -> str:
    return f"{number}.{rating}.{_mac(key, number, rating)}"


def read_token(key: bytes, text: str) -> tuple[str, int] | None:
    """(case number, rating) of a token this desk signed; None for anything forged, altered or malformed."""
    match = _TOKEN.fullmatch(text)
    if match is None:
        return None
    number, rating = match["number"], int(match["rating"])
    if not hmac.compare_digest(_mac(key, number, rating), match["mac"]):
        return None
    return number, rating


def links(key: bytes, portal_url: str, number: str) -> list[dict[str, object]]:
    """The closing mail's links, one per rating (templates/README.md: `closing.survey_links`)."""
    return [{"rating": rating, "url": f"{portal_url}{PATH}{token(key, number, rating)}"} for rating in RATINGS]


def is_open(case: Case) -> bool:
    """Whether the case takes a rating now: closed by the pass for silence (the closing mail asked), not rated yet."""
    return (case.state is State.CLOSED and case.rating is None
            and any(row.kind is EscalationKind.AUTO_CLOSE for row in case.escalations))


def rate(case: Case, rating: int, now: datetime | None = None) -> bool:
    """Record `rating` as the case's answer if the survey is open; False (nothing changed) otherwise.

    The first answer stands even when a mail and a portal click arrive together: the UPDATE itself asks that no
    rating be there yet, so the one that commits second changes nothing (on PostgreSQL it waits for the first)."""
    if rating not in RATINGS or not is_open(case):
        return False
    session = object_session(case)
    assert session is not None, "a case being rated belongs to a session"
    at = now or utcnow()
    taken = session.execute(update(Case).where(Case.id == case.id, Case.rating.is_(None))
                            .values(rating=rating, rated_at=at).returning(Case.id)
                            .execution_options(synchronize_session=False)).first()
    if taken is None:
        return False
    set_committed_value(case, "rating", rating)
    set_committed_value(case, "rated_at", at)
    return True


def record_reply(case: Case, text: str, now: datetime | None = None) -> bool:
    """A reply to the closing mail whose first line is "1".."5": the case's rating. False for any other text."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    match = _REPLY.fullmatch(first)
    return match is not None and rate(case, int(match[1]), now)


def _mac(key: bytes, number: str, rating: int) -> str:
    digest = hmac.new(key, f"{number}|{rating}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
