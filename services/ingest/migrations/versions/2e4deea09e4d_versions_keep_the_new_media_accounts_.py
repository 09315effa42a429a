"""versions keep the new-media accounts their submission named

Revision ID: 2e4deea09e4d
Revises: d9d0f64d7ef7
Create Date: 2026-12-02 13:26:37.033546
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2e4deea09e4d"
down_revision: str | None = "d9d0f64d7ef7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # rows written before hold no accounts
    with op.batch_alter_table("content_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accounts", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("content_version", schema=None) as batch_op:
        batch_op.drop_column("accounts")
