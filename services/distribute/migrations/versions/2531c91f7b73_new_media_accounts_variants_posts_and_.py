"""new-media accounts, variants, posts and quotas; subscriber filters

Revision ID: 2531c91f7b73
Revises: 5c1d3e7a9b24
Create Date: 2026-12-02 13:19:03.117983

Columns added to existing tables get server defaults, so rows written before keep working:
no accounts named, no subscriber filters, no platform answer recorded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '2531c91f7b73'
down_revision: str | None = '5c1d3e7a9b24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_account',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('platform_account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('app_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sites', sa.JSON(), nullable=False),
    sa.Column('default_columns', sa.JSON(), nullable=False),
    sa.Column('credentials', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('safe_domain', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('exception_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('filing_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_account'))
    )
    with op.batch_alter_table('channel_account', schema=None) as batch_op:
        batch_op.create_index('ix_channel_account_unit', ['platform', 'unit', 'status'], unique=False)

    op.create_table('channel_post',
    sa.Column('delivery_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('variant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('marker', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('post_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('platform_post_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('last_response', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_channel_post'))
    )
    with op.batch_alter_table('channel_post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_post_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_post_marker'), ['marker'], unique=False)

    op.create_table('channel_quota',
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('window', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('limit_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'window', name=op.f('pk_channel_quota'))
    )
    op.create_table('channel_variant',
    sa.Column('content_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('variant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('content_id', 'version', 'platform', name=op.f('pk_channel_variant'))
    )
    with op.batch_alter_table('change_feed', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('columns', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('content_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accounts', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_delivery_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('columns', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('kinds', sa.JSON(), nullable=False, server_default='[]'))



def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_column('kinds')
        batch_op.drop_column('columns')

    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_column('response')

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_account_id'))
        batch_op.drop_column('account_id')

    with op.batch_alter_table('content_snapshot', schema=None) as batch_op:
        batch_op.drop_column('accounts')

    with op.batch_alter_table('change_feed', schema=None) as batch_op:
        batch_op.drop_column('columns')
        batch_op.drop_column('kind')

    op.drop_table('channel_variant')
    op.drop_table('channel_quota')
    with op.batch_alter_table('channel_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_post_marker'))
        batch_op.drop_index(batch_op.f('ix_channel_post_account_id'))

    op.drop_table('channel_post')
    with op.batch_alter_table('channel_account', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_account_unit')

    op.drop_table('channel_account')
