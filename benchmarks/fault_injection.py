"""Fault injection: `mailbot run` SIGKILLed at seeded random moments and restarted until done; prints every invariant.

    .venv/bin/python benchmarks/fault_injection.py [--mails 1000] [--kills 20] [--seed 1] [--postgres URL]

Two mailboxes on one private Dovecot, an SMTP sink in this process, SQLite (or a fresh PostgreSQL schema).
Phase 1 delivers first mails of new customers to either mailbox and mails addressed to both (one copy in each inbox,
one case); phase 2, once those cases exist, replies by In-Reply-To and by the case number in the subject. In each
phase the daemon is killed with SIGKILL after a seeded random 0.2-2.5 s, restarted at once, and left to finish once
the phase's kills are spent. Exit status 1 if an invariant fails; the duplicate window (issue 14) is counted.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot import store  # noqa: E402
from mailbot.desk.models import Case, Entry, Outbox, OutboxStatus, Receipt  # noqa: E402
from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402
from mailbot.servers.dovecot import PrivateDovecot  # noqa: E402
from mailbot.servers.smtp_capture import SmtpCapture  # noqa: E402

PASSWORD = "bench-password"
QUEUES = {"mesadeayuda": "mesadeayuda@example.com", "clavesegura": "soporte.clavesegura@example.com"}


def message(n: int, sender: str, to: str, subject: str, in_reply_to: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Cliente {sender} <{sender}@example.org>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = "Mon, 23 Nov 2026 09:15:00 -0500"
    mail["Message-ID"] = f"<fault-{n}@example.org>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    mail.set_content(f"Mensaje {n}.\n")
    return mail.as_bytes()


class Run:
    """One desk on loopback, its daemon process, and what was delivered to each mailbox."""

    def __init__(self, root: Path, db_url: str, seed: int) -> None:
        self.dovecot = PrivateDovecot(root / "dovecot", password=PASSWORD).start()
        self.smtp = SmtpCapture().start()
        tag = uuid.uuid4().hex[:8]
        self.users = {key: f"{key}-{tag}" for key in QUEUES}
        self.config = write_loopback_config(
            root / "mailbot.toml", db_url=db_url, imap_port=self.dovecot.port, imap_password=PASSWORD,
            smtp_port=self.smtp.port, smtp={"retry_base": 0, "timeout": 1},  # claims lease 10 s
            daemon={"poll_interval": 0.2, "batch_size": 20},
            queues=[LoopbackQueue(key, address, key, self.users[key]) for key, address in QUEUES.items()])
        self.db_url = db_url
        self.rng = random.Random(seed)
        self.delivered = collections.Counter[str]()
        self.kills = 0
        self.mailbot("db", "upgrade")

    def mailbot(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "mailbot", "--config", str(self.config), *args], check=True,
                       capture_output=True)

    def deliver(self, queue: str, mails: list[bytes]) -> None:
        with IMAPClient(self.dovecot.host, port=self.dovecot.port, ssl=False) as client:
            client.login(self.users[queue], PASSWORD)
            for raw in mails:
                client.append("INBOX", raw)
        self.delivered[queue] += len(mails)

    def daemon(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(self.config), "run"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def done(self) -> bool:
        with self.session() as session:
            receipts = session.scalar(select(func.count()).select_from(Receipt))
            pending = session.scalar(select(func.count()).select_from(Outbox)
                                     .where(Outbox.status == OutboxStatus.PENDING))
        return receipts == sum(self.delivered.values()) and pending == 0

    def phase(self, kills: int, timeout: float = 600) -> None:
        """Kill the daemon `kills` times at random moments, then let one run until everything is done."""
        process = self.daemon()
        for _ in range(kills):
            time.sleep(self.rng.uniform(0.2, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.kills += 1
            process = self.daemon()
        deadline = time.monotonic() + timeout
        while not self.done():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    def session(self) -> Session:
        return store.session_factory(store.make_engine(self.db_url))()

    def folder(self, queue: str, name: str) -> int:
        with IMAPClient(self.dovecot.host, port=self.dovecot.port, ssl=False) as client:
            client.login(self.users[queue], PASSWORD)
            if not client.folder_exists(name):
                return 0
            return int(client.select_folder(name, readonly=True)[b"EXISTS"])

    def close(self) -> None:
        self.smtp.stop()
        self.dovecot.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", help="a PostgreSQL URL; a schema of its own is made and dropped")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mailbot-fault-"))
    root.chmod(0o711)  # Dovecot's mail user walks down to its store
    db_url, schema = f"sqlite:///{root / 'mailbot.db'}", ""
    if args.postgres:
        schema = f"fault_{uuid.uuid4().hex[:8]}"
        with create_engine(args.postgres, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}options=-csearch_path%3D{schema}"
    run = Run(root, db_url, args.seed)
    try:
        return report(run, *inject(run, args.mails, args.kills))
    finally:
        run.close()
        shutil.rmtree(root, ignore_errors=True)
        if schema:
            with create_engine(args.postgres, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def inject(run: Run, count: int, kills: int) -> tuple[int, int]:
    """Deliver the mails in two phases under kills; (threads, replies) as delivered."""
    firsts, both = count * 2 // 5, count // 10
    replies = count - firsts - 2 * both
    queues = list(QUEUES)
    by_queue: dict[str, list[bytes]] = {q: [] for q in queues}
    for n in range(firsts):
        queue = queues[n % 2]
        by_queue[queue].append(message(n, f"c{n}", QUEUES[queue], f"Solicitud {n}"))
    for n in range(firsts, firsts + both):  # one mail to both desks: a copy in each inbox, one case
        raw = message(n, f"c{n}", ", ".join(QUEUES.values()), f"Solicitud {n}")
        for queue in queues:
            by_queue[queue].append(raw)
    for queue, mails in by_queue.items():
        run.rng.shuffle(mails)
        run.deliver(queue, mails)
    run.phase(kills // 2)

    with run.session() as session:
        numbers = {subject: number for subject, number in session.execute(select(Case.subject, Case.number))}
    by_queue = {q: [] for q in queues}
    for r in range(replies):
        n = r % firsts
        queue, sender = queues[n % 2], f"c{n}"
        nth = firsts + 2 * both + r
        if r % 2:  # by header
            raw = message(nth, sender, QUEUES[queue], f"RE: Solicitud {n}", f"<fault-{n}@example.org>")
        else:  # by number typed in the subject
            raw = message(nth, sender, QUEUES[queue], f"RE: [{numbers[f'Solicitud {n}']}] otra cosa")
        by_queue[queue].append(raw)
    for queue, mails in by_queue.items():
        run.deliver(queue, mails)
    run.phase(kills - kills // 2)
    return firsts + both, replies


def report(run: Run, threads: int, replies: int) -> int:
    with run.session() as session:
        per_uid = session.execute(select(Receipt.mailbox, Receipt.uid, func.count())
                                  .group_by(Receipt.mailbox, Receipt.uid)).all()
        receipts = collections.Counter(mailbox.split("/")[0] for mailbox, _, _ in per_uid)
        cases = session.scalar(select(func.count()).select_from(Case))
        inbound = session.scalar(select(func.count()).select_from(Entry).where(Entry.direction == "in"))
        statuses = collections.Counter(session.scalars(select(Outbox.status)))
    per_recipient = collections.Counter(rcpt for c in run.smtp.captured for rcpt in c.rcpt_tos)
    message_ids = collections.Counter(c.message["Message-ID"] for c in run.smtp.captured)
    rows = [
        ("SIGKILLs", run.kills, "as asked", True),
        ("one receipt per UID", max((n for *_, n in per_uid), default=0), "1", all(n == 1 for *_, n in per_uid)),
        *[(f"{q}: receipts / delivered", f"{receipts[q]} / {run.delivered[q]}", "equal",
           receipts[q] == run.delivered[q]) for q in QUEUES],
        *[(f"{q}: INBOX left", run.folder(q, "INBOX"), "0", run.folder(q, "INBOX") == 0) for q in QUEUES],
        *[(f"{q}: processed + quarantined", run.folder(q, "Procesados") + run.folder(q, "Cuarentena"),
           run.delivered[q], run.folder(q, "Procesados") + run.folder(q, "Cuarentena") == run.delivered[q])
          for q in QUEUES],
        ("cases (one per thread)", cases, threads, cases == threads),
        ("inbound entries (threads + replies)", inbound, threads + replies, inbound == threads + replies),
        ("outbox pending / dead", f"{statuses[OutboxStatus.PENDING]} / {statuses[OutboxStatus.DEAD]}", "0 / 0",
         statuses[OutboxStatus.PENDING] == statuses[OutboxStatus.DEAD] == 0),
        ("customers answered", len(per_recipient), threads, len(per_recipient) == threads),
        ("customers with < 2 mails (credentials + ack)", sum(n < 2 for n in per_recipient.values()), "0",
         all(n >= 2 for n in per_recipient.values())),
        ("duplicate window: extra mails", sum(n - 2 for n in per_recipient.values() if n > 2),
         f"<= {run.kills}", sum(n - 2 for n in per_recipient.values() if n > 2) <= run.kills),
        ("  of them an ack resent (same Message-ID)", sum(n - 1 for n in message_ids.values() if n > 1), "counted",
         True),
    ]
    print("| invariant | value | expected | ok |\n|---|---|---|---|")
    for name, value, expected, ok in rows:
        print(f"| {name} | {value} | {expected} | {'yes' if ok else 'NO'} |")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
