"""/metrics and /healthz over real HTTP, after real runs on Dovecot, aiosmtpd, SQLite and PostgreSQL.

The runners report through the documented calls (`metrics.mail_ingested`, `poll_succeeded`, `send_failed`, …);
these tests make those calls as a run would, so they hold whether or not a runner is wired yet."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailbot import metrics, store
from mailbot.config import Config
from mailbot.metrics import MetricsError, MetricsServer
from mailbot.servers.ports import free_port
from tests.conftest import Desk
from tests.integration.test_first_path import FIRST, mail
from tests.databases import sqlite_only


def configure(desk: Desk, poll_interval: float = 60, outbox_stuck_after: float = 1800) -> Config:
    """Turn the desk's metrics server on, on a free port."""
    text = desk.config_path.read_text().replace("[daemon]\n", f"[daemon]\npoll_interval = {poll_interval}\n")
    desk.config_path.write_text(f'{text}\n[metrics]\nlisten = "127.0.0.1:{free_port()}"\n'
                                f"outbox_stuck_after = {outbox_stuck_after}\n")
    return desk.config


@contextmanager
def serving(config: Config) -> Iterator[MetricsServer]:
    engine = store.make_engine(config.database_url, writer=False)
    try:
        with MetricsServer(config, engine) as server:
            yield server
    finally:
        engine.dispose()


def get(server: MetricsServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://{server.host}:{server.port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(name: str, **labels: str) -> float:
    """A counter's value in mailbot's registry now (0 before its first use)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_scrape_after_runs_shows_their_counts(desk: Desk) -> None:
    config = configure(desk)
    new_cases = value("mailbot_mails_ingested_total", queue="mesadeayuda", outcome="new_case")
    permanent = value("mailbot_send_failures_total", kind="permanent")
    desk.deliver(FIRST)
    desk.deliver(mail("<second-1@example.org>", "No llega el correo", sender="luis@example.org"))
    desk.sink.reject_with("550 5.1.1 <luis@example.org>: user unknown")
    first = desk.run_once()
    desk.sink.reject_with(None)
    desk.deliver(mail("<third-1@example.org>", "Otra consulta", sender="ana@example.net"))
    desk.sink.reject_sender_with("421 4.3.2 try again later")
    second = desk.run_once()
    assert len(first.verdicts) + len(second.verdicts) == 3 and first.outbox.dead == 4  # counted by the runners
    metrics.poll_succeeded("mesadeayuda", "idle")  # as the daemon's runner reports a mailbox waiting in IDLE
    metrics.poll_succeeded("clavesegura", "poll")
    metrics.batch_ingested("mesadeayuda", 0.03)

    with serving(config) as server:
        status, body = get(server, "/metrics")

    assert status == 200
    found = samples(body)
    assert found[("mailbot_database_up", frozenset())] == 1
    assert found[("mailbot_outbox_messages", frozenset({("status", "dead")}))] == 4  # two customers × two mails
    assert found[("mailbot_outbox_messages", frozenset({("status", "pending")}))] == 2  # the server took none
    assert found[("mailbot_outbox_oldest_due_age_seconds", frozenset())] >= 0
    assert found[("mailbot_mails_ingested_total",
                  frozenset({("queue", "mesadeayuda"), ("outcome", "new_case")}))] == new_cases + 3
    assert found[("mailbot_send_failures_total", frozenset({("kind", "permanent")}))] == permanent + 4
    assert found[("mailbot_mailbox_idle", frozenset({("queue", "mesadeayuda")}))] == 1
    assert found[("mailbot_mailbox_idle", frozenset({("queue", "clavesegura")}))] == 0
    assert time.time() - found[("mailbot_mailbox_last_poll_timestamp_seconds",
                                frozenset({("queue", "clavesegura")}))] < 60
    assert found[("mailbot_ingest_batch_seconds_count", frozenset({("queue", "mesadeayuda")}))] >= 1


@sqlite_only
def test_healthz_goes_red_when_a_mailbox_stops_being_polled(desk: Desk) -> None:
    config = configure(desk, poll_interval=0.2)  # stale after 3 × 0.2 s

    with serving(config) as server:
        assert get(server, "/healthz") == (200, '{"status": "ok"}\n')
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # both runners polling, each every 0.1 s
            metrics.poll_succeeded("mesadeayuda", "poll")
            metrics.poll_succeeded("clavesegura", "poll")
            time.sleep(0.1)
        assert get(server, "/healthz")[0] == 200
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:  # clavesegura's runner hangs
            metrics.poll_succeeded("mesadeayuda", "poll")
            time.sleep(0.1)
        status, body = get(server, "/healthz")

    assert status == 503
    assert json.loads(body)["status"] == "fail"
    assert json.loads(body)["reason"].startswith("mailbox clavesegura not polled: ")
    assert "mesadeayuda" not in body


@sqlite_only
def test_healthz_goes_red_when_the_outbox_is_stuck(desk: Desk) -> None:
    config = configure(desk, outbox_stuck_after=1)
    desk.deliver(FIRST)
    desk.sink.reject_sender_with("421 4.3.2 try again later")  # the server takes nothing: replies stay due
    desk.run_once()

    with serving(config) as server:
        metrics.poll_succeeded("mesadeayuda", "poll")
        metrics.poll_succeeded("clavesegura", "poll")
        time.sleep(1.2)
        status, body = get(server, "/healthz")

    assert status == 503
    assert json.loads(body)["reason"].startswith("outbox: a reply has been due for ")


@sqlite_only
def test_an_unknown_path_is_not_found_and_a_busy_port_is_a_clear_error(desk: Desk) -> None:
    config = configure(desk)

    with serving(config) as server:
        assert get(server, "/admin")[0] == 404
        with pytest.raises(MetricsError, match=rf"\[metrics\] listen 127.0.0.1:{server.port}: cannot listen: "):
            with serving(config):
                pass
