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


# How a caller proves who it is (`gateway.auth`): a staff token from the login (pasted, or got by
# Swagger UI's Authorize with a name and password), or a machine key. Every operation may also
# be called anonymously (`{}`): public reads need no credentials; what does is answered 401.
SECURITY_SCHEMES: dict[str, Any] = {
    "StaffToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A staff token from `POST /api/v1/auth/token`, as "
        "`Authorization: Bearer <token>` (a machine key `ck_…` may be sent the same way).",
    },
    "StaffLogin": {
        "type": "oauth2",
        "description": "A staff name and password exchanged for a token (OAuth2 password flow).",
        "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
    },
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A machine key (`ck_…`) created by an admin with `POST /api/v1/api-keys`.",
    },
}
NO_SCOPES: list[str] = []
SECURITY: list[dict[str, list[str]]] = [{name: NO_SCOPES} for name in SECURITY_SCHEMES]
SECURITY.append({})
# Operations that take no credentials at all: the login and the password change prove a name and
# password in their body.
ANONYMOUS_OPERATIONS = {("post", "/api/v1/auth/token"), ("post", "/api/v1/auth/password")}


def merge_schema(own: dict[str, Any], service_docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Add each service's public paths and every component they define (schemas, responses,
    parameters, request bodies…). A component defined the same way twice is kept once; a name
    that two services define differently keeps the first definition, and the later service's
    is renamed (`ReviewSitePublic`) with every `$ref` to it, so a client generator builds the
    right model for each operation. An `operationId` already taken gets the service's name in
    front. Every operation documents the problem+json errors of `ERROR_RESPONSES`, the
    credentials of `SECURITY_SCHEMES` are declared (Swagger UI's Authorize), and a `$ref` that
    still resolves to nothing (a service's own document is incomplete) is logged and replaced by
    an open schema, so the document stays usable by client generators and fuzzers."""
    merged = copy.deepcopy(own)
    merged["paths"] = dict(merged.get("paths", {}))
    components = merged.setdefault("components", {})
    operation_ids = {
        operation["operationId"]
        for item in merged["paths"].values()
        for operation in _operations(item)
        if "operationId" in operation
    }
    for name, doc in service_docs.items():
        renames = _renamed_components(components, doc.get("components", {}), name)
        for path, item in doc.get("paths", {}).items():
            if path.startswith(PUBLIC_PREFIXES) and path not in merged["paths"]:
                item = _rewrite_refs(copy.deepcopy(item), renames)
                for operation in _operations(item):
                    operation.setdefault("tags", [name])
                    _claim_operation_id(operation, name, operation_ids)
                merged["paths"][path] = item
        for section, entries in doc.get("components", {}).items():
            if isinstance(entries, dict):
                target = components.setdefault(section, {})
                for entry_name, entry in entries.items():
                    ref = renames.get(_ref(section, entry_name))
                    key = ref.rsplit("/", 1)[1] if ref else entry_name
                    target.setdefault(key, _rewrite_refs(copy.deepcopy(entry), renames))
    _document_errors(merged)
    _document_security(merged)
    _repair_dangling_refs(merged)
    return merged


def _ref(section: str, name: str) -> str:
    return f"#/components/{section}/{name}"


def _renamed_components(
    known: dict[str, Any], theirs: dict[str, Any], service: str
) -> dict[str, str]:
    """`$ref` → new `$ref` for the service's components whose name is taken by a different
    definition; repeated until stable, since a rename changes the definitions that refer to it."""
    renames: dict[str, str] = {}
    prefix = service[:1].upper() + service[1:]
    changed = True
    while changed:
        changed = False
        for section, entries in theirs.items():
            if not isinstance(entries, dict):
                continue
            taken = known.get(section, {})
            for entry_name, entry in entries.items():
                ref = _ref(section, entry_name)
                if ref in renames or entry_name not in taken:
                    continue
                if taken[entry_name] != _rewrite_refs(copy.deepcopy(entry), renames):
                    new_name = prefix + entry_name
                    while new_name in taken or new_name in entries:
                        new_name = prefix + new_name
                    renames[ref] = _ref(section, new_name)
                    changed = True
    return renames


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    """`node` with every `$ref` of `renames` pointing at its new name (edited in place)."""
    if not renames:
        return node
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renames:
            node["$ref"] = renames[ref]
        for value in node.values():
            _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)
    return node


def _claim_operation_id(operation: dict[str, Any], service: str, taken: set[str]) -> None:
    operation_id = operation.get("operationId")
    if not isinstance(operation_id, str):
        return
    while operation_id in taken:
        operation_id = f"{service}_{operation_id}"
    operation["operationId"] = operation_id
    taken.add(operation_id)


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


def _document_security(merged: dict[str, Any]) -> None:
    merged["components"]["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    merged["security"] = copy.deepcopy(SECURITY)
    for path, item in merged["paths"].items():
        for method, operation in item.items():
            if (method, path) in ANONYMOUS_OPERATIONS and isinstance(operation, dict):
                operation["security"] = []


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
