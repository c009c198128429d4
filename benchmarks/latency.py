"""Acknowledgement latency: from IMAP APPEND to the acknowledgement arriving at the SMTP server, with the daemon
running (`mailbot run`, IDLE where the server offers it) on a private Dovecot and an aiosmtpd receiver.

    .venv/bin/python benchmarks/latency.py [--mails 50] [--rate 0] [--poll-interval 60] [--postgres URL]

--rate 0 appends the mails one by one, each after the previous acknowledgement arrived; --rate N appends a
steady stream of N mails/s. Prints p50, p95 and max in a markdown table. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402
from mailbot.servers.dovecot import PrivateDovecot  # noqa: E402
from mailbot.servers.ports import free_port  # noqa: E402

PASSWORD = "bench-password"


class Arrivals:
    """aiosmtpd handler: when each acknowledgement arrived, by the Message-ID it answers."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        answered = str(message.get("In-Reply-To", ""))
        if "[CS" in str(message.get("Subject", "")) and answered:
            with self.changed:
                self.at.setdefault(answered, time.monotonic())
                self.changed.notify_all()
        return "250 OK"

    def wait_for(self, message_id: str, timeout: float) -> float | None:
        with self.changed:
            self.changed.wait_for(lambda: message_id in self.at, timeout)
            return self.at.get(message_id)


def customer_mail(n: int, run: str) -> tuple[str, bytes]:
    message = EmailMessage()
    message_id = f"<lat-{run}-{n}@example.org>"
    message["From"] = f"Cliente {n} <cliente{n}-{run}@example.org>"
    message["To"] = "mesadeayuda@example.com"
    message["Subject"] = f"Solicitud {n}: el token no firma"
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 23 Nov 2026 09:15:00 -0500"
    message.set_content("Buenos días,\n\nEl token no aparece en Adobe Reader.\n")
    return message_id, message.as_bytes()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0.0, help="mails per second; 0 = one by one")
    parser.add_argument("--poll-interval", type=float, default=60.0)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of SQLite (an empty database)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="mailbot-latency-"))
    root.chmod(0o711)  # Dovecot's mail user must reach its store under it
    run = uuid.uuid4().hex[:8]
    arrivals = Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with PrivateDovecot(root / "dovecot", password=PASSWORD) as dovecot:
        user = f"latency-{run}"
        db_url = args.postgres or f"sqlite:///{root / 'mailbot.db'}"
        config = write_loopback_config(
            root / "mailbot.toml", db_url=db_url, imap_port=dovecot.port, imap_password=PASSWORD,
            smtp_port=smtp.port, daemon={"poll_interval": args.poll_interval},
            queues=[LoopbackQueue("mesadeayuda", "mesadeayuda@example.com", "Mesa de ayuda", user)])
        mailbot = [sys.executable, "-m", "mailbot", "--config", str(config)]
        subprocess.run([*mailbot, "db", "upgrade"], check=True, capture_output=True)
        daemon = subprocess.Popen([*mailbot, *(["-v"] if os.environ.get("LATENCY_DEBUG") else []), "run"], stderr=open(root / "daemon.log", "w"))
        client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False)
        client.login(user, PASSWORD)
        try:
            time.sleep(2.0)  # the daemon connects, drains the empty inbox and enters IDLE
            latencies: list[float] = []
            lost = 0
            sent: list[tuple[str, float]] = []
            for n in range(args.mails):
                message_id, raw = customer_mail(n, run)
                client.append("INBOX", raw)
                appended = time.monotonic()
                if args.rate:
                    sent.append((message_id, appended))
                    time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - appended)))
                    continue
                arrived = arrivals.wait_for(message_id, timeout=args.poll_interval + 30)
                if arrived is None:
                    lost += 1
                else:
                    latencies.append(arrived - appended)
            for message_id, appended in sent:
                arrived = arrivals.wait_for(message_id, timeout=60)
                if arrived is None:
                    lost += 1
                else:
                    latencies.append(arrived - appended)
        finally:
            client.logout()
            daemon.terminate()
            daemon.wait(60)
            smtp.stop()
    mode = f"steady {args.rate:g}/s" if args.rate else "one by one"
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nAPPEND → acknowledgement at the SMTP server, {args.mails} mails {mode}, {database}, "
          f"poll_interval {args.poll_interval:g} s, {os.cpu_count()} cores\n")
    print("| p50 (ms) | p95 (ms) | max (ms) | mean (ms) | not acknowledged |")
    print("|---:|---:|---:|---:|---:|")
    if latencies:
        ms = [v * 1000 for v in latencies]
        print(f"| {percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} | {max(ms):.0f} | {statistics.mean(ms):.0f} "
              f"| {lost} |")
    else:
        print(f"| – | – | – | – | {lost} |")
    print(f"\ndaemon log: {root / 'daemon.log'}")


if __name__ == "__main__":
    main()
