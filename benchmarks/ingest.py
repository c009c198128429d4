"""Ingest throughput against the limit, measured in one run on one private Dovecot; prints a markdown table.

    .venv/bin/python benchmarks/ingest.py [--mails 1000] [--runs 3] [--postgres URL]

For each run, the same generated mailbox (20 % first-time customers, 80 % follow-ups by case number, a few
HTML-only mails and attachments) is appended to fresh IMAP users, then:
  limit     imapclient fetch in UID batches of 100 + email.message_from_bytes(policy=default), reading the
            address/threading headers and the text body: what any desk must do, with no storage at all
  ingest    mailbot's poll of that mailbox: fetch, parse, classify, thread, one transaction per batch, MOVE
  cycle     a full `run --once` cycle: ingest + sending every acknowledgement/credentials mail to aiosmtpd's
            Sink handler running in a process of its own
Figures are medians over the runs; the ratio column compares each to the limit of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email import message_from_bytes, policy
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.config import load_config  # noqa: E402
from mailbot.app import App  # noqa: E402
from mailbot.daemon import run_once  # noqa: E402
from mailbot.runners.intake import IntakeRunner  # noqa: E402
from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402
from mailbot.servers.dovecot import PrivateDovecot  # noqa: E402
from mailbot.servers.ports import free_port, wait_for_port  # noqa: E402

PASSWORD = "bench-password"
DESK_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References")


def generate(count: int) -> list[bytes]:
    mails = []
    customers = max(1, count // 5)
    for n in range(count):
        customer = n % customers
        message = EmailMessage()
        message["From"] = f"Cliente {customer} <cliente{customer}@example.org>"
        message["To"] = "mesadeayuda@example.com"
        message["Message-ID"] = f"<bench-{n}@example.org>"
        message["Date"] = "Mon, 23 Nov 2026 09:15:00 -0500"
        if n < customers:
            message["Subject"] = f"Solicitud {n}: el token no firma"
        else:
            message["Subject"] = f"RE: RV: [CS{customer + 1:07d}] Solicitud {customer}: el token no firma"
        body = f"Buenos días,\n\nMensaje {n} sobre el caso. Gracias por su atención.\n\nCliente {customer}\n"
        if n % 10 == 3:
            message.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
        else:
            message.set_content(body)
        if n % 25 == 7:
            message.add_attachment(b"%PDF-1.4 " + bytes(2000), maintype="application", subtype="pdf",
                                   filename="soporte.pdf")
        mails.append(message.as_bytes())
    return mails


def append(dovecot: PrivateDovecot, user: str, mails: list[bytes]) -> None:
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
        client.login(user, PASSWORD)
        for raw in mails:
            client.append("INBOX", raw)


def limit(dovecot: PrivateDovecot, user: str) -> float:
    start = time.perf_counter()
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
        client.login(user, PASSWORD)
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        for i in range(0, len(uids), 100):
            for data in client.fetch(uids[i : i + 100], ["BODY.PEEK[]"]).values():
                # What any desk must read of a mail: the threading and address headers and the text.
                message = message_from_bytes(data[b"BODY[]"], policy=policy.default)
                for name in DESK_HEADERS:
                    message.get(name)
                body = message.get_body(("plain", "html"))
                if body is not None:
                    body.get_content()
    return time.perf_counter() - start


@contextmanager
def sink_process() -> Iterator[int]:
    """aiosmtpd's Sink handler in its own process, so the server's work is not counted as mailbot's."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"])
    try:
        if not wait_for_port("127.0.0.1", port, 10):
            raise RuntimeError("the aiosmtpd sink did not start")
        yield port
    finally:
        server.terminate()
        server.wait()


def write_config(root: Path, user: str, dovecot: PrivateDovecot, smtp_port: int, db_url: str | None) -> Path:
    return write_loopback_config(
        root / "mailbot.toml", db_url=db_url or "sqlite:///mailbot.db", imap_port=dovecot.port,
        imap_password=PASSWORD, smtp_port=smtp_port, daemon={"batch_size": 100},
        queues=[LoopbackQueue("mesadeayuda", "mesadeayuda@example.com", "Mesa de ayuda", imap_user=user)],
    )


def fresh_postgres_schema(url: str) -> str:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{url}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (a schema per run is created)")
    args = parser.parse_args()
    mails = generate(args.mails)
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    results: dict[str, list[float]] = {}
    root = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    with PrivateDovecot(root, password=PASSWORD) as dovecot, sink_process() as smtp_port:
        import logging

        logging.basicConfig(level=logging.WARNING)
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        for run in range(args.runs):
            tag = uuid.uuid4().hex[:6]
            append(dovecot, f"limit-{tag}", mails)
            results.setdefault("limit: fetch + parse (stdlib)", []).append(limit(dovecot, f"limit-{tag}"))
            for backend in backends:
                for kind in ("ingest", "cycle"):
                    user = f"{kind}-{backend}-{tag}"
                    append(dovecot, user, mails)
                    work = root / user
                    work.mkdir()
                    db_url = fresh_postgres_schema(args.postgres) if backend == "postgresql" else None
                    config = load_config(write_config(work, user, dovecot, smtp_port, db_url))
                    if db_url:
                        from mailbot import store

                        store.upgrade(store.make_engine(config.database_url))
                    app = App.open(config)
                    start = time.perf_counter()
                    if kind == "ingest":
                        done = len(IntakeRunner(app, config.queues[0]).once())
                    else:
                        done = len(run_once(app).verdicts)
                    elapsed = time.perf_counter() - start
                    app.close()
                    assert done == len(mails), (kind, done)
                    label = ("ingest (fetch → commit → MOVE)" if kind == "ingest" else
                             "full cycle (+ send replies, argon2 per new customer)")
                    results.setdefault(f"{label}, {backend}", []).append(elapsed)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    base = statistics.median(next(iter(results.values())))
    print(f"\n{args.mails} mails (20 % first-time customers), median of {args.runs} runs, "
          f"{time.strftime('%Y-%m-%d')}\n")
    print("| step | seconds | mails/s | vs limit |")
    print("|---|---:|---:|---:|")
    for label, times in results.items():
        median = statistics.median(times)
        print(f"| {label} | {median:.2f} | {args.mails / median:.0f} | {base / median:.0%} |")


if __name__ == "__main__":
    main()
