"""No route of the hub resolves a dependency on a thread.

FastAPI runs a plain `def` dependency in its thread pool, one hop per dependency per request: two
such trivial dependencies halved a bare route's req/s (and tripled its p99) on this project's
machines. Every dependency the hub declares is `async def`; blocking work stays out of them.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

ROUTERS = [
    "gateway",
    "services.ingest",
    "services.review",
    "services.distribute",
    "services.interaction",
]


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from dependants(sub)


def is_async(call: object) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


@pytest.mark.parametrize("package", ROUTERS)
def test_every_dependency_of_every_route_is_async(package: str) -> None:
    routers: list[APIRouter] = importlib.import_module(f"{package}.routes").routers
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    assert routes
    blocking = {
        f"{route.path}: {sub.call.__module__}.{sub.call.__qualname__}"  # type: ignore[union-attr]
        for route in routes
        for sub in dependants(route.dependant)
        if sub.call is not None and not is_async(sub.call)
    }
    assert blocking == set()
