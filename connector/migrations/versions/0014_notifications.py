"""committee notifications: preferences per principal and per role, digest items, one digest per person per day

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:40:00.000000

``notification_preferences`` holds who is told what and how (webhook URLs encrypted, a Fernet token in a text
column); ``notification_items`` the events waiting for a person's daily digest; ``notification_digests`` one row per
person and UTC day (unique), which keeps the digest to one message a day whoever runs the job.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('webhooks', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'],
                            name=op.f('fk_notification_preferences_principal_id_principals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('principal_id', name=op.f('uq_notification_preferences_principal_id')),
    sa.UniqueConstraint('role', name=op.f('uq_notification_preferences_role'))
    )
    op.create_table('notification_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'],
                            name=op.f('fk_notification_digests_principal_id_principals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_digests')),
    sa.UniqueConstraint('principal_id', 'day', name=op.f('uq_notification_digests_principal_id'))
    )
    op.create_table('notification_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('request_pk', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('message', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'],
                            name=op.f('fk_notification_items_principal_id_principals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_pk'], ['exception_requests.pk'],
                            name=op.f('fk_notification_items_request_pk_exception_requests')),
    sa.ForeignKeyConstraint(['digest_id'], ['notification_digests.id'],
                            name=op.f('fk_notification_items_digest_id_notification_digests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_items'))
    )
    with op.batch_alter_table('notification_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_items_principal_id'), ['principal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_items_digest_id'), ['digest_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_items_digest_id'))
        batch_op.drop_index(batch_op.f('ix_notification_items_principal_id'))
    op.drop_table('notification_items')
    op.drop_table('notification_digests')
    op.drop_table('notification_preferences')
