"""A crawl run: discover article URLs, fetch each politely, put new or changed ones through the
pipeline.

A run is one pass of the `crawl` job (`services.ingest.jobs`), in the job run's session. The
claim of a queued run is made durable (`run.checkpoint()`) before anything is fetched, and so is
each page as it finishes, together with the run's progress: one bad page never undoes the others,
and the API shows progress live. Pages are fetched concurrently; their database work takes turns
in the one session. A running run renews its heartbeat; `recover_stale` turns runs of a dead
worker into `interrupted` ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.engine import CursorResult
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.events import utcnow
from common.jobs import JobRun
from services.ingest import pipeline
from services.ingest.clients.fetch import FEED_TYPES, Fetcher, FetchFailed, crawl_fetcher
from services.ingest.crawler.decode import decode
from services.ingest.crawler.extract import article_links, read_article, sitemap_links
from services.ingest.crawler.feeds import Entry, entries
from services.ingest.models import ContentItem
from services.ingest.models_intake import CrawlRun, CrawlSource, PageState
from services.ingest.prepare import Incoming
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)
MAX_RECORDED_ERRORS = 200
BUSY = ("queued", "running")


def new_run(source_id: str, trigger: str) -> CrawlRun:
    return CrawlRun(
        id=pipeline.new_id(), source_id=source_id, trigger=trigger, status="queued",
        created_at=utcnow(), counters={}, errors=[],
    )  # fmt: skip


async def write_progress(
    session: AsyncSession,
    run_id: str,
    counters: dict[str, int],
    errors: list[dict[str, Any]],
    **fields: Any,
) -> None:
    """Write counters and errors (and renew the heartbeat) while the run is still running:
    a run already declared interrupted is not written back to life."""
    await session.execute(
        update(CrawlRun)
        .where(col(CrawlRun.id) == run_id, col(CrawlRun.status) == "running")
        .values(counters=counters, errors=errors, heartbeat_at=utcnow(), **fields)
    )


class Crawl:
    """One run in progress: its source, fetcher, counters and errors, and the job run's session,
    which the run's pages use one `turn` at a time."""

    def __init__(
        self,
        job: JobRun,
        run_id: str,
        source: CrawlSource,
        fetcher: Fetcher,
        settings: IngestSettings,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.source = source
        self.fetcher = fetcher
        self.settings = settings
        self.counters: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()

    @property
    def session(self) -> AsyncSession:
        return self.job.session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The session for a read, between other pages' turns."""
        async with self.lock:
            yield self.session

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[AsyncSession]:
        """The session for one page's writes; at the end of the turn they are committed with the
        run's progress (and heartbeat), or undone alone if the turn fails."""
        async with self.lock:
            try:
                yield self.session
                await write_progress(self.session, self.run_id, dict(self.counters), self.errors)
                await self.job.checkpoint()
            except BaseException:
                await self.session.rollback()
                raise

    def count(self, outcome: str, url: str | None = None, reason: str | None = None) -> None:
        self.counters[outcome] += 1
        if reason and len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append({"url": url, "reason": reason, "at": utcnow().isoformat()})

    async def heartbeat(self, every_seconds: float, stopped: asyncio.Event) -> None:
        """Renew the run's lease while it runs, even through a long fetch with no page finishing."""
        while True:
            try:
                await asyncio.wait_for(stopped.wait(), every_seconds)
                return
            except TimeoutError:
                pass
            try:
                async with self.turn():
                    pass
            except Exception:  # a missed beat is survivable; the next one may succeed
                log.warning("heartbeat of crawl run %s failed", self.run_id, exc_info=True)


async def claim_next(session: AsyncSession) -> str | None:
    """Mark the oldest queued run running; None if none is queued or another worker got it."""
    run_id = (
        await session.exec(
            select(CrawlRun.id)
            .where(col(CrawlRun.status) == "queued")
            .order_by(col(CrawlRun.created_at))
            .limit(1)
        )
    ).first()
    if run_id is None:
        return None
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(CrawlRun)
        .where(col(CrawlRun.id) == run_id, col(CrawlRun.status) == "queued")
        .values(status="running", started_at=utcnow(), heartbeat_at=utcnow())
    )
    return run_id if result.rowcount == 1 else None


