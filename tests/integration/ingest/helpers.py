"""Realistic submissions and small helpers shared by the ingest integration tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from common.db import Database
from common.jobs import run_once
from common.testing import staff
from services.ingest.crawler.run import crawl_next
from services.ingest.models import tables
from services.ingest.settings import IngestSettings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ingest"
EDITOR = staff("editor", ("editor",))
EDITOR2 = staff("editor2", ("editor",))
ADMIN = staff("admin", ("admin",))


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def policy_body() -> str:
    page = fixture("policy_page.html")
    return page[page.index('<div id="d1">') : page.index('<div class="footer">')]


def policy(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "省政府办公厅关于进一步加强政府网站信息内容建设的实施意见",
        "body_html": policy_body(),
        "kind": "policy",
        "site": "province",
        "columns": ["policies"],
        "publisher": "江苏省人民政府办公厅",
        **overrides,
    }


def traditional(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "重慶市人民政府辦公廳關於進一步加強政府網站管理的通知",
        "body_text": fixture("traditional_pinyin.txt"),
        "kind": "notice",
        "site": "province",
        "columns": ["notices"],
        "publisher": "重慶市人民政府辦公廳",
        **overrides,
    }


async def outbox_events(database_url: str) -> list[dict[str, Any]]:
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            rows = (await conn.execute(select(tables.outbox).order_by(tables.outbox.c.id))).all()
    finally:
        await database.dispose()
    return [{"topic": r.topic, **orjson.loads(r.payload)} for r in rows]


async def run_pending(database: Database, settings: IngestSettings) -> int:
    """Run every queued crawl, one committed pass of the worker's `crawl` job after another."""
    ran = 0
    while await run_once(database, lambda run: crawl_next(run, settings)):
        ran += 1
    return ran
