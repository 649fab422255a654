"""push governance: replayed signatures, push rate windows, pending pushes by record

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:30:00.000000

``push_signatures`` remembers each signed push (a digest of its signature) until it could no longer be accepted,
so a replay is a duplicate; ``push_windows`` counts each connection's pushes per minute for the rate limit (shared
by every web worker); the index on ``inbound_events (connection_id, external_id)`` lets the worker fetch the
pending pushes about one record together and find when it last fetched that record.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('push_signatures',
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                            name=op.f('fk_push_signatures_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', 'digest', name=op.f('pk_push_signatures'))
    )
    with op.batch_alter_table('push_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_signatures_expires_at'), ['expires_at'], unique=False)

    op.create_table('push_windows',
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                            name=op.f('fk_push_windows_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', 'minute', name=op.f('pk_push_windows'))
    )

    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_events_connection_record', ['connection_id', 'external_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_connection_record')
    with op.batch_alter_table('push_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_signatures_expires_at'))
    op.drop_table('push_windows')
    op.drop_table('push_signatures')
