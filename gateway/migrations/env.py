from alembic import context

from common.migrations import run_env
from gateway.models import metadata

run_env(context, metadata)
