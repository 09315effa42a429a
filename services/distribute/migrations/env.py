from alembic import context

from common.migrations import run_env
from services.distribute.models import metadata

run_env(context, metadata)
