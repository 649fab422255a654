"""sync runs: the worker process that claimed each one, so a process whose database went away mid-run takes its own
runs up again when it returns

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 21:40:00.000000
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_runs') as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_runs') as batch_op:
        batch_op.drop_column('claimed_by')
