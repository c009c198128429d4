"""escalation: the SLA clock's columns on case, and the escalation history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOCK_COLUMNS = ('first_response_due_at', 'waiting_since', 'escalation_due_at', 'resolution_due_at',
                 'resolution_breached_at', 'held_since', 'reminded_at', 'rated_at')


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        for name in CLOCK_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_left', sa.Interval(), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
    op.create_table('escalation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('level', 'resolution_breach', 'reminder', 'auto_close', name='escalationkind',
                              native_enum=False, length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('notified', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_escalation_case_id_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation'))
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_case_id'))
    op.drop_table('escalation')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('rating')
        batch_op.drop_column('resolution_left')
        for name in reversed(CLOCK_COLUMNS):
            batch_op.drop_column(name)
