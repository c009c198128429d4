"""the automatic-mail rate limit counts per mailbox (outbox.mailbox), not per spelling of an address

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

The new column replaces the recipient in the rate limit's index, so a row costs the same to write. Rows of the
last day (the limit's window) get their recipient as mailbox: enqueue stored it lower-cased, which is the mailbox
itself unless it carried a +tag, quotes or a root dot; older rows are never counted again and stay empty.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailbox', sa.String(length=320), nullable=True))
        batch_op.drop_index('ix_outbox_recipient_created_at')
        batch_op.create_index('ix_outbox_mailbox_created_at', ['mailbox', 'created_at'], unique=False)
    outbox = sa.table('outbox', sa.column('mailbox', sa.String()), sa.column('recipient', sa.String()),
                      sa.column('created_at', sa.DateTime(timezone=True)))
    since = datetime.now(timezone.utc) - timedelta(days=1)
    op.execute(outbox.update().where(outbox.c.created_at >= since).values(mailbox=outbox.c.recipient))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mailbox_created_at')
        batch_op.create_index('ix_outbox_recipient_created_at', ['recipient', 'created_at'], unique=False)
        batch_op.drop_column('mailbox')