async def crawl_next(job: JobRun, settings: IngestSettings) -> int:
    """Run the oldest queued run to the end (1), or find none queued (0); page failures are
    recorded, never raised."""
    session = job.session
    run_id = await claim_next(session)
    await job.checkpoint()  # the run is ours, durably, before anything is fetched
    if run_id is None:
        queued = await session.exec(select(CrawlRun.id).where(col(CrawlRun.status) == "queued"))
        return 1 if queued.first() is not None else 0  # another worker won: look again
    run = await session.get(CrawlRun, run_id)
    assert run is not None
    source = await session.get(CrawlSource, run.source_id)
    assert source is not None
    session.expunge(source)  # read by every page; a failed page's rollback must not expire it
    status = "done"
    async with crawl_fetcher(settings, source.concurrency, source.delay_seconds) as fetcher:
        crawl = Crawl(job, run_id, source, fetcher, settings)
        stopped = asyncio.Event()
        beating = asyncio.create_task(crawl.heartbeat(settings.crawl_heartbeat_seconds, stopped))
        try:
            if source.kind == "feed":
                await crawl_feed(crawl)
            else:
                await crawl_site(crawl)
        except Exception as error:  # a bug must not leave the run "running" forever
            log.exception("crawl run %s failed", run_id)
            status = "failed"
            crawl.errors.append({"url": None, "reason": repr(error)})
        finally:
            stopped.set()
            await asyncio.gather(beating, return_exceptions=True)
    async with crawl.lock:
        counters, errors = dict(crawl.counters), crawl.errors
        await write_progress(session, run_id, counters, errors, status=status, finished_at=utcnow())
        await session.execute(
            update(CrawlSource).where(col(CrawlSource.id) == source.id).values(last_run_at=utcnow())
        )
    return 1


