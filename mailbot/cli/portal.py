"""`mailbot portal`: serve the customer portal ([portal] listen) until stopped."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from .output import EXIT_OK, examples


def register(commands: Any) -> None:
    portal = commands.add_parser("portal", help="serve the customer portal",
                                 description="Serve the customer portal on [portal] listen until SIGTERM or Ctrl-C.",
                                 **examples("mailbot --config /etc/mailbot/mailbot.toml portal"))
    portal.set_defaults(handler=cmd_portal)


def cmd_portal(config: Config, args: argparse.Namespace) -> int:
    # The web stack is loaded by this command only, so the daemon and the other commands start without it.
    from ..portal.server import serve

    serve(config)
    return EXIT_OK
