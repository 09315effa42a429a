"""full-text search of publications and knowledge

Hand-written (autogenerate cannot see these objects): an FTS5 table per searched table on
SQLite, a tsvector column with a GIN index on PostgreSQL. Tokens are computed in Python
(`services/interaction/search.py`), so existing rows are indexed here too.

Revision ID: cdbf8d579186
Revises: 24761a67612a
Create Date: 2026-11-25 19:53:34.728808
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.interaction.search import fts5_columns, tsvector_literal

revision: str = "cdbf8d579186"
down_revision: str | None = "24761a67612a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "tokenize = 'unicode61 remove_diacritics 0'"
publication = sa.table(
    "publication",
    sa.column("case_id", sa.String),
    sa.column("title", sa.Text),
    sa.column("body", sa.Text),
    sa.column("reply", sa.Text),
    sa.column("status", sa.String),
)
knowledge = sa.table(
    "knowledge_entry",
    sa.column("id", sa.Integer),
    sa.column("question", sa.Text),
    sa.column("tags", sa.JSON),
    sa.column("answer", sa.Text),
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute(f"CREATE VIRTUAL TABLE publication_fts USING fts5(case_id UNINDEXED, title, body, reply, {TOKENIZE})")
        op.execute(f"CREATE VIRTUAL TABLE knowledge_fts USING fts5(question, tags, answer, {TOKENIZE})")
    else:
        op.execute("ALTER TABLE publication ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_publication_tsv ON publication USING gin (tsv)")
        op.execute("ALTER TABLE knowledge_entry ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_knowledge_entry_tsv ON knowledge_entry USING gin (tsv)")

    approved = bind.execute(sa.select(publication).where(publication.c.status == "approved"))
    for row in approved.all():
        if sqlite:
            t, b, r = fts5_columns(row.title, row.body, row.reply)
            bind.execute(
                sa.text("INSERT INTO publication_fts(case_id, title, body, reply) VALUES (:id, :t, :b, :r)"),
                {"id": row.case_id, "t": t, "b": b, "r": r},
            )
        else:
            vector = tsvector_literal([("A", row.title), ("B", row.body), ("B", row.reply)])
            bind.execute(
                sa.text("UPDATE publication SET tsv = CAST(:v AS tsvector) WHERE case_id = :id"),
                {"id": row.case_id, "v": vector},
            )
    for row in bind.execute(sa.select(knowledge)).all():
        tags = " ".join(row.tags or [])
        if sqlite:
            q, t, a = fts5_columns(row.question, tags, row.answer)
            bind.execute(
                sa.text("INSERT INTO knowledge_fts(rowid, question, tags, answer) VALUES (:id, :q, :t, :a)"),
                {"id": row.id, "q": q, "t": t, "a": a},
            )
        else:
            vector = tsvector_literal([("A", row.question), ("B", tags), ("D", row.answer)])
            bind.execute(
                sa.text("UPDATE knowledge_entry SET tsv = CAST(:v AS tsvector) WHERE id = :id"),
                {"id": row.id, "v": vector},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
        op.execute("DROP TABLE IF EXISTS publication_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_knowledge_entry_tsv")
        op.execute("ALTER TABLE knowledge_entry DROP COLUMN IF EXISTS tsv")
        op.execute("DROP INDEX IF EXISTS ix_publication_tsv")
        op.execute("ALTER TABLE publication DROP COLUMN IF EXISTS tsv")
