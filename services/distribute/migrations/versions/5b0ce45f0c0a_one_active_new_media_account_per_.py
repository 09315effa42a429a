"""one active new-media account per platform and unit, unless an exception is recorded

Revision ID: 5b0ce45f0c0a
Revises: 754120b18012
Create Date: 2026-12-02 13:38:55.986170
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0ce45f0c0a"
down_revision: str | None = "754120b18012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ONE_ACTIVE = "status = 'active' AND exception_reason = ''"


def upgrade() -> None:
    with op.batch_alter_table("channel_account", schema=None) as batch_op:
        batch_op.create_index(
            "uq_channel_account_one_active",
            ["platform", "unit"],
            unique=True,
            sqlite_where=sa.text(ONE_ACTIVE),
            postgresql_where=sa.text(ONE_ACTIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_account", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_channel_account_one_active",
            sqlite_where=sa.text(ONE_ACTIVE),
            postgresql_where=sa.text(ONE_ACTIVE),
        )
