"""outbox rows are found by contact through an index: "credentials in flight?" never scans the pending backlog

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_contact_id', 'outbox', ['contact_id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_contact_id', table_name='outbox')
