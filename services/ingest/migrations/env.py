"""Like `common.migrations.run_env`, plus: autogenerate leaves the hand-made search objects alone
(the FTS5 virtual tables on SQLite, the tsvector columns on PostgreSQL)."""

from alembic import context

from services.ingest import models_intake  # noqa: F401  (tables on the shared metadata)
from services.ingest.models import metadata

HAND_MADE = ("content_fts", "published_fts", "tsv")


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    return not (name or "").startswith(HAND_MADE)


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `kitchen db upgrade`, not the alembic CLI")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