async def recover_stale(session: AsyncSession, stale_seconds: float) -> list[str]:
    """Runs left `running` by a dead worker (no heartbeat for `stale_seconds`) become
    `interrupted` with a reason, and their source is queued again (trigger `recovery`), unless
    the dead run was itself a recovery — then the source waits for its normal schedule, so a page
    that kills the worker cannot make it crash-loop. Returns the interrupted run ids."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    last_sign = func.coalesce(CrawlRun.heartbeat_at, CrawlRun.started_at, CrawlRun.created_at)
    interrupted = []
    rows = await session.exec(
        select(CrawlRun).where(col(CrawlRun.status) == "running", last_sign < cutoff)
    )
    for run in list(rows):
        seen = run.heartbeat_at or run.started_at or run.created_at
        reason = (
            f"no heartbeat since {_aware(seen).isoformat()} (over {stale_seconds:g} s): "
            "the worker stopped or crashed during the run"
        )
        # Conditional on the heartbeat read: a worker that just beat keeps its run.
        result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            update(CrawlRun)
            .where(
                col(CrawlRun.id) == run.id, col(CrawlRun.status) == "running", last_sign < cutoff
            )
            .values(status="interrupted", status_reason=reason, finished_at=now)
        )
        if result.rowcount != 1:
            continue
        interrupted.append(run.id)
        log.warning("crawl run %s interrupted: %s", run.id, reason)
        if run.trigger == "recovery":
            continue
        busy = await session.exec(
            select(CrawlRun.id).where(
                col(CrawlRun.source_id) == run.source_id, col(CrawlRun.status).in_(BUSY)
            )
        )
        source = await session.get(CrawlSource, run.source_id)
        if source is not None and source.enabled and busy.first() is None:
            session.add(new_run(run.source_id, "recovery"))
            await session.flush()
    return interrupted


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def enqueue_due(session: AsyncSession) -> list[str]:
    """Queue a scheduled run for every enabled source whose interval has passed."""
    now = utcnow()
    queued = []
    busy = select(CrawlRun.source_id).where(col(CrawlRun.status).in_(BUSY))
    sources = await session.exec(
        select(CrawlSource).where(col(CrawlSource.enabled), col(CrawlSource.id).not_in(busy))
    )
    for source in sources:
        last = source.last_run_at
        if last is not None:  # SQLite hands back naive UTC
            last = _aware(last)
        if last is not None and last + timedelta(minutes=source.interval_minutes) > now:
            continue
        run = new_run(source.id, "schedule")
        session.add(run)
        queued.append(run.id)
    return queued


async def _all(pages: list[Coroutine[Any, Any, None]]) -> None:
    """Every page to its end, even when one fails (the others' work stands); then the first
    failure, if any."""
    results = await asyncio.gather(*pages, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def discover(crawl: Crawl) -> list[str]:
    """Article URLs from the start pages (list pages or sitemaps), capped at `max_pages`."""
    source, found = crawl.source, dict[str, None]()
    for start in source.start_urls:
        try:
            page = await crawl.fetcher.fetch(start, accept=("text/html", *FEED_TYPES))
        except FetchFailed as error:
            async with crawl.turn():
                crawl.count("failed", start, f"start page: {error}")
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


async def crawl_site(crawl: Crawl) -> None:
    urls = await discover(crawl)
    async with crawl.turn():
        crawl.counters["discovered"] = len(urls)
    await _all([crawl_page(crawl, url) for url in urls])


async def _validators(crawl: Crawl, url: str) -> tuple[str | None, str | None, str | None]:
    """(etag, last modified, body sha256) the crawler last saw at `url`."""
    async with crawl.reading() as session:
        state = await session.get(PageState, (crawl.source.id, url))
        if state is None:
            return None, None, None
        return state.etag, state.last_modified, state.body_sha256


async def crawl_page(crawl: Crawl, url: str) -> None:
    source = crawl.source
    etag, modified, seen = await _validators(crawl, url)
    try:
        fetched = await crawl.fetcher.fetch(url, etag, modified)
    except FetchFailed as error:
        async with crawl.turn() as session:
            await remember_failure(session, source, url, str(error))
            crawl.count("failed", url, str(error))
        return
    digest = hashlib.sha256(fetched.body).hexdigest()
    if fetched.status == 304 or seen == digest:
        async with crawl.turn():
            crawl.count("unchanged")
        return
    # Up to a few megabytes of parsing and extraction: off the event loop the API shares.
    article = await asyncio.to_thread(read_article, fetched.body, fetched.content_type, fetched.url)
    if not article.title or len(article.body_html) < 20:
        async with crawl.turn() as session:
            await remember_failure(session, source, url, "no article found on the page")
            crawl.count("failed", url, "no article found on the page")
        return
    incoming = Incoming(
        title=article.title, kind=source.content_kind, site=source.site,
        columns=list(source.columns), publisher=source.publisher, channel="crawl",
        actor=f"crawler:{source.id}", body_html=article.body_html,
        published_at=article.published_at, source_name=source.name, url=url,
        external_id=url, raw=fetched.body, raw_media_type=fetched.content_type,
    )  # fmt: skip
    async with crawl.turn() as session:
        state = await session.get(PageState, (source.id, url))
        outcome = await put_through_pipeline(session, state, incoming, crawl.settings)
        save_state(
            session, source, url, state, fetched.etag, fetched.last_modified, digest, outcome
        )
        crawl.count(outcome[0])


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


def save_state(
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
    session: AsyncSession, source: CrawlSource, url: str, reason: str
) -> None:
    state = await session.get(PageState, (source.id, url))
    state = state or PageState(source_id=source.id, url=url, fetched_at=utcnow())
    state.last_status, state.last_error, state.fetched_at = "failed", reason, utcnow()
    session.add(state)


async def crawl_feed(crawl: Crawl) -> None:
    source = crawl.source
    for feed_url in source.start_urls:
        etag, modified, _ = await _validators(crawl, feed_url)
        try:
            fetched = await crawl.fetcher.fetch(
                feed_url, etag, modified, accept=(*FEED_TYPES, "text/html")
            )
        except FetchFailed as error:
            async with crawl.turn():
                crawl.count("failed", feed_url, str(error))
            continue
        if fetched.status == 304:
            async with crawl.turn():
                crawl.count("unchanged")
            continue
        for entry in entries(fetched.body)[: source.max_pages]:
            await feed_entry(crawl, entry)
        digest = hashlib.sha256(fetched.body).hexdigest()
        async with crawl.turn() as session:
            state = await session.get(PageState, (source.id, feed_url))
            save_state(
                session, source, feed_url, state, fetched.etag, fetched.last_modified, digest,
                ("feed", ""),
            )  # fmt: skip


async def feed_entry(crawl: Crawl, entry: Entry) -> None:
    source = crawl.source
    digest = hashlib.sha256((entry.title + "\n" + entry.body_html).encode()).hexdigest()
    async with crawl.turn() as session:
        state = await session.get(PageState, (source.id, entry.key))
        if state is not None and state.body_sha256 == digest:
            crawl.count("unchanged")
            return
        incoming = Incoming(
            title=entry.title, kind=source.content_kind, site=source.site,
            columns=list(source.columns), publisher=source.publisher, channel="feed",
            actor=f"feed:{source.id}", body_html=entry.body_html, published_at=entry.published_at,
            source_name=source.name, url=entry.link, external_id=entry.key,
            raw=entry.body_html.encode(), raw_media_type="text/html; charset=utf-8",
        )  # fmt: skip
        outcome = await put_through_pipeline(session, state, incoming, crawl.settings)
        save_state(session, source, entry.key, state, None, None, digest, outcome)
        crawl.count(outcome[0])
