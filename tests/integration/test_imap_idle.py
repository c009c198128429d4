"""One IDLE on a real Dovecot, below the source: what comes with "+ idling" is seen, DONE leaves it usable."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from mailbot.mail.imap_idle import Idle, has_news, take_news
from mailbot.servers.dovecot import PrivateDovecot
from tests.conftest import IMAP_PASSWORD
from tests.integration.test_imap_source import WAKE_BOUND, deliver


@pytest.fixture
def client(dovecot: PrivateDovecot) -> Iterator[tuple[IMAPClient, str]]:
    user = f"idle-{uuid.uuid4().hex[:8]}"
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5) as imap:
        imap.login(user, IMAP_PASSWORD)
        imap.select_folder("INBOX")
        take_news(imap._imap)
        yield imap, user


def test_mail_reported_together_with_the_continuation_is_seen(
    dovecot: PrivateDovecot, client: tuple[IMAPClient, str]
) -> None:
    """Dovecot syncs when IDLE starts and sends "* 1 EXISTS" in the packet of "+ idling": imapclient's
    idle_check, which waits on the socket alone, sees it only at DONE (mjs/imapclient#321)."""
    imap, user = client
    deliver(dovecot, user, "Antes de IDLE")  # no command on this connection since: IDLE's own sync reports it
    started = time.monotonic()

    idle = Idle(imap._imap)
    idle.wait(until=started + 5)

    assert has_news(imap._imap) and time.monotonic() - started < WAKE_BOUND
    idle.done()
    assert take_news(imap._imap) is True and take_news(imap._imap) is False
    assert len(imap.search(["ALL"])) == 1  # out of IDLE, and the connection answers


def test_a_wait_without_news_returns_at_its_deadline_and_done_leaves_the_connection_usable(
    client: tuple[IMAPClient, str]
) -> None:
    imap, _ = client
    started = time.monotonic()

    idle = Idle(imap._imap)
    idle.wait(until=started + 0.5)
    idle.done()

    assert 0.5 <= time.monotonic() - started < 0.5 + WAKE_BOUND
    assert has_news(imap._imap) is False
    assert imap.search(["ALL"]) == []
