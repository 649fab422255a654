"""sync runs: each sync's state and progress (examined of total), for the web's queued "Sync now" and its bar

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:40:00.000000

A run the web queues waits as ``queued`` until a worker claims it; every sync (web, API, CLI, schedule) updates
its row with each committed page, which is what the connections page's progress bar and ETA read.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('examined', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                            name=op.f('fk_sync_runs_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    op.create_index('ix_sync_runs_state', 'sync_runs', ['state'], unique=False)
    op.create_index('ix_sync_runs_connection_id', 'sync_runs', ['connection_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_sync_runs_connection_id', table_name='sync_runs')
    op.drop_index('ix_sync_runs_state', table_name='sync_runs')
    op.drop_table('sync_runs')
