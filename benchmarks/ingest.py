"""mailbot beside the single-core limit and django-helpdesk: one run, one machine, the same generated mailbox.

    .venv/bin/python benchmarks/ingest.py [--mails 1000] [--runs 3] [--backlog 100000] \\
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--peer-bench DIR]

It uses the project's peer benchmark (`../shared/peer-bench` beside the repository, or --peer-bench): its mail
generator (`gen_mails.generate_mails(n, seed)`), its fast loader (`load.py` writes the Maildir directly), its
private Dovecot and SMTP capture (`mailservers.py`) and its own django-helpdesk measure (`peer_bench.py`; the first
run builds its venv under /var/tmp/mailbot-peer-bench with pip, which takes minutes). Every measure starts from the
same freshly loaded INBOX and runs in a child process of its own: wall time is the child's whole life, peak RSS is
the child's (GNU time's %M). Measures are interleaved; each figure is the median of --runs.

  raw fetch           imapclient UID FETCH BODY.PEEK[] in batches of 200 (peer_bench's worker)
  fetch + parse       the same + email.message_from_bytes(policy=default), subject, From, text body: the limit
  mailbot ingest      benchmarks/ingest_child.py: every mailbox's intake until none has mail waiting (no sending)
  mailbot full cycle  `mailbot run --once`, repeated until the INBOX is empty and no outbox row is pending; every
                      acknowledgement and credentials mail goes to the capture SMTP server, a process of its own
  django-helpdesk     peer_bench's `manage.py get_email` runs until the INBOX is empty, mail to the same capture

Then the backlog table: mailbot's ingest (SQLite) of --backlog mails against the --mails figure of the first table.
The machine and the date are printed above the tables. Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.servers.desk_config import LoopbackQueue, write_loopback_config  # noqa: E402

CHILD = Path(__file__).resolve().parent / "ingest_child.py"
MAILBOT = [sys.executable, "-m", "mailbot"]
DESK_ADDRESS = "soporte@example.net"  # the generator's To: (peer_bench.DESK_ADDR): the queue must match it
MAX_PASSES = 5  # of `run --once` (and of get_email, in peer_bench): a desk that needs more is reported as such


@dataclass
class Sample:
    """One measure: the child's (or children's) whole wall time and peak RSS, and what it says about the work."""

    wall: float
    rss: float
    loop: float | None = None  # seconds in the child's own loop (start-up excluded), where the child reports it
    notes: list[str] = field(default_factory=list)


@dataclass
class Bench:
    peer: ModuleType
    gen: ModuleType
    load: ModuleType
    servers: ModuleType
    work: Path
    dovecot: Any
    postgres: str | None

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(ROOT))

    def fresh_dir(self, name: str) -> Path:
        folder = self.work / "runs" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def inbox_count(self) -> int:
        state: dict[str, tuple[int, int]] = self.peer.inbox_state(self.dovecot)
        return state.get("INBOX", (0, 0))[0]

    @contextlib.contextmanager
    def desk(self, name: str, backend: str, smtp_port: int = 9) -> Iterator[Path]:
        """A fresh mailbot desk (configuration, upgraded schema) on the bench mailbox; its config file."""
        folder = self.fresh_dir(name)
        schema = None
        if backend == "postgresql":
            assert self.postgres
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            postgres_ddl(self.postgres, f'CREATE SCHEMA "{schema}"')
            db_url = f"{self.postgres}?options=-csearch_path%3D{schema}"
        else:
            db_url = "sqlite:///mailbot.db"
        config = write_loopback_config(
            folder / "mailbot.toml", db_url=db_url, imap_port=self.dovecot.port, imap_password=self.peer.PASSWORD,
            smtp_port=smtp_port, queues=[LoopbackQueue("soporte", DESK_ADDRESS, "Soporte", self.peer.USER)])
        try:
            self.mailbot(config, "db", "upgrade")
            yield config
        finally:
            if schema:
                postgres_ddl(self.postgres or "", f'DROP SCHEMA "{schema}" CASCADE')

    def mailbot(self, config: Path, *args: str) -> str:
        done = subprocess.run([*MAILBOT, "--config", str(config), *args], env=self.env(), capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mailbot {' '.join(args)}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def child(self, cmd: list[str]) -> tuple[float, float, str]:
        wall, rss, out, code = self.peer.run_child(cmd, env=self.env())
        if code != 0:
            raise RuntimeError(f"{' '.join(cmd[-3:])} exited {code}: {out[-3000:]}")
        return wall, rss, out


def postgres_ddl(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


# ---------------------------------------------------------------------------------------------------------------
# Measures


def measure_fetch(b: Bench, mails: list[bytes], kind: str) -> Sample:
    r = b.peer.measure_fetch(b.dovecot, mails, kind, 200)
    return Sample(r["wall"], r["rss"], r["inner"], [f"{r['mbytes']:.1f} MiB"])


def measure_ingest(b: Bench, mails: list[bytes] | int, backend: str, seed: int = 0) -> Sample:
    """mailbot's intake alone; `mails` may be a count, generated and loaded in a throw-away process (a backlog of
    100,000 mails is over 1 GB of bytes: this process must not keep them)."""
    with b.desk(f"ingest-{backend}", backend) as config:
        if isinstance(mails, int):
            count = mails
            loader = multiprocessing.get_context("fork").Process(target=load_generated, args=(b, count, seed))
            loader.start()
            loader.join()
            if loader.exitcode != 0:
                raise RuntimeError(f"loading {count} generated mails failed")
        else:
            count = len(mails)
            b.load.load(b.dovecot, b.peer.USER, mails)
        wall, rss, out = b.child([sys.executable, str(CHILD), str(config)])
    r = json.loads(out.strip().splitlines()[-1])
    left = b.inbox_count()
    if r["mails"] != count or left:
        raise RuntimeError(f"mailbot ingest took {r['mails']} of {count} mails, {left} left in the INBOX")
    return Sample(wall, rss, r["loop_secs"], [outcomes(r["outcomes"])])


def load_generated(b: Bench, count: int, seed: int) -> None:
    b.load.load(b.dovecot, b.peer.USER, b.gen.generate(count, seed))


def measure_cycle(b: Bench, mails: list[bytes], backend: str) -> Sample:
    """`mailbot run --once` until the INBOX is empty and nothing is pending, every mail to the capture server."""
    b.load.load(b.dovecot, b.peer.USER, mails)
    sink = b.servers.SmtpSink(b.fresh_dir(f"sink-{backend}")).start()
    try:
        with b.desk(f"cycle-{backend}", backend, sink.port) as config:
            walls, peaks = [], []
            for _ in range(MAX_PASSES):
                wall, rss, _ = b.child([*MAILBOT, "--config", str(config), "run", "--once"])
                walls.append(wall)
                peaks.append(rss)
                rows = json.loads(b.mailbot(config, "outbox", "list", "--json"))
                status = collections.Counter(row["status"] for row in rows)
                if not b.inbox_count() and not status["pending"]:
                    break
            time.sleep(0.3)  # the capture server writes its last file after it answered 250
            received = sink.count()
    finally:
        sink.stop()
    kinds = collections.Counter(row["kind"] for row in rows if row["status"] == "sent")
    if b.inbox_count() or status["pending"] or received != status["sent"]:
        raise RuntimeError(f"mailbot full cycle after {len(walls)} passes: INBOX {b.inbox_count()}, outbox "
                           f"{dict(status)}, {received} mails at the SMTP server")
    notes = [f"{len(walls)} `run --once` pass(es)", f"{received} mails accepted by the SMTP server ("
             + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")"]
    notes += [f"{n} outbox rows {s}" for s, n in sorted(status.items()) if s != "sent"]
    return Sample(sum(walls), max(peaks), None, notes)


def measure_helpdesk(b: Bench, mails: list[bytes], meta: list[Any], site: Path, template: Path) -> Sample:
    r = b.peer.measure_helpdesk(b.dovecot, mails, site, template, b.fresh_dir("helpdesk"))
    left = r["state"].get("INBOX", (0, 0))[0]
    st = b.peer.helpdesk_db_stats(r["db"], meta)
    notes = [f"{len(r['runs'])} get_email run(s)", f"{st['tickets']} tickets, {st['followups']} follow-ups",
             f"{len(r['sent'])} mails accepted by the SMTP server"]
    if left:
        notes.append(f"**{left} mails left in the INBOX**")
    return Sample(r["wall"], r["rss"], None, notes)


def startup(b: Bench, site: Path, template: Path) -> str:
    """What a process costs before any mail: `run --once` and get_email on an empty INBOX (medians of 3)."""
    b.load.load(b.dovecot, b.peer.USER, [])
    with b.desk("startup", "sqlite") as config:
        mailbot = statistics.median(b.child([*MAILBOT, "--config", str(config), "run", "--once"])[0]
                                    for _ in range(3))
    helpdesk = b.peer.empty_inbox_get_email(b.dovecot, site, template, b.fresh_dir("helpdesk-empty"))
    return (f"Start-up on an empty INBOX (included in every row's wall time): mailbot `run --once` {mailbot:.2f} s, "
            f"django-helpdesk `get_email` {helpdesk:.2f} s.")


def outcomes(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------------------------------------------------
# Report


def machine(b: Bench) -> str:
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.split()[0]
    postgres = "not measured (no --postgres)"
    if b.postgres:
        from sqlalchemy import create_engine, text

        engine = create_engine(b.postgres)
        with engine.connect() as connection:
            postgres = str(connection.execute(text("SHOW server_version")).scalar())
        engine.dispose()
    helpdesk = next(p for p in b.peer.PINS if p.startswith("django-helpdesk"))
    return (f"Machine: {b.peer._cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres}, Dovecot {dovecot}, {helpdesk}; "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


def main_table(count: int, samples: dict[str, list[Sample]]) -> list[str]:
    limit = count / statistics.median(s.wall for s in samples["fetch + parse (the limit)"])
    lines = ["| measure | mails/s | share of fetch+parse | peak RSS (MB) | wall s, each run | notes |",
             "|---|---:|---:|---:|---|---|"]
    for label, runs in samples.items():
        wall = statistics.median(s.wall for s in runs)
        loops = [s.loop for s in runs if s.loop is not None]
        notes = ([f"in-loop {count / statistics.median(loops):.0f} mails/s"] if loops else []) + runs[0].notes
        lines.append(f"| {label} | {count / wall:.0f} | {count / wall / limit:.0%} | "
                     f"{statistics.median(s.rss for s in runs):.0f} | {', '.join(f'{s.wall:.2f}' for s in runs)} | "
                     f"{'; '.join(notes)} |")
    return lines


def backlog_table(small: int, small_runs: list[Sample], big: int, big_run: Sample) -> list[str]:
    wall = statistics.median(s.wall for s in small_runs)
    loop = statistics.median(s.loop or 0.0 for s in small_runs)
    pairs = [(small / wall, small / loop), (big / big_run.wall, big / (big_run.loop or 0.0))]
    rss = [statistics.median(s.rss for s in small_runs), big_run.rss]
    return [
        "| mailbot ingest, SQLite | mails/s | in-loop mails/s | peak RSS (MB) |",
        "|---|---:|---:|---:|",
        f"| {small:,} mails (median of {len(small_runs)}, the table above) | {pairs[0][0]:.0f} | {pairs[0][1]:.0f} | "
        f"{rss[0]:.0f} |",
        f"| {big:,} mails (one run) | {pairs[1][0]:.0f} | {pairs[1][1]:.0f} | {rss[1]:.0f} |",
        f"| ratio | {pairs[1][0] / pairs[0][0]:.2f} | {pairs[1][1] / pairs[0][1]:.2f} | {rss[1] / rss[0]:.2f} |",
    ]


# ---------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr meanwhile, for this process and the children it starts."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def import_peer(folder: Path) -> tuple[ModuleType, ...]:
    if not (folder / "peer_bench.py").is_file():
        print(f"ingest.py: the peer benchmark is absent: {folder} holds no peer_bench.py (pass --peer-bench DIR, "
              "the folder with peer_bench.py, gen_mails.py, load.py and mailservers.py)", file=sys.stderr)
        raise SystemExit(2)
    sys.path.insert(0, str(folder))
    return tuple(importlib.import_module(m) for m in ("peer_bench", "gen_mails", "load", "mailservers"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=1000, help="mails in the mailbox of the first table")
    parser.add_argument("--runs", type=int, default=3, help="runs of every measure of the first table (median)")
    parser.add_argument("--backlog", type=int, default=100_000, help="mails of the backlog table (0: none)")
    parser.add_argument("--seed", type=int, default=1, help="of the mail generator")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (a schema per measure, dropped)")
    parser.add_argument("--peer-bench", type=Path, default=ROOT.parent / "shared" / "peer-bench",
                        help="the peer benchmark's folder (default: ../shared/peer-bench beside the repository)")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/mailbot-bench"),
                        help="scratch folder; Dovecot's processes must be able to read it (not under a 0700 home)")
    args = parser.parse_args()
    peer, gen, load, servers = import_peer(args.peer_bench.resolve())
    peer.ensure_venv()  # django-helpdesk and friends, pinned; built once with pip (minutes)
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    work.chmod(0o755)
    dovecot = servers.Dovecot({peer.USER: peer.PASSWORD}, root=work / "dovecot").start()
    try:
        b = Bench(peer, gen, load, servers, work, dovecot, args.postgres)
        return run(b, args)
    finally:
        dovecot.stop()


def run(b: Bench, args: argparse.Namespace) -> int:
    meta = b.gen.generate_mails(args.mails, args.seed)
    mails = [m.raw for m in meta]
    site = b.work / "helpdesk-site"
    b.peer.write_site(site)
    with stdout_to_stderr():  # Django's shell announces its imports on stdout; stdout is for the tables
        template = b.peer.template_db(site, b.work, b.dovecot.port)
    header = [machine(b), startup(b, site, template)]
    backends = ["SQLite"] + (["PostgreSQL"] if args.postgres else [])
    measures: dict[str, Any] = {
        "raw fetch": lambda: measure_fetch(b, mails, "raw"),
        "fetch + parse (the limit)": lambda: measure_fetch(b, mails, "parse"),
    }
    for backend in backends:
        measures[f"mailbot ingest, {backend}"] = lambda k=backend.lower(): measure_ingest(b, mails, k)
        measures[f"mailbot full cycle, {backend}"] = lambda k=backend.lower(): measure_cycle(b, mails, k)
    measures["django-helpdesk 2.6.1 get_email (SQLite)"] = lambda: measure_helpdesk(b, mails, meta, site, template)
    samples: dict[str, list[Sample]] = {label: [] for label in measures}
    for n in range(args.runs):
        for label, measure in measures.items():
            sample = measure()
            samples[label].append(sample)
            print(f"run {n + 1}/{args.runs} {label}: {sample.wall:.2f} s, {sample.rss:.0f} MB", file=sys.stderr)
    out = [*header, "", f"{args.mails:,} generated mails (seed {args.seed}), median of {args.runs} run(s):", "",
           *main_table(args.mails, samples)]
    if args.backlog:
        print(f"backlog: generating and loading {args.backlog:,} mails", file=sys.stderr)
        big = measure_ingest(b, args.backlog, "sqlite", args.seed)
        print(f"backlog {args.backlog}: {big.wall:.2f} s, {big.rss:.0f} MB", file=sys.stderr)
        out += ["", f"Backlog: {args.mails:,} against {args.backlog:,} mails (targets: throughput within 20 %, "
                    "peak RSS < 200 MB):", "",
                *backlog_table(args.mails, samples["mailbot ingest, SQLite"], args.backlog, big)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
