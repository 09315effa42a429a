"""A Python client generated from the gateway's merged `/openapi.json` reads the portal's column
list and a published item of a running hub, with the generated models and nothing hand-written.

The merged document must be one a generator accepts without a warning (unique operationIds,
every `$ref` resolving, one model per name), and each portal answer must parse into the model its
operation documents — a schema that does not match the bytes fails here. The operations are found
by method and path, so an operationId the merge renames does not break the test:
- `GET /api/v1/sites/{site}/columns/{column}/items` (distribute's `column_items…`, a page of
  `EntryPublic`);
- `GET /api/v1/sites/{site}/items/{content_id}` (distribute's `get_item…`, `ArticlePublic`).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from common.testing import database_kind_under_test
from tests.e2e.hub import HubClient, notice, running_hub, wait_for

pytestmark = pytest.mark.any_database  # the document, not the database, is under test
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "hub_client"
COLUMN_ITEMS = ("get", "/api/v1/sites/{site}/columns/{column}/items")
ITEM = ("get", "/api/v1/sites/{site}/items/{content_id}")


def generate_client(document: dict[str, Any], directory: Path) -> None:
    """Generate the client package `PACKAGE` as `directory/client/PACKAGE` (without packaging
    metadata the output path is the package itself); any generator warning fails."""
    source = directory / "openapi.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    config = directory / "generator.json"
    # no post hooks: formatting the generated code is not what is tested, and takes seconds
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(source), "--output-path"]
        + [str(directory / "client" / PACKAGE), "--meta", "none", "--config", str(config)]
        + ["--fail-on-warning"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"generator failed:\n{result.stdout}\n{result.stderr}"


def operation_module(package: Path, method: str, path: str) -> ModuleType:
    """The generated module of one operation, found by the request it builds."""
    url, verb = f'"url": "{path}"', f'"method": "{method}"'
    found = [
        module
        for module in sorted((package / "api").rglob("*.py"))
        if url in (text := module.read_text(encoding="utf-8")) and verb in text
    ]
    assert len(found) == 1, f"{method.upper()} {path}: generated modules {found}"
    relative = found[0].relative_to(package.parent).with_suffix("")
    return importlib.import_module(".".join(relative.parts))


def assert_generated_model(parsed: Any) -> None:
    """A success parsed into the operation's own generated model (not a problem, not a dict)."""
    kind = type(parsed)
    assert kind.__module__.startswith(f"{PACKAGE}.models."), kind
    assert kind.__name__ != "Problem", parsed


def operation_id(document: dict[str, Any], method: str, path: str) -> str:
    return str(document["paths"][path][method]["operationId"])


async def test_a_generated_client_reads_published_content(tmp_path: Path) -> None:
    async with running_hub(tmp_path, database_kind_under_test()) as stack:
        base_url = stack.config.url("gateway")
        hub = HubClient(base_url)
        try:
            document = (await hub.http.get("/openapi.json")).json()
            for method, path in (COLUMN_ITEMS, ITEM):
                assert operation_id(document, method, path), (method, path)
            generate_client(document, tmp_path)
            await read_with_the_client(hub, base_url, tmp_path / "client")
        finally:
            await hub.close()
            for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
                del sys.modules[name]


async def read_with_the_client(hub: HubClient, base_url: str, output: Path) -> None:
    accepted = await hub.submit(notice(1))
    content_id = accepted["id"]
    await hub.approve_all_stages(content_id)

    sys.path.insert(0, str(output))
    try:
        client_module = importlib.import_module(PACKAGE)
        column_items = operation_module(output / PACKAGE, *COLUMN_ITEMS)
        get_item = operation_module(output / PACKAGE, *ITEM)
    finally:
        sys.path.remove(str(output))

    async with client_module.Client(base_url=base_url, timeout=httpx.Timeout(30)) as client:

        async def listed() -> Any:
            answer = await column_items.asyncio_detailed(
                site="province", column="notices", client=client
            )
            assert answer.status_code == 200, answer.content[:300]
            return answer.parsed if answer.parsed.items else None

        page = await wait_for(listed, within=30)
        assert_generated_model(page)
        [entry] = page.items
        assert entry.id == content_id and entry.title == notice(1)["title"]
        assert entry.column == "notices" and entry.version == 1

        answer = await get_item.asyncio_detailed(
            site="province", content_id=content_id, client=client
        )
        assert answer.status_code == 200, answer.content[:300]
        article = answer.parsed
        assert_generated_model(article)
        assert article.id == content_id and article.site == "province"
        assert article.content_hash == accepted["content_hash"]
        assert article.title == notice(1)["title"] and article.body_html
        assert article.columns and all(column.slug for column in article.columns)
