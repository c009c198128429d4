"""The `mailbot` command: one module per command group, each registering its subcommands here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from ..config import ConfigError, load_config
from ..errors import first_line
from ..locks import LockError
from ..store import SchemaError
from . import cases, db, outbox, portal, run
from .output import EXIT_FAILURE, EXIT_USAGE, UserError

log = logging.getLogger("mailbot")
# Each registers its subcommands; a new command group is a module and a line here.
COMMANDS = (run, cases, outbox, db, portal)
# Commands that read secrets (passwords, the signing key); the others work without them in the environment.
NEEDS_SECRETS = {run.cmd_run, portal.cmd_portal}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in ("alembic", "flufl.bounce", "apscheduler"):  # each logs routine steps at INFO
        logging.getLogger(chatty).setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        config = load_config(args.config, secrets=args.handler in NEEDS_SECRETS)
        for warning in config.warnings:
            log.warning("%s", warning)
        result: int = args.handler(config, args)
        return result
    except ConfigError as exc:
        print(f"mailbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UserError, SchemaError, LockError) as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except SQLAlchemyError as exc:
        print(f"mailbot: database error: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        # `mailbot cases list | head`: the reader left; say nothing more (Python's documented recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", description="Help-desk mail gateway.")
    parser.add_argument("--config", help="configuration file (default: $MAILBOT_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "UserError", "main"]
