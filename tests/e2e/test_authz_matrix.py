"""Every operation of the merged OpenAPI × every kind of caller, against `tests/authz/matrix.yaml`.

A real hub (demo mode, throwaway databases) gets one account per role, unscoped and scoped to
one site, and one API key per scope plus a site-scoped key. Each operation then receives a
minimal request from each of them: path parameters filled with placeholders (unknown ids; `{site}`
is a site outside the scoped principals' own), an empty body. 401/403 = denied, anything else =
the authorisation layer let the request through. The observed answers must equal the table, and
an operation without a row fails (write the observed table with `KITCHEN_AUTHZ_WRITE=path`).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from common.testing import database_kind_under_test
from tests.authz import table
from tests.authz.table import OTHER_SITE, Principal, principals
from tests.e2e.hub import DEMO_PASSWORD, running_hub

# Who may call what is decided before any query: the database kind under test does not matter.
pytestmark = pytest.mark.any_database

PASSWORD = "authz-matrix-password-1"
CONCURRENCY = 8
METHODS = ("get", "post", "put", "patch", "delete")
PLACEHOLDERS = {"site": OTHER_SITE, "column": "notices"}


async def credentials(http: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Headers per principal: accounts and keys created by the demo (global) admin."""
    login = await http.post(
        "/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD}
    )
    login.raise_for_status()
    admin = {"authorization": f"Bearer {login.json()['access_token']}"}
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    one_writer = asyncio.Lock()

    async def make(principal: Principal) -> None:
        if principal.name == "anonymous":
            return
        if principal.is_key:
            body: dict[str, Any] = {"name": principal.name, "scopes": list(principal.scopes)}
            if principal.sites:
                body["site"] = principal.sites[0]
            async with one_writer:
                created = await http.post("/api/v1/api-keys", json=body, headers=admin)
            assert created.status_code == 201, created.text
            headers[principal.name] = {"x-api-key": created.json()["key"]}
            return
        user_id = "authz-" + principal.name.replace("@", "-at-")
        account: dict[str, Any] = {
            "id": user_id,
            "display_name": principal.name,
            "password": PASSWORD,
            "roles": list(principal.roles),
            "sites": list(principal.sites) if principal.sites else None,
            "department": "市政府办公室" if "handler" in principal.roles else None,
        }
        async with one_writer:  # SQLite's single writer: the gateway's writes go one at a time
            created = await http.post("/api/v1/users", json=account, headers=admin)
        assert created.status_code == 201, created.text
        token = await http.post(
            "/api/v1/auth/token", data={"username": user_id, "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        headers[principal.name] = {"authorization": f"Bearer {token.json()['access_token']}"}

    await asyncio.gather(*(make(p) for p in principals()))
    return headers


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """`METHOD path` → (method, path, operation with the path item's parameters merged)."""
    found = {}
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                operation = {**item[method]}
                operation["parameters"] = shared + operation.get("parameters", [])
                found[table.operation_key(method, path)] = (method.upper(), path, operation)
    return found


def minimal_request(path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """Placeholders for the path parameters and an empty body of the declared media type."""
    kinds = {
        p["name"]: p.get("schema", {}).get("type")
        for p in operation["parameters"]
        if p.get("in") == "path"
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PLACEHOLDERS:
            return PLACEHOLDERS[name]
        return "999999" if kinds.get(name) == "integer" else "zz-unknown"

    request: dict[str, Any] = {"url": re.sub(r"\{([^}]+)\}", fill, path), "headers": {}}
    media = list(operation.get("requestBody", {}).get("content", {}))
    if media:
        kind = media[0]
        request["content"] = b"{}" if kind == "application/json" else b""
        request["headers"]["content-type"] = kind
    return request


async def observe(
    http: httpx.AsyncClient,
    found: dict[str, tuple[str, str, dict[str, Any]]],
    headers: dict[str, dict[str, str]],
) -> dict[str, dict[str, int]]:
    """The status each principal got from each operation."""
    gate = asyncio.Semaphore(CONCURRENCY)
    statuses: dict[str, dict[str, int]] = {key: {} for key in found}
    # A write that needs no body may succeed (a webhook secret is created for the placeholder
    # source): principals take turns on each writing operation, so the hub sees no write races.
    turns = {key: asyncio.Lock() for key in found}

    async def one(key: str, name: str) -> None:
        method, path, operation = found[key]
        request = minimal_request(path, operation)
        request["headers"] = {**request["headers"], **headers[name]}
        if method == "GET":
            async with gate:
                response = await http.request(method, **request)
        else:
            async with turns[key], gate:  # wait for the turn without holding a slot
                response = await http.request(method, **request)
        statuses[key][name] = response.status_code

    await asyncio.gather(*(one(key, name) for key in found for name in headers))
    return statuses


def allowed(statuses: dict[str, int]) -> frozenset[str]:
    return frozenset(name for name, status in statuses.items() if status not in (401, 403))


def write_table(path: Path, observed: dict[str, dict[str, int]]) -> None:
    """The observed table, keeping the notes and markers of rows already in the table."""
    old = table.load() if table.TABLE.exists() else {}
    rows = {}
    for key in sorted(observed, key=lambda k: (k.split(" ", 1)[1], k)):
        row: dict[str, Any] = {"allow": table.compact(allowed(observed[key]))}
        if key in old:
            row.update({k: v for k, v in old[key].raw.items() if k != "allow"})
        rows[key] = row
    header = "# Observed answers, reviewed row by row (format: tests/authz/table.py).\n"
    body = yaml.safe_dump({"operations": rows}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + body, encoding="utf-8")


async def test_every_operation_answers_as_the_matrix_says(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as http:
            headers = await credentials(http)
            document = (await http.get("/openapi.json")).json()
            found = operations(document)
            started = time.monotonic()
            observed = await observe(http, found, headers)
            print(
                f"{len(found)} operations x {len(headers)} principals: "
                f"{time.monotonic() - started:.1f} s"
            )

    if os.environ.get("KITCHEN_AUTHZ_WRITE"):
        write_table(Path(os.environ["KITCHEN_AUTHZ_WRITE"]), observed)
    expected = table.load()
    missing = sorted(set(found) - set(expected))
    assert not missing, f"operations without a row in {table.TABLE.name}: {missing}"
    stale = sorted(set(expected) - set(found))
    assert not stale, f"rows of {table.TABLE.name} for operations that no longer exist: {stale}"
    errors = {
        key: {n: s for n, s in statuses.items() if s >= 500}
        for key, statuses in observed.items()
        if any(s >= 500 for s in statuses.values())
    }
    assert not errors, f"server errors: {errors}"
    wrong_allows = {
        key: sorted(allowed(observed[key]) - row.allow) for key, row in expected.items()
    }
    wrong_allows = {k: v for k, v in wrong_allows.items() if v}
    assert not wrong_allows, f"let through though the table denies them: {wrong_allows}"
    wrong_denies = {
        key: sorted(row.allow - allowed(observed[key])) for key, row in expected.items()
    }
    wrong_denies = {k: v for k, v in wrong_denies.items() if v}
    assert not wrong_denies, f"refused though the table allows them: {wrong_denies}"
