"""worker heartbeats carry the worker's last error

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:30:00.000000

A worker no longer exits on an error: it logs it, counts it, retries with backoff and shows its last error on its
heartbeat row (``/metrics``: ``connector_worker_last_error_timestamp_seconds``).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('last_error_at')
        batch_op.drop_column('last_error')
