"""Every service has the same skeleton, and its layers import and commit only where allowed.

The rules (docs/ARCHITECTURE.md, "The shape"):
- the skeleton: `app.py` (from `common.service_app`), `settings.py`, `deps.py` (class `Deps`),
  `models.py`, `schemas.py`, a `routes/` package, `consumers.py` with `handlers(deps)`, `jobs.py`
  with `jobs(deps)`, `migrations/`;
- domain modules import neither FastAPI/Starlette nor httpx nor aiokafka: only `app.py`, the
  `routes/` package and the `clients/`/`adapters/` packages talk to the outside;
- only the request (`common.db.request_session`), the consumer message (`common.consumer`) and
  the job run (`common.jobs`) commit, plus the idempotency claim, which must be durable before
  the request's own work starts.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["services/ingest", "services/review", "services/distribute", "services/interaction"]
PACKAGES = [*SERVICES, "gateway"]
SKELETON_FILES = ["app.py", "settings.py", "deps.py", "models.py", "schemas.py"]
SKELETON_FILES += ["consumers.py", "jobs.py", "routes/__init__.py", "migrations/env.py"]
EDGE = ("fastapi", "starlette", "httpx", "aiokafka")
EDGE_MODULES = ("app.py", "routes/", "clients/", "adapters/")
COMMITTERS = {"common/db.py", "common/consumer.py", "common/jobs.py", "common/idempotency.py"}
# The outbox relay marks rows published in its own short transactions (it is the message side
# of the boundary); migrations run before the service serves anything.
COMMITTERS |= {"common/relay.py", "common/migrations.py"}


def _modules(package: str) -> list[Path]:
    base = ROOT / package
    return [path for path in sorted(base.rglob("*.py")) if "migrations" not in path.parts]


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _dotted(package: str) -> str:
    return package.replace("/", ".")


@pytest.mark.parametrize("package", PACKAGES)
def test_the_skeleton_is_complete(package: str) -> None:
    missing = [name for name in SKELETON_FILES if not (ROOT / package / name).is_file()]
    assert not missing, f"{package} lacks {missing}"
    app_source = (ROOT / package / "app.py").read_text(encoding="utf-8")
    assert "create_service_app" in app_source, f"{package}/app.py must use common.service_app"
    assert (ROOT / package / "routes.py").exists() is False, "routes are a package"


@pytest.mark.parametrize("package", PACKAGES)
def test_handlers_jobs_and_deps_have_one_signature(package: str) -> None:
    dotted = _dotted(package)
    deps = importlib.import_module(f"{dotted}.deps")
    assert inspect.isclass(deps.Deps), f"{dotted}.deps.Deps must be a class"
    for module_name, function_name in (("consumers", "handlers"), ("jobs", "jobs")):
        module = importlib.import_module(f"{dotted}.{module_name}")
        function = getattr(module, function_name)
        parameters = list(inspect.signature(function).parameters)
        assert parameters == ["deps"], f"{dotted}.{module_name}.{function_name}(deps)"


@pytest.mark.parametrize("package", PACKAGES)
def test_domain_modules_do_not_touch_the_edge(package: str) -> None:
    offenders = []
    for path in _modules(package):
        relative = path.relative_to(ROOT / package).as_posix()
        if relative.startswith(EDGE_MODULES) or relative == "cli.py":
            continue
        touched = _imported_roots(path) & set(EDGE)
        if touched:
            offenders.append(f"{package}/{relative}: {sorted(touched)}")
    assert not offenders, "domain modules importing the edge:\n" + "\n".join(offenders)


def _commit_sites(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "commit" or (
            node.func.attr == "begin" and "engine" in ast.unparse(node.func.value)
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("package", [*PACKAGES, "common", "kitchen"])
def test_only_the_request_the_message_and_the_job_run_commit(package: str) -> None:
    offenders = []
    for path in _modules(package):
        relative = path.relative_to(ROOT).as_posix()
        if relative not in COMMITTERS:
            offenders += [f"{relative}:{line}" for line in _commit_sites(path)]
    assert not offenders, "commits outside the request/message/job boundary:\n" + "\n".join(
        offenders
    )
