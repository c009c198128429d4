"""portal: sessions, rate-limit attempts, new-request fields

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('portal_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('contact_id', ID, nullable=False),
    sa.Column('password_stamp', sa.String(length=64), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_portal_session_contact_id_contact')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_session'))
    )
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_session_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_session_expires_at'), ['expires_at'], unique=False)

    op.create_table('portal_throttle',
    sa.Column('id', ID, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_throttle'))
    )
    with op.batch_alter_table('portal_throttle', schema=None) as batch_op:
        batch_op.create_index('ix_portal_throttle_key_at', ['key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_throttle_at'), ['at'], unique=False)

    op.create_table('case_request',
    sa.Column('case_id', ID, nullable=False),
    sa.Column('product', sa.Text(), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.Column('contact_hours', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_request_case_id_case')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_request'))
    )


def downgrade() -> None:
    op.drop_table('case_request')
    with op.batch_alter_table('portal_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_throttle_at'))
        batch_op.drop_index('ix_portal_throttle_key_at')
    op.drop_table('portal_throttle')
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_session_expires_at'))
        batch_op.drop_index(batch_op.f('ix_portal_session_contact_id'))
    op.drop_table('portal_session')
