"""One escalation pass over 10k, 100k (and 1M) cases, 1 % of them due; prints a markdown table.

    .venv/bin/python benchmarks/escalation.py [--million] [--postgres URL]

For each size a fresh database is filled (bulk inserts) with cases whose next escalation is spread over the next
months, 1 % of them due now at level 0 with one customer entry each, then:
  pass 1 %      one pass, as the daemon runs it every [escalation] interval: it takes at most cases_per_pass
                (default 100) due cases, the longest due first, and leaves the rest to the next passes (the
                fastest of three, the same cases made due again between them)
  drain 1 %     passes until no case is due: every due case is taken (none skipped or starved); ms/due is the
                time per due case, which must not grow with the table
  pass 100      100 cases made due again, and one more pass: the pass's cost apart from any backlog (the
                fastest of three)
"vs 10k" is the issue's ratio: that pass's time over the same pass's time on 10k cases (at most 2×).
The pass reads only due cases through the index on next_escalation_at, and each case's queries by its id.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot import store  # noqa: E402
from mailbot.config import Config, load_config  # noqa: E402
from mailbot.desk.escalation import PassReport, escalate_due  # noqa: E402
from mailbot.desk.models import Case, Contact, Direction, Entry, EntryKind, utcnow  # noqa: E402
from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402

CHUNK = 20_000
RUNS = 3
LADDER = """
[[escalation.levels]]
name = "Supervisor de soporte"
notify = ["supervisor@example.com"]
after = "2h"

