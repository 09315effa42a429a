"""One OpenAPI document for `/api/v1`: the gateway's own paths plus every service's."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)
PUBLIC_PREFIXES = ("/api/v1/", "/feeds/", "/open311/")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What any operation may answer, as problem+json (`common.errors`): bad input, credentials,
# role or site, unknown id, conflict, oversize body, validation, rate limits.
ERROR_RESPONSES = {
    "400": "Bad request (malformed body, path or parameter)",
    "401": "Missing or wrong credentials",
    "403": "Role, scope or site not allowed",
    "404": "No such resource",
    "409": "Conflict with the current state",
    "413": "Body or file too large",
    "422": "Validation failed (`errors` names each field and reason)",
    "429": "Too many requests (`Retry-After`)",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def merge_schema(own: dict[str, Any], service_docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Add each service's public paths and every component they define (schemas, responses,
    parameters, request bodies…); the first definition wins. Every operation documents the
    problem+json errors of `ERROR_RESPONSES`, and a `$ref` that still resolves to nothing (a
    service's own document is incomplete) is logged and replaced by an open schema, so the
    document stays usable by client generators and fuzzers."""
    merged = copy.deepcopy(own)
    merged["paths"] = dict(merged.get("paths", {}))
    components = merged.setdefault("components", {})
    for name, doc in service_docs.items():
        for path, item in doc.get("paths", {}).items():
            if path.startswith(PUBLIC_PREFIXES) and path not in merged["paths"]:
                item = copy.deepcopy(item)
                for operation in _operations(item):
                    operation.setdefault("tags", [name])
                merged["paths"][path] = item
        for section, entries in doc.get("components", {}).items():
            if isinstance(entries, dict):
                target = components.setdefault(section, {})
                for entry_name, entry in entries.items():
                    target.setdefault(entry_name, copy.deepcopy(entry))
    _document_errors(merged)
    _repair_dangling_refs(merged)
    return merged


def _operations(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for method, operation in item.items():
        if method in HTTP_METHODS and isinstance(operation, dict):
            yield operation


def _document_errors(merged: dict[str, Any]) -> None:
    components = merged["components"]
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    responses = components.setdefault("responses", {})
    for status, description in ERROR_RESPONSES.items():
        responses[f"Problem{status}"] = {
            "description": description,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    for item in merged["paths"].values():
        for operation in _operations(item):
            documented = operation.setdefault("responses", {})
            for status in ERROR_RESPONSES:
                # FastAPI's own 422 says application/json HTTPValidationError; ours is a problem.
                if status not in documented or status == "422":
                    documented[status] = {"$ref": f"#/components/responses/Problem{status}"}


def unresolved_refs(document: dict[str, Any]) -> set[str]:
    """Every local `$ref` of `document` that does not point at anything in it."""
    return {ref for ref in _refs(document) if _resolve(document, ref) is None}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _repair_dangling_refs(merged: dict[str, Any]) -> None:
    dangling = unresolved_refs(merged)
    if not dangling:
        return
    log.warning("OpenAPI references without a definition: %s", sorted(dangling))
    schemas = merged["components"].setdefault("schemas", {})
    for ref in dangling:
        if ref.startswith("#/components/schemas/") and ref.count("/") == 3:
            schemas[ref.rsplit("/", 1)[1]] = {"description": "not documented by its service"}
        else:
            _replace_ref(merged, ref)


def _replace_ref(node: Any, ref: str) -> None:
    if isinstance(node, dict):
        if node.get("$ref") == ref:
            node.pop("$ref")
        for value in node.values():
            _replace_ref(value, ref)
    elif isinstance(node, list):
        for value in node:
            _replace_ref(value, ref)
