"""publication shows a coarse place

`publication.address` (district/street level, no house number) and `lat`/`long` rounded to two
decimals: what Open311 may show of a published case. Existing publications are backfilled from
their case on the same rule.

Revision ID: 5b2e8c41d7a3
Revises: 7e9d37948635
Create Date: 2026-12-02 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.personal_data import coarse_address

revision: str = "5b2e8c41d7a3"
down_revision: str | None = "7e9d37948635"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

publication = sa.table(
    "publication",
    sa.column("case_id", sa.String),
    sa.column("address", sa.String),
    sa.column("lat", sa.Float),
    sa.column("long", sa.Float),
)
case_record = sa.table(
    "case_record",
    sa.column("id", sa.String),
    sa.column("address", sa.String),
    sa.column("lat", sa.Float),
    sa.column("long", sa.Float),
)


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of publication would lose its search index on SQLite.
    op.add_column("publication", sa.Column("address", sa.String(length=300), nullable=True))
    op.add_column("publication", sa.Column("lat", sa.Float(), nullable=True))
    op.add_column("publication", sa.Column("long", sa.Float(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            case_record.c.id, case_record.c.address, case_record.c.lat, case_record.c.long
        ).select_from(case_record.join(publication, publication.c.case_id == case_record.c.id))
    ).all()
    for row in rows:
        bind.execute(
            publication.update()
            .where(publication.c.case_id == row.id)
            .values(
                address=coarse_address(row.address) if row.address else None,
                lat=round(row.lat, 2) if row.lat is not None else None,
                long=round(row.long, 2) if row.long is not None else None,
            )
        )


def downgrade() -> None:
    for column in ("long", "lat", "address"):
        op.execute(f"ALTER TABLE publication DROP COLUMN {column}")
