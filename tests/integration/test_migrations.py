"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mailbot import store
from mailbot.desk.models import Base


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = store.make_engine(db_url)
    try:
        store.upgrade(engine)
        with engine.connect() as connection, warnings.catch_warnings():
            # SQLite cannot reflect expression indexes (the receipt identity index); alembic says so and skips it.
            warnings.simplefilter("ignore")
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