[[escalation.levels]]
name = "Coordinador de soporte"
notify = ["coordinador@example.com"]
after = "4h"
"""


def configure(folder: Path, url: str) -> Config:
    path = write_loopback_config(folder / "mailbot.toml", db_url=url, imap_port=1, imap_password="unused",
                                 smtp_port=1, queues=[LoopbackQueue("mesadeayuda", "mesadeayuda@example.com",
                                                                    "Mesa de ayuda", "unused")])
    text_ = path.read_text().replace("hours_text = ", 'agents_group = "agentes@example.com"\nhours_text = ', 1)
    path.write_text(text_ + LADDER)
    return load_config(path)


def fill(config: Config, size: int) -> None:
    """`size` cases, every hundredth due now; the others fall due over the next 90 days."""
    engine = store.make_engine(config.database_url)
    store.upgrade(engine)
    sessions = store.session_factory(engine)
    now = utcnow()
    with sessions.begin() as session:
        contact = Contact(email="cliente@example.org", name="Cliente Ejemplo", account="example.org")
        session.add(contact)
        session.flush()
        contact_id = contact.id
    for start in range(0, size, CHUNK):
        rows = []
        for n in range(start, min(size, start + CHUNK)):
            due = n % 100 == 0
            at = now - timedelta(hours=1) if due else now + timedelta(minutes=1 + (n * 7919) % (90 * 24 * 60))
            rows.append({"number": f"CS{n + 1:07d}", "queue": "mesadeayuda", "subject": f"Solicitud {n}",
                         "contact_id": contact_id, "account": "example.org", "created_at": now - timedelta(days=1),
                         "updated_at": now, "escalation_level": 0, "next_escalation_at": at,
                         "waiting_since": now - timedelta(days=1), "escalation_due_at": at,
                         "resolution_due_at": now + timedelta(days=30)})
        with sessions.begin() as session:
            session.execute(insert(Case), rows)
    with sessions.begin() as session:
        due_ids = session.scalars(select(Case.id).where(Case.next_escalation_at <= now)).all()
        session.execute(insert(Entry), [{"case_id": i, "direction": Direction.IN, "kind": EntryKind.CUSTOMER,
                                         "author": "cliente@example.org", "text": "Sigue sin firmar.", "at": now}
                                        for i in due_ids])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text('ANALYZE "case"'))
    engine.dispose()


@dataclass(frozen=True)
class Spent:
    """Wall-clock seconds, and this process's CPU seconds (user + system: SQLite runs in the process). On a shared
    machine other processes stretch the wall clock, not the CPU time, so the CPU ratio is the one to trust there."""

    wall: float
    cpu: float

    @classmethod
    def since(cls, wall: float, cpu: float) -> Spent:
        return cls(time.perf_counter() - wall, time.process_time() - cpu)

    def per(self, count: int) -> Spent:
        return Spent(self.wall / max(count, 1), self.cpu / max(count, 1))

    def ratio(self, base: Spent) -> str:
        return f"{self.wall / base.wall:.2f}× / {self.cpu / base.cpu:.2f}×"


@dataclass
class Timings:
    taken: int  # cases the first pass took
    first: Spent
    drained: int  # cases all passes took until none was due
    passes: int
    drain: Spent
    hundred: Spent


def timed(run: Callable[[], object]) -> Spent:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Spent.since(wall, cpu)


def timed_passes(config: Config) -> Timings:
    """The first pass and the pass over 100 are each the fastest of RUNS (the same cases made due again between
    runs): other processes on the machine only ever add time. The drain runs once."""
    engine = store.make_engine(config.database_url)
    sessions = store.session_factory(engine)
    with sessions() as session:
        due = session.scalars(select(Case.id).where(Case.next_escalation_at <= utcnow())).all()
    taken: list[PassReport] = []
    first: list[Spent] = []
    for _ in range(RUNS):
        first.append(timed(lambda: taken.append(escalate_due(sessions, config, utcnow()))))
        make_due(sessions, due)
    drained: list[PassReport] = []
    drain = timed(lambda: _drain(sessions, config, drained))
    with sessions() as session:
        some = session.scalars(select(Case.id).order_by(Case.id).limit(100)).all()
    hundred: list[Spent] = []
    for _ in range(RUNS):
        make_due(sessions, some)
        hundred.append(timed(lambda: escalate_due(sessions, config, utcnow())))
    engine.dispose()
    return Timings(taken[0].levels, _fastest(first), sum(r.levels for r in drained), len(drained), drain,
                   _fastest(hundred))


def _drain(sessions: sessionmaker[Session], config: Config, reports: list[PassReport]) -> None:
    """Passes until no case is left due."""
    while not reports or reports[-1].more:
        reports.append(escalate_due(sessions, config, utcnow()))


def _fastest(runs: list[Spent]) -> Spent:
    return Spent(min(r.wall for r in runs), min(r.cpu for r in runs))


def make_due(sessions: sessionmaker[Session], ids: Sequence[int]) -> None:
    """These cases back at level 0, due an hour ago."""
    due = utcnow() - timedelta(hours=1)
    with sessions.begin() as session:
        for start in range(0, len(ids), CHUNK):
            session.execute(update(Case).where(Case.id.in_(ids[start:start + CHUNK]))
                            .values(next_escalation_at=due, escalation_due_at=due, escalation_level=0))


def database(folder: Path, postgres: str | None) -> tuple[str, tuple[Engine, str] | None]:
    """A fresh database URL, and what to drop afterwards (a PostgreSQL schema)."""
    if postgres is None:
        return f"sqlite:///{folder / 'bench.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres else "?"
    return f"{postgres}{separator}options=-csearch_path%3D{schema}", (admin, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--million", action="store_true", help="add the 1M size (filling it takes minutes)")
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL instead of SQLite")
    args = parser.parse_args()
    sizes = [10_000, 100_000] + ([1_000_000] if args.million else [])
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}\n")
    print("| cases | due | fill s | pass 1 %: cases, s (cpu s) | vs 10k | drain 1 %: passes, s | ms/due (cpu) "
          "| vs 10k | pass 100 s (cpu s) | vs 10k |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base: Timings | None = None
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="mailbot-bench-escalation-") as folder:
            url, drop = database(Path(folder), args.postgres)
            try:
                config = configure(Path(folder), url)
                started = time.perf_counter()
                fill(config, size)
                filled = time.perf_counter() - started
                run = timed_passes(config)
            finally:
                if drop is not None:
                    admin, schema = drop
                    with admin.connect() as connection:
                        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
        base = base or run
        per_due, base_per_due = run.drain.per(run.drained), base.drain.per(base.drained)
        print(f"| {size:,} | {run.drained:,} | {filled:.1f} | {run.taken:,}, {run.first.wall:.2f} ({run.first.cpu:.2f}) "
              f"| {run.first.ratio(base.first)} | {run.passes}, {run.drain.wall:.2f} | "
              f"{1000 * per_due.wall:.2f} ({1000 * per_due.cpu:.2f}) | {per_due.ratio(base_per_due)} | "
              f"{run.hundred.wall:.3f} ({run.hundred.cpu:.3f}) | {run.hundred.ratio(base.hundred)} |", flush=True)


if __name__ == "__main__":
    main()
