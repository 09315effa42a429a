"""reply working days stored at reply

`case_record.reply_working_days`: working days in (received_on, replied_on], fixed when the reply
is sent, so statistics average it in SQL instead of loading every case. Replied cases are
backfilled on the calendar stored in `calendar_day` (unknown dates count as Monday–Friday,
as `WorkCalendar` does).

Revision ID: 9c183ae171ce
Revises: cdbf8d579186
Create Date: 2026-11-25 19:57:22.893363
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.interaction.calendar import CalendarDay, WorkCalendar

revision: str = "9c183ae171ce"
down_revision: str | None = "cdbf8d579186"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

calendar_day = sa.table(
    "calendar_day",
    sa.column("day", sa.Date),
    sa.column("is_workday", sa.Boolean),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
    sa.column("official", sa.Boolean),
)
case_record = sa.table(
    "case_record",
    sa.column("id", sa.String),
    sa.column("received_on", sa.Date),
    sa.column("replied_on", sa.Date),
    sa.column("reply_working_days", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_working_days", sa.Integer(), nullable=True))

    bind = op.get_bind()
    replied = bind.execute(
        sa.select(case_record.c.id, case_record.c.received_on, case_record.c.replied_on).where(
            case_record.c.replied_on.is_not(None)
        )
    ).all()
    if not replied:
        return
    calendar = WorkCalendar(
        CalendarDay(r.day, r.is_workday, r.kind, r.name, r.official)
        for r in bind.execute(sa.select(calendar_day)).all()
    )
    for row in replied:
        bind.execute(
            case_record.update()
            .where(case_record.c.id == row.id)
            .values(
                reply_working_days=calendar.working_days_between(row.received_on, row.replied_on)
            )
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy of case_record would trip the foreign
    # keys of its child tables.
    op.execute("ALTER TABLE case_record DROP COLUMN reply_working_days")
