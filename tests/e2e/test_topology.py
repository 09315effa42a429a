"""The production topology of docker-compose.yml, started natively, scaled and rolled.

`kitchen.topology` reads the compose file — commands, environment, health checks, start order —
so the file and this test cannot drift. Every service runs as two API and two worker processes
(`KITCHEN_ENVIRONMENT=production`, secrets from the environment, one PostgreSQL database per
service), the gateway as two replicas behind the reverse proxy of `deploy/nginx.conf`, against the
local broker. The README walk passes through it; then, while submissions and sign-offs flow,
every replica is stopped and started again in turn (SIGTERM, one SIGKILL per service).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import feedparser
import httpx
import pytest

from common.testing import POSTGRES_ADMIN_DSN, database_kind_under_test, free_port
from kitchen.broker import start_broker, stop_process, wait_listening
from tests.e2e.convergence import (
    settle_hooked,
    settle_library,
    settle_published,
    sign_remaining_stages,
)
from tests.e2e.hub import REVIEWERS, HubClient, notice, wait_for
from tests.e2e.proxy import running_nginx
from tests.e2e.receiver import webhook_receiver
from tests.e2e.topology import NativeTopology, Replica, read_compose

pytestmark = pytest.mark.skipif(
    database_kind_under_test() != "postgres",
    reason="production runs on PostgreSQL, one database per service (the PostgreSQL pass)",
)
ROOT = Path(__file__).resolve().parents[2]
REPLICAS = 2
PASSWORD = "Topology-test-" + secrets.token_urlsafe(12)
WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
# What this machine cannot honour of the compose settings, each for a reason:
OVERRIDES = {
    "KITCHEN_KAFKA_IDEMPOTENCE": "false",  # the local broker has no idempotent producers
    # the local broker holds every fetch for the whole wait, Apache Kafka answers on arrival
    "KITCHEN_KAFKA_FETCH_MAX_WAIT_MS": "20",
    "KITCHEN_OUTBOUND_ALLOW": "127.0.0.1",  # the test's webhook receiver is on loopback
    # the proxy is 127.0.0.1 here, which uvicorn would believe by itself (in compose it is not)
    "FORWARDED_ALLOW_IPS": "",
    "KITCHEN_TRUSTED_PROXIES": "127.0.0.1",  # the proxy's address here, 172.28.0.10 in compose
    # this machine's server allows 100 connections, compose's 300: 18 processes × 5 fit in 100
    "KITCHEN_DATABASE_POOL_SIZE": "3",
    "KITCHEN_DATABASE_MAX_OVERFLOW": "2",
}
IN_FLIGHT = 8


@contextmanager
def local_broker(directory: Path) -> Iterator[str]:
    port = free_port()
    broker = start_broker(port, directory / "broker.log")
    try:
        # Listening only: compose's `kafka-topics` one-shot creates the topics.
        wait_listening(broker, port, directory / "broker.log")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(broker)


@asynccontextmanager
async def service_databases(names: list[str], prefix: str) -> AsyncIterator[None]:
    """The role and the databases `deploy/postgres-init.sql` creates, under a prefix."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = 'kitchen'"):
            await admin.execute("CREATE ROLE kitchen LOGIN")
        for name in names:
            await admin.execute(f'CREATE DATABASE "{prefix}{name}" OWNER kitchen')
        yield
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}{name}" WITH (FORCE)')
        await admin.close()


def database_names() -> list[str]:
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    return [
        line.split()[2].rstrip(";")
        for line in init.splitlines()
        if line.startswith("CREATE DATABASE")
    ]


