"""The authorisation matrix: who may call each operation of the merged OpenAPI document.

`matrix.yaml` holds the expected answers as data: per operation (`METHOD path`) the principals
the authorisation layer lets through (`allow`). "Let through" means any answer but 401/403 to a
minimal request (placeholders for path parameters, an empty body): a 404, 409 or 422 says the
caller got past authorisation. Rows marked `expected: validation-first` are operations that look
at the request before deciding who may call them, so their `allow` is wider than who may really
use them; `note` says what actually guards them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).with_name("matrix.yaml")
ROLES = ("admin", "editor", "reviewer", "confidentiality", "override", "office", "handler")
SCOPES = ("content:submit", "content:read", "cases:submit", "cases:read")
SCOPED_SITE = "county"  # the site of every scoped principal
OTHER_SITE = "province"  # the site put into `{site}` path parameters, outside that scope
KEY_OF_SITE = f"key:all@{SCOPED_SITE}"  # every scope, one site


@dataclass(frozen=True)
class Principal:
    name: str
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    sites: tuple[str, ...] | None = None

    @property
    def is_key(self) -> bool:
        return bool(self.scopes)


def principals() -> list[Principal]:
    """Anonymous, each role unscoped and scoped to one site, each key scope, a site key."""
    found = [Principal("anonymous")]
    for role in ROLES:
        found.append(Principal(role, roles=(role,)))
        found.append(Principal(f"{role}@{SCOPED_SITE}", roles=(role,), sites=(SCOPED_SITE,)))
    found += [Principal(f"key:{scope}", scopes=(scope,)) for scope in SCOPES]
    found.append(Principal(KEY_OF_SITE, scopes=SCOPES, sites=(SCOPED_SITE,)))
    return found


NAMES = tuple(p.name for p in principals())
GROUPS: dict[str, frozenset[str]] = {
    "everyone": frozenset(NAMES),
    "authenticated": frozenset(n for n in NAMES if n != "anonymous"),
    "staff": frozenset(n for n in NAMES if n != "anonymous" and not n.startswith("key:")),
}


@dataclass
class Row:
    allow: frozenset[str]
    expected: str | None = None
    note: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def expand(names: list[str] | str) -> frozenset[str]:
    """Principal names, with groups (`everyone`, `authenticated`, `staff`) and `role*` (= the
    role unscoped and scoped) expanded; an unknown name is an error in the table."""
    if isinstance(names, str):
        names = [names]
    result: set[str] = set()
    for name in names:
        if name in GROUPS:
            result |= GROUPS[name]
        elif name.endswith("*") and name[:-1] in ROLES:
            result |= {name[:-1], f"{name[:-1]}@{SCOPED_SITE}"}
        elif name in NAMES:
            result.add(name)
        else:
            raise ValueError(f"unknown principal {name!r} in {TABLE.name}")
    return frozenset(result)


def compact(allowed: frozenset[str]) -> list[str] | str:
    """The shortest spelling of a set of principals for the table (inverse of `expand`)."""
    for group in ("everyone", "authenticated", "staff"):
        if allowed == GROUPS[group]:
            return group
    rest = set(allowed)
    out: list[str] = []
    if GROUPS["staff"] <= rest:
        out.append("staff")
        rest -= GROUPS["staff"]
    for role in ROLES:
        both = {role, f"{role}@{SCOPED_SITE}"}
        if both <= rest:
            out.append(f"{role}*")
            rest -= both
    return out + [n for n in NAMES if n in rest]


def load(path: Path = TABLE) -> dict[str, Row]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = {}
    for operation, entry in data["operations"].items():
        rows[operation] = Row(
            allow=expand(entry.get("allow", [])),
            expected=entry.get("expected"),
            note=entry.get("note"),
            raw=entry,
        )
    return rows


def operation_key(method: str, path: str) -> str:
    return f"{method.upper()} {path}"
