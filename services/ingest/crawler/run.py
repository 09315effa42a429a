"""A crawl run: discover article URLs, fetch each politely, put new or changed ones through the
pipeline. Each page commits on its own, so one bad page never undoes the others; progress is
written to the run row as pages finish, so the API shows it live. A running run renews its
heartbeat; `recover_stale` turns runs of a dead worker into `interrupted` ones."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from common.db import Database
from common.events import utcnow
from common.outbound import OutboundPolicy, outbound_client
from services.ingest import pipeline
from services.ingest.crawler.decode import decode
from services.ingest.crawler.extract import article_links, read_article, sitemap_links
from services.ingest.crawler.feeds import Entry, entries
from services.ingest.crawler.fetch import FEED_TYPES, Fetcher, FetchFailed
from services.ingest.models import ContentItem
from services.ingest.models_intake import CrawlRun, CrawlSource, PageState
from services.ingest.prepare import Incoming
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)
MAX_RECORDED_ERRORS = 200


class Progress:
    """Counters and errors of one run, flushed to its row by one writer at a time."""

    def __init__(self, database: Database, run_id: str) -> None:
        self.database = database
        self.run_id = run_id
        self.counters: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()

    async def count(self, outcome: str, url: str | None = None, reason: str | None = None) -> None:
        async with self.lock:
            self.counters[outcome] += 1
            if reason and len(self.errors) < MAX_RECORDED_ERRORS:
                self.errors.append({"url": url, "reason": reason, "at": utcnow().isoformat()})
            await self.flush()

    async def flush(self, **fields: Any) -> None:
        """Write counters and errors (and renew the heartbeat) while the run is still running:
        a run already declared interrupted is not written back to life."""
        async with self.database.sessions() as session:
            await session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == self.run_id, CrawlRun.status == "running")
                .values(
                    counters=dict(self.counters),
                    errors=list(self.errors),
                    heartbeat_at=utcnow(),
                    **fields,
                )
            )
            await session.commit()


def new_client(settings: IngestSettings) -> httpx.AsyncClient:
    """The crawler's client: guarded (common.outbound), so a source cannot point it inside."""
    return outbound_client(
        OutboundPolicy.from_settings(settings),
        timeout=httpx.Timeout(settings.crawl_timeout_seconds),
        follow_redirects=True,
        max_redirects=settings.crawl_max_redirects,
    )


async def claim(database: Database, run_id: str) -> bool:
    """Mark a queued run running; False if another worker got it first."""
    async with database.sessions() as session:
        result = await session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id, CrawlRun.status == "queued")
            .values(status="running", started_at=utcnow(), heartbeat_at=utcnow())
        )
        await session.commit()
        return result.rowcount == 1


async def run_crawl(
    database: Database,
    run_id: str,
    settings: IngestSettings,
    client: httpx.AsyncClient | None = None,
) -> None:
    """Execute one queued run to the end; page failures are recorded, never raised."""
    if not await claim(database, run_id):
        return
    async with database.sessions() as session:
        run = await session.get(CrawlRun, run_id)
        assert run is not None
        source = await session.get(CrawlSource, run.source_id)
    assert source is not None
    own_client = client is None
    client = client or new_client(settings)
    progress = Progress(database, run_id)
    fetcher = Fetcher(
        client,
        settings.crawl_user_agent,
        settings.crawl_max_page_bytes,
        source.concurrency,
        source.delay_seconds,
    )
    status = "done"
    beating = asyncio.create_task(heartbeat(database, run_id, settings.crawl_heartbeat_seconds))
    try:
        if source.kind == "feed":
            await crawl_feed(database, source, fetcher, settings, progress)
        else:
            await crawl_site(database, source, fetcher, settings, progress)
    except Exception as error:  # a bug must not leave the run "running" forever
        log.exception("crawl run %s failed", run_id)
        status = "failed"
        progress.errors.append({"url": None, "reason": repr(error)})
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        if own_client:
            await client.aclose()
    await progress.flush(status=status, finished_at=utcnow())
    async with database.sessions() as session:
        await session.execute(
            update(CrawlSource).where(CrawlSource.id == source.id).values(last_run_at=utcnow())
        )
        await session.commit()


