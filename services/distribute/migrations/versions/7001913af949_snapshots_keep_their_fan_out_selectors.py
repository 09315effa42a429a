"""snapshots keep their fan-out selectors

Revision ID: 7001913af949
Revises: 11d4a10aa957
Create Date: 2026-12-03 06:31:12.126561
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "7001913af949"
down_revision: str | None = "11d4a10aa957"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # snapshots stored before fan out nowhere
    with op.batch_alter_table("content_snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanout", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("content_snapshot", schema=None) as batch_op:
        batch_op.drop_column("fanout")