@asynccontextmanager
async def production_topology(directory: Path) -> AsyncIterator[NativeTopology]:
    environment = {
        "KITCHEN_INTERNAL_SECRET": secrets.token_urlsafe(32),
        "KITCHEN_DATA_KEY": secrets.token_urlsafe(32),
        "KITCHEN_TOKEN_SECRET": secrets.token_urlsafe(32),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    }
    services = read_compose(ROOT / "docker-compose.yml", environment)
    prefix = f"kitchen_topology_{secrets.token_hex(4)}_"
    with local_broker(directory) as bootstrap:
        async with service_databases(database_names(), prefix):
            topology = NativeTopology(
                services=services,
                bootstrap=bootstrap,
                postgres="127.0.0.1:5432",
                var_dir=directory,
                replicas={name: REPLICAS for name in services},
                database_prefix=prefix,
                overrides=OVERRIDES,
                ports={name: [free_port() for _ in range(REPLICAS)] for name in services},
            )
            try:
                started = time.monotonic()
                await asyncio.to_thread(topology.up)
                print(f"topology up in {time.monotonic() - started:.1f}s: {processes(topology)}")
                yield topology
            finally:
                await asyncio.to_thread(topology.down)


def processes(topology: NativeTopology) -> str:
    return ", ".join(replica.name for replica in topology.all_replicas())


def create_admin(topology: NativeTopology) -> None:
    """As the README's production section does it, with the gateway's environment."""
    subprocess.run(
        [
            str(Path(sys.executable).parent / "kitchen"),
            "users",
            "create-admin",
            "--username",
            "admin",
            "--password-stdin",
        ],
        input=f"{PASSWORD}\n".encode(),
        env=topology.environment("gateway"),
        check=True,
        capture_output=True,
    )


async def set_up_the_province(hub: HubClient, hook_url: str) -> None:
    """What a general office does on a fresh installation: the site, a column, the staff, a
    subscriber."""
    admin = await hub.login("admin")
    site = {
        "slug": "province",
        "name": "省人民政府门户网站",
        "domain": "www.example.gov.cn",
        "site_id_code": "5100000001",
    }
    for path, body in (
        ("/api/v1/sites", site),
        ("/api/v1/sites/province/columns", {"slug": "notices", "name": "通知公告"}),
    ):
        response = await hub.http.post(path, json=body, headers=admin)
        assert response.status_code == 201, response.text
    staff = [("editor", "editor"), *((reviewer, "reviewer") for reviewer in REVIEWERS)]
    for user, role in staff:
        body = {"id": user, "display_name": user, "password": PASSWORD, "roles": [role]}
        response = await hub.http.post("/api/v1/users", json=body, headers=admin)
        assert response.status_code == 201, response.text
    response = await hub.http.post(
        "/api/v1/webhook-endpoints",
        json={"url": hook_url, "secret": WEBHOOK_SECRET, "site": "province"},
        headers=admin,
    )
    assert response.status_code == 201, response.text


async def readme_walk(hub: HubClient, received: Any) -> str:
    """Log in, submit, three sign-offs, column list, feed, the webhook."""
    item = await hub.submit(notice(1))
    await hub.approve_all_stages(item["id"])
    published = await settle_published(hub, [item["id"]], {item["id"]})
    feed = await hub.http.get("/feeds/province/notices.rss")
    assert feed.status_code == 200
    assert [entry.title for entry in feedparser.parse(feed.content).entries] == [notice(1)["title"]]
    await settle_hooked(received, published)
    return str(item["id"])


@dataclass
class Load:
    """Submissions and sign-offs through the front, every answer counted by status."""

    hub: HubClient
    accepted: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    next_number: int = 1000

    async def run(self) -> None:
        """Until `stop`: `IN_FLIGHT` items at once, each submitted and then signed three times."""
        self.stop.clear()
        semaphore = asyncio.Semaphore(IN_FLIGHT)
        pending: set[asyncio.Task[None]] = set()
        while not self.stop.is_set():
            await semaphore.acquire()
            self.next_number += 1
            task = asyncio.create_task(self.one(self.next_number))
            pending.add(task)
            task.add_done_callback(pending.discard)
            task.add_done_callback(lambda _: semaphore.release())
        await asyncio.gather(*pending)

    async def one(self, n: int) -> None:
        try:
            response = await self.hub.http.post(
                "/api/v1/contents", json=notice(n), headers=await self.hub.login("editor")
            )
            self.statuses[response.status_code] += 1
            if response.status_code != 202:
                self.failures.append(f"submit {n}: {response.status_code} {response.text[:200]}")
                return
            self.accepted.append(response.json()["id"])
            await sign_remaining_stages(self.hub, response.json()["id"])
        except (httpx.HTTPError, AssertionError, TimeoutError) as error:
            self.failures.append(f"item {n}: {error!r}")

    def take_failures(self) -> list[str]:
        failures, self.failures = self.failures, []
        return failures


