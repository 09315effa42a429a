"""`kitchen import PATH`: files, folders and zips through the pipeline, with a summary."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from common.db import Database
from kitchen.cli import app
from services.ingest.models import ContentItem, ItemSource
from tests.integration.ingest.helpers import fixture

NOTICE_TXT = (
    "关于开展政府网站普查工作的通知\n各县（区、市）人民政府：\n"
    "根据国务院办公厅部署，现开展政府网站普查工作，请于6月底前完成自查。\n"
    "市人民政府办公厅\n2015年5月30日\n"
)


def make_corpus(root: Path) -> Path:
    folder = root / "corpus"
    (folder / "sub").mkdir(parents=True)
    page = fixture("policy_page.html").replace('charset=utf-8"', 'charset=gbk"')
    (folder / "policy.html").write_bytes(page.encode("gbk"))
    (folder / "sub" / "notice.txt").write_text(NOTICE_TXT, encoding="utf-8")
    (folder / "sub" / "report.doc").write_bytes(b"\xd0\xcf\x11\xe0 not a page")
    (folder / "sub" / "broken.txt").write_bytes(b"\xff\xfe\xff\xfa\xff" * 20)
    with zipfile.ZipFile(folder / "archive.zip", "w") as archive:
        archive.writestr("通知副本.txt", NOTICE_TXT.encode("gb18030"))  # same notice, GB18030
        archive.writestr("traditional.txt", fixture("traditional_pinyin.txt"))
    return folder


async def rows(database_url: str) -> tuple[list[ContentItem], list[ItemSource]]:
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            items = list((await session.execute(select(ContentItem))).scalars())
            sources = list((await session.execute(select(ItemSource))).scalars())
            return items, sources
    finally:
        await database.dispose()


def test_import_a_folder_with_a_zip(tmp_path: Path, database_url: str) -> None:
    folder = make_corpus(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "import",
            str(folder),
            "--site",
            "province",
            "--column",
            "policies",
            "--url",
            database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "added 3, merged 1, rejected 2" in result.output
    assert "unsupported file type .doc" in result.output and "undecodable bytes" in result.output
    items, sources = asyncio.run(rows(database_url))
    titles = {i.title for i in items}
    assert "省政府办公厅关于进一步加强政府网站信息内容建设的实施意见" in titles  # decoded from GBK
    notice = next(i for i in items if i.title == "关于开展政府网站普查工作的通知")
    assert notice.publisher == "市人民政府办公厅"  # taken from the signature
    assert {s.channel for s in sources} == {"import"}
    assert sorted(s.outcome for s in sources if s.content_id == notice.id) == ["created", "merged"]
