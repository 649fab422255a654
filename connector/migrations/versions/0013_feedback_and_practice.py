"""feedback on decisions and practice attempts

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03 15:40:00.000000

``feedback`` holds what customers and channel partners say through the signed link in a decision's customer
summary; ``practice_attempts`` holds reviewers' practice decisions on anonymised past requests (never the
requests themselves).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_pk', sa.Integer(), nullable=False),
    sa.Column('decision_number', sa.Integer(), nullable=False),
    sa.Column('respondent', sa.String(length=20), nullable=False),
    sa.Column('clarity', sa.Integer(), nullable=False),
    sa.Column('needed', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_pk'], ['exception_requests.pk'],
                            name=op.f('fk_feedback_request_pk_exception_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_request_pk'), ['request_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_created_at'), ['created_at'], unique=False)

    op.create_table('practice_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('request_pk', sa.Integer(), nullable=False),
    sa.Column('vote', sa.String(length=20), nullable=False),
    sa.Column('vote_rationale', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('grants', sa.JSON(), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=True),
    sa.Column('real_outcome', sa.String(length=30), nullable=False),
    sa.Column('real_grants', sa.JSON(), nullable=False),
    sa.Column('real_duration_days', sa.Integer(), nullable=True),
    sa.Column('outcome_match', sa.Boolean(), nullable=False),
    sa.Column('closeness', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'],
                            name=op.f('fk_practice_attempts_principal_id_principals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_pk'], ['exception_requests.pk'],
                            name=op.f('fk_practice_attempts_request_pk_exception_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_attempts')),
    sa.UniqueConstraint('principal_id', 'request_pk', name=op.f('uq_practice_attempts_principal_id'))
    )
    with op.batch_alter_table('practice_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_attempts_principal_id'), ['principal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_attempts_request_pk'), ['request_pk'], unique=False)


def downgrade():
    with op.batch_alter_table('practice_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_attempts_request_pk'))
        batch_op.drop_index(batch_op.f('ix_practice_attempts_principal_id'))
    op.drop_table('practice_attempts')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_feedback_request_pk'))
    op.drop_table('feedback')
