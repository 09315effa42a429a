from alembic import context

from common.migrations import run_env
from services.review.models import metadata

run_env(context, metadata)
