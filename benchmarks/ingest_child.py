"""One ingest measure of benchmarks/ingest.py, in a process of its own so that its peak RSS is the ingest's alone.

    python benchmarks/ingest_child.py CONFIG

Runs the intake of every configured mailbox (fetch, parse, classify, thread, commit, MOVE; nothing is sent) until
no mailbox has mail waiting, then prints one JSON line: mails taken, their outcomes, seconds in the loop and
seconds before it (imports, configuration, opening the database). There is no CLI command for intake alone.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import collections  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from mailbot import logs  # noqa: E402
from mailbot.app import App  # noqa: E402
from mailbot.config import load_config  # noqa: E402
from mailbot.runners.intake import IntakeRunner  # noqa: E402


def main(path: str) -> None:
    config = load_config(path)
    logs.setup(config.logging.format, config.logging.level)  # as `mailbot run` logs: its cost is part of ingest
    app = App.open(config)
    try:
        start = time.perf_counter()
        outcomes: collections.Counter[str] = collections.Counter()
        while taken := [v for queue in config.queues for v in IntakeRunner(app, queue).once()]:
            outcomes.update(v.outcome.value for v in taken)
        loop = time.perf_counter() - start
    finally:
        app.close()
    print(json.dumps({"mails": sum(outcomes.values()), "outcomes": dict(outcomes), "loop_secs": loop,
                      "start_secs": start - STARTED}))


if __name__ == "__main__":
    main(sys.argv[1])
