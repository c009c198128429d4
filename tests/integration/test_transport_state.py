"""The SMTP server's last error, kept for `outbox list`: written over and over (an upsert on both databases),
forgotten once a mail is accepted."""

from __future__ import annotations

from datetime import datetime, timezone

from mailbot import store
from mailbot.desk import transport_state


def test_the_last_error_is_replaced_then_forgotten_when_a_mail_goes(db_url: str) -> None:
    engine = store.make_engine(db_url)
    try:
        store.upgrade(engine)
        sessions = store.session_factory(engine)
        first, later = datetime(2026, 11, 24, 10, tzinfo=timezone.utc), datetime(2026, 11, 24, 11, tzinfo=timezone.utc)
        for error, at in (("Connect call failed", first), ("535 5.7.8 authentication failed", later)):
            with sessions.begin() as session:
                transport_state.remember(session, "smtp.example.com:587", error, sent=0, now=at)
        with sessions() as session:
            assert transport_state.last_error(session) == transport_state.ServerError(
                "smtp.example.com:587", "535 5.7.8 authentication failed", later)
        with sessions.begin() as session:
            transport_state.remember(session, "smtp.example.com:587", None, sent=0)  # nothing tried: kept
        with sessions() as session:
            assert transport_state.last_error(session) is not None
        with sessions.begin() as session:
            transport_state.remember(session, "smtp.example.com:587", None, sent=1)
        with sessions() as session:
            assert transport_state.last_error(session) is None
    finally:
        engine.dispose()
