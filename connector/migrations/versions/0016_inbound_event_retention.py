"""inbound events: an index on received_at for the retention job, which deletes old processed and failed events

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:50:00.000000
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_inbound_events_received_at', 'inbound_events', ['received_at'], unique=False)


def downgrade():
    op.drop_index('ix_inbound_events_received_at', table_name='inbound_events')
