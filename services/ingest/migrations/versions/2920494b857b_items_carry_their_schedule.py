"""items carry their schedule (定时发布, embargo, 到期下线) and its revision

Revision ID: 2920494b857b
Revises: 0457f4b39a37
Create Date: 2026-12-03 06:29:41.220124
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2920494b857b"
down_revision: str | None = "0457f4b39a37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # not a batch (table copy): other tables' foreign keys point at content_item
    op.add_column(
        "content_item", sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "content_item", sa.Column("embargo_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("content_item", sa.Column("expire_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "content_item",
        sa.Column("schedule_revision", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_content_item_expire_at", "content_item", ["expire_at"], unique=False)


def downgrade() -> None:
    # not a batch either (SQLite drops a column in place since 3.35)
    op.drop_index("ix_content_item_expire_at", table_name="content_item")
    for name in ("schedule_revision", "expire_at", "embargo_until", "publish_at"):
        op.drop_column("content_item", name)
