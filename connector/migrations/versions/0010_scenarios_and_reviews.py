"""change-impact scenarios and periodic policy reviews

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:00:00.000000

``scenarios`` keeps each change-impact scenario (its typed document, its author and its last run's summary);
``policy_reviews`` keeps each periodic review of the policy: its period, the issuance-pattern report the worker
computed when it opened, its owners' findings and who closed it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scenarios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios'))
    )
    op.create_table('policy_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('owners', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_reviews'))
    )
    with op.batch_alter_table('policy_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_reviews_period_end'), ['period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_reviews_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('policy_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_reviews_status'))
        batch_op.drop_index(batch_op.f('ix_policy_reviews_period_end'))
    op.drop_table('policy_reviews')
    op.drop_table('scenarios')
