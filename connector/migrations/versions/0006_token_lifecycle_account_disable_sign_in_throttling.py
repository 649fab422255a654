"""token expiry and revocation, account disable, sign-in throttling

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:25:32.659005

Existing tokens keep working: they get the role and committee roles their principal holds now, and no expiry
(``expires_at`` NULL) — revoke them (``tokens revoke``) and issue new ones to give them one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_key', sa.String(length=64), nullable=True),
    sa.Column('address_key', sa.String(length=64), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_address_key'), ['address_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_failed_at'), ['failed_at'], unique=False)

    op.create_table('sign_in_locks',
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_sign_in_locks'))
    )

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('committee_roles', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=200), nullable=True))
    # a token's roles are those its principal holds when this runs; then they are fixed
    op.execute("UPDATE api_tokens SET "
               "role = (SELECT principals.role FROM principals WHERE principals.id = api_tokens.principal_id), "
               "committee_roles = (SELECT principals.committee_roles FROM principals "
               "WHERE principals.id = api_tokens.principal_id)")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('committee_roles', existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table('user_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('user_accounts', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('committee_roles')
        batch_op.drop_column('role')

    op.drop_table('sign_in_locks')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_failed_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_email_key'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_address_key'))

    op.drop_table('sign_in_failures')
