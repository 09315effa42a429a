from alembic import context

from common.migrations import run_env
from services.ingest import models_intake  # noqa: F401  (tables on the shared metadata)
from services.ingest.models import metadata

run_env(context, metadata)
