"""The `mailbot` command: one module per command group, each registering its subcommands here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.exc import SQLAlchemyError

from .. import logs
from ..config import Config, ConfigError, load_config
from ..errors import first_line
from ..locks import LockError
from ..metrics import MetricsError
from ..store import SchemaError
from . import accounts, cases, db, doctor, escalate, outbox, portal, quarantine, run, templates
from .output import EXIT_FAILURE, EXIT_USAGE, UserError

log = logging.getLogger("mailbot")
# Each registers its subcommands; a new command group is a module and a line here.
COMMANDS = (run, cases, outbox, quarantine, escalate, templates, accounts, db, doctor, portal)
# Commands that read secrets (passwords, the signing key); the others work without them in the environment.
NEEDS_SECRETS = {run.cmd_run, doctor.cmd_doctor, portal.cmd_portal, quarantine.cmd_show, quarantine.cmd_retry,
                 quarantine.cmd_delete}
EPILOG = """\
examples:
  mailbot --config /etc/mailbot/mailbot.toml doctor
  mailbot --config /etc/mailbot/mailbot.toml run
  MAILBOT_CONFIG=/etc/mailbot/mailbot.toml mailbot cases list

--config and -v may also follow the command: mailbot cases list --config mailbot.toml
`mailbot COMMAND --help` describes each command.

exit status: 0 success; 1 an expected failure, printed as one line (a mailbox that cannot be reached in
`run --once` or a mail a template kept from being sent, an unknown case, a schema that is behind, a second `run`
on one SQLite database, a failed `doctor` check, a metrics port in use); 2 a configuration or usage error."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, secrets=args.handler in NEEDS_SECRETS)
    except ConfigError as exc:
        print(f"mailbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.setup(config.logging.format, "debug" if args.verbose else config.logging.level, secrets=_secrets(config))
    for warning in config.warnings:
        log.warning("%s", warning)
    try:
        result: int = args.handler(config, args)
        return result
    except ConfigError as exc:
        print(f"mailbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UserError, SchemaError, LockError, MetricsError) as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except SQLAlchemyError as exc:
        print(f"mailbot: database error: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        # `mailbot cases list | head`: the reader left; say nothing more (Python's documented recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _secrets(config: Config) -> list[str]:
    """Every secret the configuration read, so that no log line shows one."""
    found = [queue.imap.password for queue in config.queues] + [config.smtp.password or "", config.desk.secret or ""]
    return [secret for secret in found if secret]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", description="Help-desk mail gateway.", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mailbot {_version()}")
    _common_options(parser, top=True)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    for command in _commands(parser):
        _common_options(command, top=False)
    return parser


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """--config and -v, before the command (`top`) and after it; after it their default is SUPPRESS, so that an
    option left out there keeps the value given before the command."""
    parser.add_argument("--config", default=None if top else argparse.SUPPRESS,
                        help="configuration file (default: $MAILBOT_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="debug logging for this command")


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser below `parser`, at any depth (`cases`, `cases list`, …)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                found += [command, *_commands(command)]
    return found


def _version() -> str:
    try:
        return version("mailbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "UserError", "main"]
