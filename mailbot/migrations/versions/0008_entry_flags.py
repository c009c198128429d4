"""entries keep the sender flags a mail carried; a reset password is kept beside the current one until used

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_password_hash', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('reset_sent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('reset_sent_at')
        batch_op.drop_column('reset_password_hash')
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_column('flags')
