"""Every operation of every service says what it answers: a schema for each JSON success, the
media type for everything else (feeds, pages, files), problem+json for errors."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

PACKAGES = ["services.ingest", "services.review", "services.distribute", "services.interaction"]
PACKAGES.append("gateway")
METHODS = {"get", "post", "put", "patch", "delete"}
JSON = "application/json"
OPEN311 = "/open311/v2/"


def _document(package: str) -> dict[str, Any]:
    document: dict[str, Any] = importlib.import_module(f"{package}.app").create_app().openapi()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _success_is_typed(responses: dict[str, Any]) -> bool:
    """A JSON success names a schema that is more than `{}`; other media types, 204 and
    redirects carry no JSON body to describe."""
    successes = {code: answer for code, answer in responses.items() if code.startswith(("2", "3"))}
    if not successes:
        return False
    for code, answer in successes.items():
        content = answer.get("content", {})
        if code == "204" or code.startswith("3"):
            continue
        if not content:
            return False
        schema = content.get(JSON, {}).get("schema")
        if JSON in content and not schema:
            return False
    return True


@pytest.mark.parametrize("package", PACKAGES)
def test_every_success_has_a_schema(package: str) -> None:
    untyped = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(_document(package))
        if not _success_is_typed(operation["responses"])
    ]
    assert not untyped, f"{package}: operations without a typed success:\n" + "\n".join(untyped)


@pytest.mark.parametrize("package", PACKAGES)
def test_lists_are_pages(package: str) -> None:
    """A JSON list answer is a `Page[…]` (items and next_cursor), never a bare array — except
    Open311 (GeoReport v2), whose standard answers are arrays that existing clients expect."""
    bare = []
    for method, path, operation in _operations(_document(package)):
        if path.startswith(OPEN311):
            continue
        for code, answer in operation["responses"].items():
            schema = answer.get("content", {}).get(JSON, {}).get("schema", {})
            if code.startswith("2") and schema.get("type") == "array":
                bare.append(f"{method.upper()} {path}")
    assert not bare, f"{package}: bare arrays:\n" + "\n".join(bare)
