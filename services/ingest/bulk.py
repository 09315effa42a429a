"""Bulk import of files, folders or zip archives of HTML / text documents through the pipeline.

Each document is its own transaction (`common.jobs.run_once`); the summary says what was added,
merged into an existing item, or rejected and why. The start and the end of an import (who ran
it, what came of it) are entries of ingest's audit chain. The CLI (`kitchen import`) only draws
the progress bar.
"""

from __future__ import annotations

import zipfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.db import Database
from common.jobs import JobRun, run_once
from services.ingest import audit, pipeline
from services.ingest.crawler.decode import decode
from services.ingest.crawler.extract import extract_article
from services.ingest.pipeline import Outcome
from services.ingest.prepare import Incoming
from services.ingest.settings import IngestSettings

DOCUMENT_SUFFIXES = (".html", ".htm", ".shtml", ".txt")
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


@dataclass
class ImportOptions:
    site: str
    columns: list[str]
    publisher: str | None
    kind: str = "news"
    actor: str = "import"  # the items' author
    operator: str = "cli"  # who started the import (audited)


@dataclass
class ImportSummary:
    added: list[tuple[str, str]] = field(default_factory=list)  # (name, item id)
    merged: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)


class Rejected(ValueError):
    """This document cannot be imported; the message is the reason shown in the summary."""


def documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file under `path`; zip archives are opened, members in order."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            yield from documents(child)
    elif path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if not info.is_dir():
                    name = info.filename
                    if info.flag_bits & 0x800 == 0:  # not UTF-8 flagged: Chinese Windows zips
                        name = name.encode("cp437").decode("gb18030", errors="replace")
                    yield f"{path.name}:{name}", archive.read(info)
    else:
        yield str(path), path.read_bytes()


def count(path: Path) -> int:
    return sum(1 for _ in documents(path))


def to_incoming(name: str, data: bytes, options: ImportOptions) -> Incoming:
    suffix = Path(name.rsplit(":", 1)[-1]).suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES:
        raise Rejected(f"unsupported file type {suffix or '(none)'}")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise Rejected(f"larger than {MAX_DOCUMENT_BYTES} bytes")
    text, encoding = decode(data, None)
    if encoding == "replace":
        raise Rejected("undecodable bytes (not UTF-8, GB18030 or Big5)")
    base = dict(
        kind=options.kind, site=options.site, columns=list(options.columns),
        publisher=options.publisher, channel="import", actor=options.actor, source_name=name,
        external_id=name, raw=data,
        raw_media_type="text/plain" if suffix == ".txt" else "text/html",
    )  # fmt: skip
    if suffix == ".txt":
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise Rejected("no title and body (a text file needs a title line and a body)")
        return Incoming(title=lines[0].strip(), body_text="\n".join(lines[1:]), **base)  # type: ignore[arg-type]
    article = extract_article(text, "file:///" + name)
    if not article.title:
        raise Rejected("no title found in the page")
    return Incoming(
        title=article.title, body_html=article.body_html, published_at=article.published_at,
        **base,  # type: ignore[arg-type]
    )  # fmt: skip


async def import_path(
    database: Database,
    path: Path,
    options: ImportOptions,
    settings: IngestSettings,
    on_document: Callable[[str, str], None] | None = None,
) -> ImportSummary:
    """Import every document under `path`; `on_document(name, outcome)` after each one."""
    summary = ImportSummary()
    subject = f"import:{path.name}"
    started = {"path": path.name, "site": options.site, "columns": options.columns}
    await _audit(database, options.operator, "import.started", subject, started)
    for name, data in documents(path):
        try:
            incoming = to_incoming(name, data, options)
            if not incoming.title.strip():
                raise Rejected("empty title")
            outcome = await run_once(database, _ingesting(incoming, settings))
        except Rejected as error:
            summary.rejected.append((name, str(error)))
            outcome_name = "rejected"
        except Exception as error:  # one broken document must not stop the import
            summary.rejected.append((name, f"{type(error).__name__}: {error}"))
            outcome_name = "rejected"
        else:
            bucket = summary.merged if outcome.outcome == "merged" else summary.added
            bucket.append((name, outcome.item.id))
            outcome_name = "merged" if outcome.outcome == "merged" else "added"
        if on_document:
            on_document(name, outcome_name)
    counts = {
        "path": path.name,
        "added": len(summary.added),
        "merged": len(summary.merged),
        "rejected": len(summary.rejected),
    }
    await _audit(database, options.operator, "import.finished", subject, counts)
    return summary


def _ingesting(
    incoming: Incoming, settings: IngestSettings
) -> Callable[[JobRun], Awaitable[Outcome]]:
    async def work(run: JobRun) -> Outcome:
        return await pipeline.ingest(run.session, incoming, settings)

    return work


async def _audit(
    database: Database, operator: str, action: str, subject: str, data: dict[str, Any]
) -> None:
    async def work(run: JobRun) -> None:
        await audit.record(run.session, operator, action, subject, data)

    await run_once(database, work)