async def heartbeat(database: Database, run_id: str, every_seconds: float) -> None:
    """Renew the run's lease while it runs, even through a long fetch with no page finishing."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            async with database.sessions() as session:
                await session.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id == run_id, CrawlRun.status == "running")
                    .values(heartbeat_at=utcnow())
                )
                await session.commit()
        except Exception:  # a missed beat is survivable; the next one may succeed
            log.warning("heartbeat of crawl run %s failed", run_id, exc_info=True)


async def recover_stale(database: Database, stale_seconds: float) -> list[str]:
    """Runs left `running` by a dead worker (no heartbeat for `stale_seconds`) become
    `interrupted` with a reason, and their source is queued again (trigger `recovery`), unless
    the dead run was itself a recovery — then the source waits for its normal schedule, so a page
    that kills the worker cannot make it crash-loop. Returns the interrupted run ids."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    last_sign = func.coalesce(CrawlRun.heartbeat_at, CrawlRun.started_at, CrawlRun.created_at)
    interrupted = []
    async with database.sessions() as session:
        rows = await session.execute(
            select(CrawlRun).where(CrawlRun.status == "running", last_sign < cutoff)
        )
        for run in list(rows.scalars()):
            seen = run.heartbeat_at or run.started_at or run.created_at
            reason = (
                f"no heartbeat since {_aware(seen).isoformat()} (over {stale_seconds:g} s): "
                "the worker stopped or crashed during the run"
            )
            # Conditional on the heartbeat read: a worker that just beat keeps its run.
            result = await session.execute(
                update(CrawlRun)
                .where(
                    CrawlRun.id == run.id,
                    CrawlRun.status == "running",
                    last_sign < cutoff,
                )
                .values(status="interrupted", status_reason=reason, finished_at=now)
            )
            if result.rowcount != 1:
                continue
            interrupted.append(run.id)
            log.warning("crawl run %s interrupted: %s", run.id, reason)
            if run.trigger == "recovery":
                continue
            busy = await session.execute(
                select(CrawlRun.id).where(
                    CrawlRun.source_id == run.source_id,
                    CrawlRun.status.in_(("queued", "running")),
                )
            )
            source = await session.get(CrawlSource, run.source_id)
            if source is not None and source.enabled and busy.first() is None:
                session.add(new_run(run.source_id, "recovery"))
                await session.flush()
        await session.commit()
    return interrupted


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def discover(source: CrawlSource, fetcher: Fetcher, progress: Progress) -> list[str]:
    """Article URLs from the start pages (list pages or sitemaps), capped at `max_pages`."""
    found: dict[str, None] = {}
    for start in source.start_urls:
        try:
            page = await fetcher.fetch(start, accept=("text/html", *FEED_TYPES))
        except FetchFailed as error:
            await progress.count("failed", start, f"start page: {error}")
            continue
        if page.content_type.startswith(FEED_TYPES) or start.endswith(".xml"):
            links = sitemap_links(page.body)
        else:
            links = article_links(
                decode(page.body, page.content_type)[0], page.url, source.article_pattern
            )
        for link in links:
            found.setdefault(link, None)
    return list(found)[: source.max_pages]


async def crawl_site(
    database: Database,
    source: CrawlSource,
    fetcher: Fetcher,
    settings: IngestSettings,
    progress: Progress,
) -> None:
    urls = await discover(source, fetcher, progress)
    progress.counters["discovered"] = len(urls)
    await progress.flush()
    await asyncio.gather(
        *(crawl_page(database, source, url, fetcher, settings, progress) for url in urls)
    )


async def crawl_page(
    database: Database,
    source: CrawlSource,
    url: str,
    fetcher: Fetcher,
    settings: IngestSettings,
    progress: Progress,
) -> None:
    async with database.sessions() as session:
        state = await session.get(PageState, (source.id, url))
        try:
            fetched = await fetcher.fetch(
                url, state.etag if state else None, state.last_modified if state else None
            )
        except FetchFailed as error:
            await remember_failure(session, source, url, state, str(error))
            await progress.count("failed", url, str(error))
            return
        digest = hashlib.sha256(fetched.body).hexdigest()
        if fetched.status == 304 or (state and state.body_sha256 == digest):
            await progress.count("unchanged")
            return
        # Up to a few megabytes of parsing and extraction: off the event loop the API shares.
        article = await asyncio.to_thread(
            read_article, fetched.body, fetched.content_type, fetched.url
        )
        if not article.title or len(article.body_html) < 20:
            await remember_failure(session, source, url, state, "no article found on the page")
            await progress.count("failed", url, "no article found on the page")
            return
        incoming = Incoming(
            title=article.title, kind=source.content_kind, site=source.site,
            columns=list(source.columns), publisher=source.publisher, channel="crawl",
            actor=f"crawler:{source.id}", body_html=article.body_html,
            published_at=article.published_at, source_name=source.name, url=url,
            external_id=url, raw=fetched.body, raw_media_type=fetched.content_type,
        )  # fmt: skip
        outcome = await put_through_pipeline(session, state, incoming, settings)
        await save_state(
            session, source, url, state, fetched.etag, fetched.last_modified, digest, outcome
        )
        await session.commit()
        await progress.count(outcome[0])


async def put_through_pipeline(
    session: AsyncSession, state: PageState | None, incoming: Incoming, settings: IngestSettings
) -> tuple[str, str]:
    """(counter, item id): a page seen before that changed becomes a new version of its item."""
    if state is not None and state.content_id:
        item = await session.get(ContentItem, state.content_id)
        if item is not None:
            await pipeline.revise(session, item, incoming, settings)
            return "changed", item.id
    outcome = await pipeline.ingest(session, incoming, settings)
    return ("added" if outcome.outcome != "merged" else "merged"), outcome.item.id


