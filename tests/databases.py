"""Which database a test runs on.

The `db_url` fixture runs a test on SQLite and on PostgreSQL. That is kept where behaviour depends on the
database: locks, leases and concurrent writers, transactions and savepoints after a failure, schema checks,
what a column accepts. Tests of the desk's logic (threading, replies, commands, templates, CLI output) would only
repeat themselves there, so they take `sqlite_only`.
"""

from __future__ import annotations

import pytest

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
