"""Peak memory of `mailbot run --once` over a mailbox of 25 mails of 30 MB among normal ones; prints a table.

    .venv/bin/python benchmarks/memory.py [--big 25] [--normal 100] [--big-mb 30]

The big mails are over the default 25 MB `max_message_size`: the intake runner reads their RFC822.SIZE and
quarantines them without downloading them, and fetches the rest a byte budget at a time. Before issue 14 the
same mailbox took 2.4 GB. The run is a process of its own; its peak RSS is the kernel's VmHWM for it (getrusage
would count the benchmark's own pages, copied by the fork before exec).
Target: under 300 MB, and every normal mail served (a case each, every acknowledgement sent).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot import store  # noqa: E402
from mailbot.desk.models import Case, Outcome, Receipt  # noqa: E402
from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402
from mailbot.servers.dovecot import PrivateDovecot  # noqa: E402
from mailbot.servers.smtp_capture import SmtpCapture  # noqa: E402

PASSWORD = "bench-password"
ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 300
# `mailbot run --once`, then its high-water mark of resident memory in kB on stderr's last line (Linux /proc).
RUN = ("import re, sys; from mailbot.cli import main; code = main(sys.argv[1:]); "
       "status = open('/proc/self/status').read(); "
       "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr); sys.exit(code)")


def normal(n: int) -> bytes:
    return (f"From: Cliente {n} <cliente{n}@example.org>\r\nTo: mesadeayuda@example.com\r\n"
            f"Subject: Solicitud {n}: el token no firma\r\nMessage-ID: <memory-{n}@example.org>\r\n"
            f"Date: Mon, 23 Nov 2026 09:15:00 -0500\r\n\r\nBuenos días, el token no firma.\r\n").encode()


def big(n: int, size: int) -> bytes:
    head = (f"From: Cliente grande <grande{n}@example.org>\r\nTo: mesadeayuda@example.com\r\n"
            f"Subject: Video del error {n}\r\nMessage-ID: <memory-big-{n}@example.org>\r\n\r\n").encode()
    line = b"x" * 76 + b"\r\n"
    return head + line * (size // len(line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=25)
    parser.add_argument("--normal", type=int, default=100)
    parser.add_argument("--big-mb", type=int, default=30)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mailbot-memory-"))
    root.chmod(0o711)  # Dovecot's mail user walks down to its store
    with PrivateDovecot(root / "dovecot", password=PASSWORD) as dovecot, SmtpCapture() as sink:
        user = "memory-bench"
        config = write_loopback_config(
            root / "mailbot.toml", db_url=f"sqlite:///{root / 'mailbot.db'}", imap_port=dovecot.port,
            imap_password=PASSWORD, smtp_port=sink.port,
            queues=[LoopbackQueue("mesadeayuda", "mesadeayuda@example.com", "Mesa de ayuda", user)])
        started = time.monotonic()
        with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
            client.login(user, PASSWORD)
            for n in range(max(args.big, args.normal)):  # interleaved: big mails sit between normal ones
                if n < args.big:
                    client.append("INBOX", big(n, args.big_mb * 2**20))
                if n < args.normal:
                    client.append("INBOX", normal(n))
        appended = time.monotonic() - started
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", RUN, "--config", str(config), "run", "--once"],
                              env=env, capture_output=True, text=True)
        took = time.monotonic() - started
        peak_mb = int(done.stderr.split()[-1]) / 1024
        engine = store.make_engine(f"sqlite:///{root / 'mailbot.db'}")
        with store.session_factory(engine)() as session:
            cases = session.scalar(select(func.count()).select_from(Case))
            set_aside = session.scalar(select(func.count()).select_from(Receipt)
                                       .where(Receipt.outcome == Outcome.QUARANTINE))
        engine.dispose()
        acks = len(sink.captured)
    served = done.returncode == 0 and cases == args.normal and acks >= args.normal and set_aside == args.big
    print(f"| mailbox | appended in | run --once | exit | peak RSS | cases | quarantined | mails sent |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.big} × {args.big_mb} MiB + {args.normal} normal | {appended:.1f} s | {took:.1f} s | "
          f"{done.returncode} | {peak_mb:.0f} MB (target < {TARGET_MB}) | {cases}/{args.normal} | "
          f"{set_aside}/{args.big} | {acks} |")
    print("every normal mail served" if served else "NOT every normal mail served:\n" + done.stderr[-3000:])
    subprocess.run(["rm", "-rf", str(root)], check=False)
    sys.exit(0 if served and peak_mb < TARGET_MB else 1)


if __name__ == "__main__":
    main()
