"""A distribute app with the demo accounts (2 WeChat, 2 Weibo for `province/news`) whose
adapters are scripted in the test: each call answers from a per-step script (else success) and
is recorded, so a test asserts exactly what the platforms were sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import update
from sqlmodel import col, select

from common.events import utcnow
from kitchen.sandboxes.demo import DEMO_ACCOUNTS
from services.distribute.app import create_app
from services.distribute.channels.adapters import ChannelAdapters
from services.distribute.channels.contract import AccountAccess, Outcome, StepResult
from services.distribute.channels.delivery import ChannelDispatcher
from services.distribute.models import (
    ChannelAccount,
    ChannelPost,
    ChannelQuota,
    Delivery,
    DeliveryAttempt,
    Release,
)
from services.distribute.settings import DistributeSettings
from tests.integration.distribute.conftest import Distribute, FakeIngest, make_settings

FINAL = {"wechat": "submit", "weibo": "share"}


@dataclass
class Call:
    method: str  # publish | confirm | retract
    step: str
    account: str  # platform account id
    marker: str
    progress: dict[str, Any]


@dataclass
class ScriptedAdapter:
    """WeChat: `draft` then `submit` (final); Weibo: `share` (final). `script[(method, step)]`
    lists the results the next calls get; when it is empty a call succeeds."""

    platform: str
    calls: list[Call] = field(default_factory=list)
    script: dict[tuple[str, str, str], list[StepResult]] = field(
        default_factory=lambda: defaultdict(list)
    )

    final_steps: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.final_steps = frozenset({FINAL[self.platform]})

    def answer(self, method: str, step: str, *results: StepResult, account: str = "") -> None:
        """Script the next answers to `method`/`step` (of one platform account id, or any)."""
        self.script[(method, step, account)].extend(results)

    def next_step(self, variant: dict[str, Any], progress: dict[str, Any]) -> str:
        if self.platform == "wechat" and "media_id" not in progress:
            return "draft"
        return FINAL[self.platform]

    def _scripted(self, method: str, step: str, account: AccountAccess) -> StepResult | None:
        for key in ((method, step, account.platform_account_id), (method, step, "")):
            queue = self.script.get(key)
            if queue:
                return queue.pop(0)
        return None

    async def verify(self, account: AccountAccess) -> StepResult:
        return StepResult(Outcome.STEP_DONE)

    async def publish(
        self, account: AccountAccess, variant: dict[str, Any], marker: str, progress: dict[str, Any]
    ) -> StepResult:
        step = self.next_step(variant, progress)
        self.calls.append(Call("publish", step, account.platform_account_id, marker, progress))
        scripted = self._scripted("publish", step, account)
        if scripted is not None:
            return scripted
        if step == "draft":
            return StepResult(
                Outcome.STEP_DONE, progress={"media_id": f"m-{marker}"}, stage="drafted"
            )
        return self.live(marker)

    def live(self, marker: str) -> StepResult:
        return StepResult(
            Outcome.PUBLISHED,
            progress={"article_id": f"a-{marker}"},
            stage="published",
            post_url=f"https://{self.platform}.example/{marker}",
            platform_post_id=f"a-{marker}",
            response=f'{{"ok": true, "id": "a-{marker}"}}',
            status_code=200,
        )

    async def confirm(
        self, account: AccountAccess, marker: str, progress: dict[str, Any]
    ) -> StepResult:
        self.calls.append(Call("confirm", "", account.platform_account_id, marker, progress))
        return self._scripted("confirm", "", account) or StepResult(Outcome.ABSENT)

    async def retract(self, account: AccountAccess, progress: dict[str, Any]) -> StepResult:
        self.calls.append(Call("retract", "", account.platform_account_id, "", progress))
        removed = StepResult(
            Outcome.REMOVED, response='{"errcode": 0, "errmsg": "ok"}', status_code=200
        )
        return self._scripted("retract", "", account) or removed

    async def aclose(self) -> None:
        return None

    def made(self, method: str, step: str = "", account: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and step in ("", c.step) and account in (None, c.account)
        ]


@dataclass
class Channels:
    distribute: Distribute
    wechat: ScriptedAdapter
    weibo: ScriptedAdapter
    dispatcher: ChannelDispatcher

    @property
    def settings(self) -> DistributeSettings:
        return self.distribute.settings

    async def step(self, times: int = 1) -> int:
        """Run the job's pass `times` times (each committed); how many it leased in all."""
        leased = 0
        for _ in range(times):
            leased += await self.distribute.run(self.dispatcher.step)
        return leased

    async def drain(self, most: int = 20) -> None:
        """Passes until one leases nothing."""
        for _ in range(most):
            if not await self.step():
                return

    async def release_state(self, content_id: str, version: int = 1) -> str:
        [release] = await self.rows(
            Release, col(Release.content_id) == content_id, col(Release.version) == version
        )
        return str(release.state)

    async def rows(self, model: Any, *where: Any) -> list[Any]:
        async with self.distribute.app.state.db.sessions() as session:
            return list(await session.exec(select(model).where(*where)))

    async def deliveries(self, content_id: str, action: str = "publish") -> dict[str, Delivery]:
        """The item's new-media deliveries by platform account id."""
        accounts = {a.id: a.platform_account_id for a in await self.rows(ChannelAccount)}
        found = await self.rows(
            Delivery,
            col(Delivery.content_id) == content_id,
            col(Delivery.action) == action,
            col(Delivery.channel).in_(("wechat", "weibo", "account")),
        )
        return {accounts.get(d.account_id or "", d.target): d for d in found}

    async def account(self, platform_account_id: str) -> ChannelAccount:
        [account] = await self.rows(
            ChannelAccount, col(ChannelAccount.platform_account_id) == platform_account_id
        )
        assert isinstance(account, ChannelAccount)
        return account

    async def post(self, delivery_id: str) -> ChannelPost:
        [post] = await self.rows(ChannelPost, col(ChannelPost.delivery_id) == delivery_id)
        assert isinstance(post, ChannelPost)
        return post

    async def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        rows = await self.rows(DeliveryAttempt, col(DeliveryAttempt.delivery_id) == delivery_id)
        return sorted(rows, key=lambda a: a.id or 0)

    async def execute(self, statement: Any) -> None:
        async with self.distribute.app.state.db.sessions() as session:
            await session.execute(statement)
            await session.commit()

    async def make_due(self, *delivery_ids: str, at: datetime | None = None) -> None:
        """Time passes: the deliveries' next attempt (and any lease) is due now."""
        moment = at or utcnow() - timedelta(seconds=1)
        await self.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(delivery_ids))
            .values(next_attempt_at=moment, lease_until=moment)
        )

    async def lift_pauses(self) -> None:
        """The platform's quota reset: every recorded pause is over."""
        past = utcnow() - timedelta(seconds=1)
        await self.execute(update(ChannelQuota).values(limit_until=past))

    async def events(self, target: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in await self.distribute.outbox("delivery.updated")
            if target in (None, e["target"])
        ]


