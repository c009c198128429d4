"""`mailbot doctor`: check the installation, one OK/FAIL row per check; exit 1 when any fails."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from ..config import Config
from ..doctor import DEFAULT_TIMEOUT, Check, run_checks
from .output import EXIT_FAILURE, EXIT_OK, print_json

EXAMPLE = """\
examples:
  mailbot --config /etc/mailbot/mailbot.toml doctor

  CHECK              RESULT  DETAIL
  config             OK      /etc/mailbot/mailbot.toml: 2 queue(s)
  database           OK      sqlite:////var/lib/mailbot/mailbot.db: schema at revision 0001
  imap mesadeayuda   FAIL    mesadeayuda@imap.example.com:993: login refused: [AUTHENTICATIONFAILED] …
  …

exit status: 0 every check passed, 1 one or more failed, 2 the configuration is wrong (nothing was checked)."""


def register(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the configuration, database, mailboxes, SMTP server, templates and storage",
        description="Check everything `mailbot run` needs, changing nothing: the configuration, the database and\n"
                    "its schema, each queue's IMAP login and folders (and whether IDLE and MOVE are offered), the\n"
                    "SMTP connection and login, the templates, and the storage (writable, free space).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--json", action="store_true",
                        help='machine-readable output: [{"name", "ok", "detail"}, …]')
    doctor.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"how long to wait for each server (default: {DEFAULT_TIMEOUT:g})")
    doctor.set_defaults(handler=cmd_doctor)


def cmd_doctor(config: Config, args: argparse.Namespace) -> int:
    checks = run_checks(config, timeout=args.timeout)
    if args.json:
        print_json([asdict(check) for check in checks])
    else:
        print_report(checks)
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILURE


def print_report(checks: list[Check]) -> None:
    """A table whose last column is never cut: the detail is what the reader acts on."""
    width = max(len("CHECK"), *(len(check.name) for check in checks))
    print(f"{'CHECK':<{width}}  RESULT  DETAIL")
    for check in checks:
        print(f"{check.name:<{width}}  {'OK' if check.ok else 'FAIL':<6}  {check.detail}")
