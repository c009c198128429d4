"""processed mail is unique by (Message-ID, fingerprint): race-safe dedup across daemons

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCESSED = sa.text("outcome IN ('new_case', 'follow_up', 'ignored')")


def upgrade() -> None:
    op.create_index('uq_receipt_processed_identity', 'receipt',
                    [sa.text("coalesce(message_id, '')"), 'fingerprint'], unique=True,
                    sqlite_where=PROCESSED, postgresql_where=PROCESSED)


def downgrade() -> None:
    op.drop_index('uq_receipt_processed_identity', table_name='receipt')
