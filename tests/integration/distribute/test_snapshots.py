"""The library's versions as distribute keeps them: stored once; a repeat changes nothing but
the `reprint_of` a version fetched from ingest's API did not carry."""

from __future__ import annotations

from services.distribute.library import store_snapshot
from services.distribute.models import ContentSnapshot
from tests.integration.distribute.conftest import Distribute, ingested


async def test_a_version_seen_again_keeps_its_text_and_learns_its_original(
    distribute: Distribute,
) -> None:
    first = ingested(content_id="rp1", title="第一次收到的标题")
    async with distribute.app.state.db.sessions() as session:
        await store_snapshot(session, first)
        await session.commit()
    again = ingested(content_id="rp1", title="重复送达的标题", reprint_of="orig1")
    async with distribute.app.state.db.sessions() as session:
        answered = await store_snapshot(session, again)
        await session.commit()
    assert (answered.title, answered.reprint_of) == ("第一次收到的标题", "orig1")
    async with distribute.app.state.db.sessions() as session:
        stored = await session.get(ContentSnapshot, ("rp1", 1))
    assert stored is not None
    assert (stored.title, stored.reprint_of) == ("第一次收到的标题", "orig1")