async def under_load(load: Load, disruption: Awaitable[list[str]]) -> list[str]:
    """Run `disruption` while the load flows; its log, once the load has wound down."""
    running = asyncio.create_task(load.run())
    before = len(load.accepted)
    await wait_for(lambda: _at_least(load, before + 5), within=120)
    try:
        return await disruption
    finally:
        load.stop.set()
        await running


async def rolling_restart(topology: NativeTopology) -> list[str]:
    """Each service's replicas stopped (SIGTERM) and started again one after the other, every
    service at the same time, as a rolling deploy does."""

    async def roll(name: str) -> list[str]:
        log = []
        for replica in topology.placed[name]:
            started = time.monotonic()
            await asyncio.to_thread(topology.restart, replica)
            log.append(
                f"{replica.name} SIGTERM, healthy again in {time.monotonic() - started:.1f}s"
            )
        return log

    logs = await asyncio.gather(*(roll(name) for name in topology.placed))
    return [line for log in logs for line in log]


async def one_killed_each(topology: NativeTopology) -> list[str]:
    """The first replica of every service SIGKILLed at once, then started again."""

    async def kill(replica: Replica) -> str:
        started = time.monotonic()
        await asyncio.to_thread(topology.restart, replica, True)
        return f"{replica.name} SIGKILL, healthy again in {time.monotonic() - started:.1f}s"

    return list(await asyncio.gather(*(kill(r[0]) for r in topology.placed.values())))


async def test_compose_topology_runs_scales_and_rolls(tmp_path: Path) -> None:
    async with production_topology(tmp_path) as topology:
        await asyncio.to_thread(create_admin, topology)
        gateways = [replica.port for replica in topology.placed["gateway"]]
        with running_nginx(gateways, tmp_path / "proxy") as front_port:
            hub = HubClient(f"http://127.0.0.1:{front_port}", password=PASSWORD)
            try:
                async with webhook_receiver(WEBHOOK_SECRET) as (hook_url, received):
                    await set_up_the_province(hub, hook_url)
                    walked = await readme_walk(hub, received)
                    await check_rolls(topology, hub, received, walked)
            finally:
                await hub.close()


async def check_rolls(topology: NativeTopology, hub: HubClient, received: Any, walked: str) -> None:
    load = Load(hub)
    rolled = await under_load(load, rolling_restart(topology))
    print("\n".join(rolled))
    print(f"answers during the rolling restart: {dict(load.statuses)}")
    failures = load.take_failures()
    assert not failures, f"requests failed while replicas drained: {failures[:5]}"
    assert all(status < 500 for status in load.statuses), load.statuses

    load.statuses.clear()
    killed = await under_load(load, one_killed_each(topology))
    print("\n".join(killed))
    lost_answers = load.take_failures()
    print(
        f"answers while one replica of each was killed: {dict(load.statuses)}; "
        f"{len(lost_answers)} requests cut off: {lost_answers[:5]}"
    )

    # a sign-off cut off by a kill is signed now; everything answered 202 must come out once
    ids = sorted({walked, *load.accepted})
    await asyncio.gather(*(sign_remaining_stages(hub, c) for c in ids))
    published = await settle_published(hub, ids, set(ids))
    await settle_hooked(received, published)
    await settle_library(hub, ids, published)
    print(f"{len(ids)} accepted, each published, hooked and in the library exactly once")


async def _at_least(load: Load, count: int) -> bool:
    return len(load.accepted) >= count
