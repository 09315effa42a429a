"""A version's stored renditions: rendered once, and two writers rendering the same new version
at once keep one row per platform, both answering with it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from services.distribute.channels.variants import variants_for
from services.distribute.library import store_snapshot
from services.distribute.models import ChannelVariant, ContentSnapshot
from tests.integration.distribute.conftest import Distribute, ingested


def naive(at: datetime) -> datetime:
    """UTC without its zone: SQLite hands stored times back naive."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


async def test_racing_writers_of_a_new_version_keep_one_rendition_each(
    distribute: Distribute,
) -> None:
    data = ingested(content_id="race1")
    async with distribute.app.state.db.sessions() as session:
        await store_snapshot(session, data)  # the snapshot alone: no rendition yet
        await session.commit()
    both_read = asyncio.Barrier(2)

    async def render() -> dict[str, tuple[str, str]]:
        async with distribute.app.state.db.sessions() as session:
            snapshot = await session.get(ContentSnapshot, ("race1", 1))
            assert snapshot is not None
            await both_read.wait()  # each has seen the snapshot before either writes
            variants = await variants_for(session, snapshot)
            await session.commit()
            return {p: (v.variant_hash, naive(v.rendered_at)) for p, v in variants.items()}

    first, second = await asyncio.gather(render(), render())
    async with distribute.app.state.db.sessions() as session:
        rows = (await session.execute(select(ChannelVariant))).scalars().all()
        count = (await session.execute(select(func.count()).select_from(ChannelVariant))).one()
    assert count[0] == 2 and {r.platform for r in rows} == {"wechat", "weibo"}
    stored = {r.platform: (r.variant_hash, naive(r.rendered_at)) for r in rows}
    # Both writers answer with the stored rows: the loser's own rendering was not kept.
    assert first == second == stored
