"""decision outcomes: whether a decision is the category's predefined outcome, and how it departs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:05:00.000000

``decisions.bespoke`` is false for a decision inside its category's predefined outcome, true for one that departs
from it and null where there is no standard to compare with (a denial, a category without an outcome, decisions
recorded before outcomes existed); ``decisions.departures`` lists how a bespoke decision departs.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bespoke', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('departures', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('departures')
        batch_op.drop_column('bespoke')
