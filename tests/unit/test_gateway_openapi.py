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


def test_the_credentials_are_declared_for_the_authorize_button() -> None:
    """A staff token (pasted or got by logging in), a machine key in `X-API-Key`, or nothing:
    every operation may be called anonymously; the login and the password change take none."""
    service = {"paths": {"/api/v1/things": {"get": {"responses": {"200": {}}}}}}
    own = create_gateway(GatewaySettings()).openapi()
    merged = merge_schema(own, {"ingest": service})
    schemes = merged["components"]["securitySchemes"]
    assert schemes["StaffToken"] == {**schemes["StaffToken"], "type": "http", "scheme": "bearer"}
    assert schemes["ApiKey"]["in"] == "header" and schemes["ApiKey"]["name"] == "X-API-Key"
    password_flow = schemes["StaffLogin"]["flows"]["password"]
    assert password_flow["tokenUrl"] == "/api/v1/auth/token"
    assert "/api/v1/auth/token" in merged["paths"]
    assert {"StaffToken": []} in merged["security"] and {} in merged["security"]
    assert merged["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    assert "security" not in merged["paths"]["/api/v1/things"]["get"]
    assert unresolved_refs(merged) == set()


def _answering(schema: str, operation_id: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return {"operationId": operation_id, "responses": {"200": {"content": content}}}


def test_a_name_two_services_define_differently_is_renamed_with_its_refs() -> None:
    """Each operation keeps the model its own service documents (a generated client parses the
    answer with it); an identical definition is kept once; a taken operationId is prefixed."""
    site = {"type": "object", "properties": {"name": {"type": "string"}}}
    other_site = {"type": "object", "properties": {"id": {"type": "integer"}}}
    shared = {"type": "object", "properties": {"x": {"type": "string"}}}

    def doc(path: str, site_schema: dict[str, Any]) -> dict[str, Any]:
        page = {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/Site"}}}
        return {
            "paths": {path: {"get": _answering("SitePage", "list_sites")}},
            "components": {"schemas": {"Site": site_schema, "SitePage": page, "Shared": shared}},
        }

    merged = merge_schema(
        {"paths": {}},
        {"ingest": doc("/api/v1/a", site), "review": doc("/api/v1/b", other_site)},
    )
    schemas = merged["components"]["schemas"]
    assert schemas["Site"] == site and schemas["ReviewSite"] == other_site
    assert schemas["ReviewSitePage"]["properties"]["items"]["$ref"] == (
        "#/components/schemas/ReviewSite"
    )
    assert "ReviewShared" not in schemas
    a, b = merged["paths"]["/api/v1/a"]["get"], merged["paths"]["/api/v1/b"]["get"]
    assert a["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SitePage"
    )
    assert b["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReviewSitePage"
    )
    assert (a["operationId"], b["operationId"]) == ("list_sites", "review_list_sites")
    assert unresolved_refs(merged) == set()