async def save_state(
    session: AsyncSession,
    source: CrawlSource,
    url: str,
    state: PageState | None,
    etag: str | None,
    modified: str | None,
    digest: str,
    outcome: tuple[str, str],
) -> None:
    state = state or PageState(source_id=source.id, url=url, fetched_at=utcnow())
    state.etag, state.last_modified, state.body_sha256 = etag, modified, digest
    state.content_id, state.last_status, state.last_error = outcome[1], outcome[0], None
    state.fetched_at = utcnow()
    session.add(state)


async def remember_failure(
    session: AsyncSession, source: CrawlSource, url: str, state: PageState | None, reason: str
) -> None:
    state = state or PageState(source_id=source.id, url=url, fetched_at=utcnow())
    state.last_status, state.last_error, state.fetched_at = "failed", reason, utcnow()
    session.add(state)
    await session.commit()


async def crawl_feed(
    database: Database,
    source: CrawlSource,
    fetcher: Fetcher,
    settings: IngestSettings,
    progress: Progress,
) -> None:
    for feed_url in source.start_urls:
        async with database.sessions() as session:
            state = await session.get(PageState, (source.id, feed_url))
        try:
            fetched = await fetcher.fetch(
                feed_url,
                state.etag if state else None,
                state.last_modified if state else None,
                accept=(*FEED_TYPES, "text/html"),
            )
        except FetchFailed as error:
            await progress.count("failed", feed_url, str(error))
            continue
        if fetched.status == 304:
            await progress.count("unchanged")
            continue
        for entry in entries(fetched.body)[: source.max_pages]:
            await feed_entry(database, source, entry, settings, progress)
        async with database.sessions() as session:
            digest = hashlib.sha256(fetched.body).hexdigest()
            await save_state(
                session, source, feed_url, state, fetched.etag, fetched.last_modified, digest,
                ("feed", ""),
            )  # fmt: skip
            await session.commit()


async def feed_entry(
    database: Database,
    source: CrawlSource,
    entry: Entry,
    settings: IngestSettings,
    progress: Progress,
) -> None:
    digest = hashlib.sha256((entry.title + "\n" + entry.body_html).encode()).hexdigest()
    async with database.sessions() as session:
        state = await session.get(PageState, (source.id, entry.key))
        if state is not None and state.body_sha256 == digest:
            await progress.count("unchanged")
            return
        incoming = Incoming(
            title=entry.title, kind=source.content_kind, site=source.site,
            columns=list(source.columns), publisher=source.publisher, channel="feed",
            actor=f"feed:{source.id}", body_html=entry.body_html, published_at=entry.published_at,
            source_name=source.name, url=entry.link, external_id=entry.key,
            raw=entry.body_html.encode(), raw_media_type="text/html; charset=utf-8",
        )  # fmt: skip
        outcome = await put_through_pipeline(session, state, incoming, settings)
        await save_state(session, source, entry.key, state, None, None, digest, outcome)
        await session.commit()
    await progress.count(outcome[0])


async def enqueue_due(database: Database) -> list[str]:
    """Queue a scheduled run for every enabled source whose interval has passed."""
    now = utcnow()
    queued = []
    async with database.sessions() as session:
        busy = select(CrawlRun.source_id).where(CrawlRun.status.in_(("queued", "running")))
        sources = await session.execute(
            select(CrawlSource).where(CrawlSource.enabled, CrawlSource.id.not_in(busy))
        )
        for source in sources.scalars():
            last = source.last_run_at
            if last is not None:  # SQLite hands back naive UTC
                last = _aware(last)
            if last is not None and last + timedelta(minutes=source.interval_minutes) > now:
                continue
            run = new_run(source.id, "schedule")
            session.add(run)
            queued.append(run.id)
        await session.commit()
    return queued


def new_run(source_id: str, trigger: str) -> CrawlRun:
    return CrawlRun(
        id=pipeline.new_id(), source_id=source_id, trigger=trigger, status="queued",
        created_at=utcnow(), counters={}, errors=[],
    )  # fmt: skip


async def run_pending(
    database: Database, settings: IngestSettings, client: httpx.AsyncClient | None = None
) -> list[str]:
    """Run every queued run, oldest first; returns their ids."""
    async with database.sessions() as session:
        rows = await session.execute(
            select(CrawlRun.id).where(CrawlRun.status == "queued").order_by(CrawlRun.created_at)
        )
        ids = list(rows.scalars())
    for run_id in ids:
        await run_crawl(database, run_id, settings, client)
    return ids


def scheduler(settings: IngestSettings):  # type: ignore[no-untyped-def]
    """The worker's periodic job: recover dead runs, queue due sources, run what is queued,
    sleep, repeat."""

    async def loop(database: Database) -> None:
        while True:
            try:
                # First pass at worker start: runs a crashed worker left "running" are recovered.
                await recover_stale(database, settings.crawl_stale_seconds)
                await enqueue_due(database)
                await run_pending(database, settings)
            except Exception:
                log.exception("crawl scheduler pass failed; retrying next interval")
            await asyncio.sleep(settings.crawl_poll_seconds)

    return loop