ChannelsFactory = Callable[..., Awaitable[Channels]]


@pytest.fixture
async def make_channels(database_url: str) -> AsyncIterator[ChannelsFactory]:
    """`await make_channels(**settings)`: the app started with those settings, its adapters
    scripted (`real=True`: the app's own adapters, e.g. to the sandboxes)."""
    managers: list[tuple[LifespanManager, httpx.AsyncClient]] = []

    async def make(real: bool = False, **overrides: Any) -> Channels:
        values: dict[str, Any] = {"demo_channel_accounts": DEMO_ACCOUNTS}
        settings = make_settings(database_url, **(values | overrides))
        ingest = FakeIngest()
        app = create_app(settings, ingest_transport=httpx.MockTransport(ingest))
        manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=60)
        await manager.__aenter__()
        transport = httpx.ASGITransport(app=manager.app)
        client = httpx.AsyncClient(transport=transport, base_url="http://distribute")
        managers.append((manager, client))
        distribute = Distribute(app, client, ingest, settings)
        wechat, weibo = ScriptedAdapter("wechat"), ScriptedAdapter("weibo")
        adapters = distribute.deps.channels  # the real adapters (the sandboxes' tests)
        if not real:
            scripted = {"wechat": lambda s: wechat, "weibo": lambda s: weibo}
            adapters = ChannelAdapters(settings, scripted)
            distribute.deps.channels = adapters
        dispatcher = ChannelDispatcher(settings, adapters, distribute.deps.box)
        return Channels(distribute, wechat, weibo, dispatcher)

    yield make
    for manager, client in reversed(managers):
        await client.aclose()
        await manager.__aexit__(None, None, None)


@pytest.fixture
async def channels(make_channels: ChannelsFactory) -> Channels:
    return await make_channels()
