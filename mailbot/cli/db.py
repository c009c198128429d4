"""`mailbot db upgrade`: create or migrate the schema (Alembic)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import store
from ..config import Config
from .output import EXIT_OK, examples


def register(commands: Any) -> None:
    db = commands.add_parser("db", help="database schema", **examples("mailbot db upgrade")).add_subparsers(
        required=True, metavar="ACTION")
    db.add_parser("upgrade", help="create or migrate the schema to this version (back up the database first)",
                  **examples("mailbot --config /etc/mailbot/mailbot.toml db upgrade")
                  ).set_defaults(handler=cmd_db_upgrade)

def cmd_db_upgrade(config: Config, args: argparse.Namespace) -> int:
    engine = store.make_engine(config.database_url)
    try:
        store.upgrade(engine)
        print(f"database schema at revision {store.current_revision(engine)}")
    finally:
        engine.dispose()
    return EXIT_OK
