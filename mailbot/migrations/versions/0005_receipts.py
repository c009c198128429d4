"""receipts describe quarantined mail: sender, subject, date, size, quarantine folder UID, deletion

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ('sender', sa.Text()),
    ('subject', sa.Text()),
    ('date', sa.String(64)),
    ('size', sa.BigInteger()),
    ('folder_uid', sa.BigInteger()),
    ('deleted_at', sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table('receipt') as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('receipt') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
