"""The outbox drain alone: N queued mails sent to aiosmtpd's Sink in a process of its own; prints a markdown table.

    .venv/bin/python benchmarks/drain.py [--mails 1000] [--credentials 0.2] [--runs 3] [--postgres URL] [--profile]

Each run queues the same rows in a fresh database (one case per customer; a share of them first-time customers
whose credentials mail carries a new password, hashed with the keyed hash, the rest acknowledgements), then times one
`OutgoingRunner.drain()` until every row is sent. `--profile` prints cProfile's top functions of one extra drain.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot import store  # noqa: E402
from mailbot.config import Config, load_config  # noqa: E402
from mailbot.desk import cases  # noqa: E402
from mailbot.desk.accounts import get_or_create_contact  # noqa: E402
from mailbot.desk.models import MailKind  # noqa: E402
from mailbot.desk.outbox import ack_context, credentials_context, enqueue  # noqa: E402
from mailbot.runners.outgoing import OutgoingRunner  # noqa: E402
from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402
from mailbot.servers.ports import free_port, wait_for_port  # noqa: E402
from mailbot.templates import Templates  # noqa: E402


def queue_rows(config: Config, mails: int, credentials: float) -> None:
    """`mails` rows: every 1/credentials-th customer is new (credentials + ack), the others get an ack."""
    engine = store.make_engine(config.database_url)
    store.upgrade(engine)
    queue = config.queues[0]
    every = round(1 / credentials) if credentials else 0
    with store.session_factory(engine)() as session:
        n = queued = 0
        while queued < mails:
            contact, _ = get_or_create_contact(session, f"cliente{n}@example.org", f"Cliente {n}", "Ejemplo")
            case = cases.open_case(session, "CS", cases.NewCase(queue.key, f"Solicitud {n}", contact, "es"))
            session.flush()
            kinds = [(MailKind.ACK, ack_context(config, queue, case))]
            if every and n % every == 0 and queued + 2 <= mails:
                kinds.insert(0, (MailKind.CREDENTIALS, credentials_context(config, queue, contact, case)))
            for kind, context in kinds:
                row = enqueue(session, config, queue, kind, contact.email, context, case,
                              in_reply_to=f"<q{n}@example.org>", references=[f"<q{n}@example.org>"], automatic=False)
                row.contact_id = contact.id
                queued += 1
            n += 1
        session.commit()
    engine.dispose()


def fresh_postgres_schema(url: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def one_drain(root: Path, smtp_port: int, db_url: str | None, args: argparse.Namespace,
              profile: bool = False) -> float:
    work = root / uuid.uuid4().hex[:8]
    work.mkdir()
    path = write_loopback_config(
        work / "mailbot.toml", db_url=db_url or f"sqlite:///{work / 'mailbot.db'}", imap_port=1,
        imap_password="unused", smtp_port=smtp_port, smtp={"connections": args.connections} if args.connections else {},
        queues=[LoopbackQueue("mesadeayuda", "mesadeayuda@example.com", "Mesa de ayuda", "unused")],
    )
    config = load_config(path)
    queue_rows(config, args.mails, args.credentials)
    engine = store.make_engine(config.database_url)
    commits = [0]
    event.listen(engine, "commit", lambda _connection: commits.__setitem__(0, commits[0] + 1))
    runner = OutgoingRunner(config, store.session_factory(engine), Templates(config.templates_path))
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    report = runner.drain()
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert report.sent == args.mails, report
    print(f"{db_url or 'sqlite'}: {elapsed:.2f} s, {commits[0]} commits for {args.mails} mails", file=sys.stderr)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--credentials", type=float, default=0.2, help="share of customers who are new")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=0, help="[smtp] connections (default: the config's)")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    port = free_port("127.0.0.1")
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"])
    try:
        assert wait_for_port("127.0.0.1", port, 10), "aiosmtpd did not start"
        backends: list[tuple[str, str | None]] = [("sqlite", None)]
        if args.postgres:
            backends.append(("postgresql", args.postgres))
        with tempfile.TemporaryDirectory(prefix="mailbot-drain-") as tmp:
            root = Path(tmp)
            results: dict[str, list[float]] = {}
            for _ in range(args.runs):
                for name, url in backends:
                    db_url = fresh_postgres_schema(url) if url else None
                    results.setdefault(name, []).append(one_drain(root, port, db_url, args))
            print(f"\n{args.mails} mails ({args.credentials:.0%} of customers new: credentials + ack), "
                  f"median of {args.runs}, {time.strftime('%Y-%m-%d')}\n")
            print("| database | seconds | mails/s |")
            print("|---|---:|---:|")
            for name, times in results.items():
                median = statistics.median(times)
                print(f"| {name} | {median:.2f} | {args.mails / median:.0f} |")
            if args.profile:
                one_drain(root, port, None, args, profile=True)
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
