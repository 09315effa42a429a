"""versions keep their fan-out selectors

Revision ID: 0457f4b39a37
Revises: 2e4deea09e4d
Create Date: 2026-12-03 06:30:45.196544
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0457f4b39a37"
down_revision: str | None = "2e4deea09e4d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # rows written before fan out nowhere
    with op.batch_alter_table("content_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanout", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("content_version", schema=None) as batch_op:
        batch_op.drop_column("fanout")
