"""The merged OpenAPI document: every `$ref` resolves, every operation documents its errors."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from gateway.app import create_app as create_gateway
from gateway.openapi import ERROR_RESPONSES, merge_schema, unresolved_refs
from gateway.settings import GatewaySettings

SERVICES = ("ingest", "review", "distribute", "interaction")


@pytest.fixture(scope="module")
def service_docs() -> dict[str, dict[str, Any]]:
    return {
        name: importlib.import_module(f"services.{name}.app").create_app().openapi()
        for name in SERVICES
    }


def test_each_service_document_resolves(service_docs: dict[str, dict[str, Any]]) -> None:
    """Checked before the merge, whose repair of a dangling `$ref` would otherwise hide it."""
    for name, doc in service_docs.items():
        assert unresolved_refs(doc) == set(), name


def test_every_ref_of_the_merged_document_resolves(
    service_docs: dict[str, dict[str, Any]],
) -> None:
    own = create_gateway(GatewaySettings()).openapi()
    merged = merge_schema(own, service_docs)
    assert unresolved_refs(merged) == set()
    assert "ContentSubmission" in merged["components"]["schemas"]
    assert merged["paths"]["/api/v1/contents"]["post"]["requestBody"]
    for path, item in merged["paths"].items():
        for method, operation in item.items():
            assert set(ERROR_RESPONSES) <= set(operation["responses"]), (method, path)
            problem = operation["responses"]["422"]["$ref"]
            assert problem == "#/components/responses/Problem422"


def test_a_dangling_ref_is_repaired() -> None:
    service = {
        "paths": {
            "/api/v1/things": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}
                        }
                    },
                    "responses": {"200": {"$ref": "#/components/responses/Missing"}},
                }
            }
        }
    }
    merged = merge_schema({"paths": {}}, {"ingest": service})
    assert unresolved_refs(merged) == set()
    assert unresolved_refs(service)  # the service's own document is left as it was
