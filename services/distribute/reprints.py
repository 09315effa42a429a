"""Reprint linkage (转载协同联动) and the reprint clock. No HTTP or Kafka; the caller commits.

A `ReprintRule` says that what a source site publishes (of a kind, or any) its lower sites —
the direct `children`, every `descendant`, or a `list` — reprint on given columns within
`deadline_hours`. When an original's page goes public on its own site (`on_page_published`,
from `publishing._deliver`; its webhooks and new-media posts may still be on their way), every
matching active rule yields one `ReprintObligation` per lower site
(unique per (original, site): a correction or a second rule adds nothing; the oldest matching
rule wins). An `automatic` obligation asks the library at once (`reprint.requested`); a
`proposed` one waits for the lower site's editors to accept (then asks) or decline it.

The library answers with a reprint item (`content.ingested` with `reprint_of`), linked here as
the obligation's `reprint_id`; its publication makes the obligation `live`. A reprint does not
set off rules of its own site (no cascades: a rule that wants the whole subtree says
`descendants`).

The clock counts clock hours, weekends and holidays included: published on Friday 18:00 with
24 hours, the reprint is due on Saturday 18:00. `run_clock` warns once when less than the
warning window is left and records a breach exactly once after `due_at`; both are conditional
updates (`… WHERE warned_at IS NULL` / `breached_at IS NULL`), so two workers or a restart
never double them.

Retraction of an original (`on_retraction`) asks the library to retract each reprint made of it
(`reprint.retraction_requested`; state `retraction_requested`), and the reprint's own
retraction coming back settles it as `retracted`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from common.columns import as_utc
from common.errors import Conflict, NotFound, Unprocessable
from common.events import (
    ReprintDeadlineBreached,
    ReprintDeadlineWarning,
    ReprintRequested,
    ReprintRetractionRequested,
    utcnow,
)
from common.identity import Actor
from common.lookup import get_or_404
from common.pagination import decode_cursor, page
from services.distribute import audit
from services.distribute.models import (
    OUTBOX,
    ContentSnapshot,
    Release,
    ReprintObligation,
    ReprintRule,
    Site,
    SiteColumn,
)
from services.distribute.pagetags import article_url, iso
from services.distribute.schemas import ReprintRuleCreate, ReprintRuleUpdate
from services.distribute.sites import site_info

# not live yet and still owed: what the clock watches
OPEN_STATES = ("proposed", "requested", "accepted")
# the original was taken down: nothing is owed any more
GONE_STATES = ("retraction_requested", "retracted")


def _time_ordered_id(prefix: str) -> str:
    """An id that sorts by creation (lists page on it), unique by its random tail."""
    return f"{prefix}_{int(utcnow().timestamp() * 1_000_000):016x}{uuid.uuid4().hex[:16]}"


# --- rules (admin) ------------------------------------------------------------------------------


def rule_out(rule: ReprintRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "source_site": rule.source_site,
        "kind": rule.kind,
        "scope": rule.scope,
        "target_sites": rule.target_sites,
        "target_columns": rule.target_columns,
        "mode": rule.mode,
        "deadline_hours": rule.deadline_hours,
        "active": rule.active,
        "created_by": rule.created_by,
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }


async def descendants(session: AsyncSession, slug: str) -> list[Site]:
    """Every site below `slug` in the tree, nearest first (a cycle cannot loop forever)."""
    found: list[Site] = []
    seen, frontier = {slug}, [slug]
    while frontier:
        query = select(Site).where(col(Site.parent).in_(frontier)).order_by(col(Site.slug))
        children = [s for s in await session.exec(query) if s.slug not in seen]
        seen |= {s.slug for s in children}
        found += children
        frontier = [s.slug for s in children]
    return found


async def _check_rule(session: AsyncSession, rule: ReprintRule) -> None:
    """422 naming the field: unknown source site, a `list` without sites, or a listed site that
    is not below the source site."""
    if await session.get(Site, rule.source_site) is None:
        raise Unprocessable(f"unknown site {rule.source_site!r}", field="source_site")
    if rule.scope != "list":
        rule.target_sites = []
        return
    if not rule.target_sites:
        raise Unprocessable("a list rule names its target sites", field="target_sites")
    below = {s.slug for s in await descendants(session, rule.source_site)}
    strangers = sorted(set(rule.target_sites) - below)
    if strangers:
        raise Unprocessable(
            f"not below {rule.source_site!r} in the site tree: {', '.join(strangers)}",
            field="target_sites",
        )


async def create_rule(session: AsyncSession, data: ReprintRuleCreate, actor: str) -> ReprintRule:
    now = utcnow()
    rule = ReprintRule(
        id=_time_ordered_id("rr"),
        created_by=actor,
        created_at=now,
        updated_at=now,
        **data.model_dump(),
    )
    rule.target_sites = list(dict.fromkeys(rule.target_sites))
    await _check_rule(session, rule)
    session.add(rule)
    await session.flush()
    await audit.record(
        session, actor, "reprint_rule.created", f"reprint_rule:{rule.id}", rule_out(rule)
    )
    return rule


async def get_rule(session: AsyncSession, rule_id: str) -> ReprintRule:
    return await get_or_404(session, ReprintRule, rule_id, detail=f"no reprint rule {rule_id}")


async def list_rules(
    session: AsyncSession, source_site: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Rules in creation order (keyset on the id), optionally of one source site."""
    query = select(ReprintRule)
    if source_site is not None:
        query = query.where(col(ReprintRule.source_site) == source_site)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(col(ReprintRule.id) > str(after))
    rows = list(await session.exec(query.order_by(col(ReprintRule.id)).limit(limit + 1)))
    result = page(rows, limit, lambda r: r.id)
    result["items"] = [rule_out(r) for r in result["items"]]
    return result


async def update_rule(
    session: AsyncSession,
    rule_id: str,
    data: ReprintRuleCreate | ReprintRuleUpdate,
    actor: str,
) -> ReprintRule:
    """PUT (a whole `ReprintRuleCreate`) or PATCH (the fields sent); obligations made before
    keep their deadline and columns."""
    rule = await get_rule(session, rule_id)
    if isinstance(data, ReprintRuleCreate):
        changes = data.model_dump()
    else:
        changes = data.model_dump(exclude_unset=True)
        changes = {k: v for k, v in changes.items() if v is not None or k == "kind"}
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    await _check_rule(session, rule)
    session.add(rule)
    await session.flush()
    await audit.record(session, actor, "reprint_rule.changed", f"reprint_rule:{rule.id}", changes)
    return rule


async def delete_rule(session: AsyncSession, rule_id: str, actor: str) -> None:
    """The rule makes no more obligations; those it made stay (and keep their clock)."""
    rule = await get_rule(session, rule_id)
    await session.delete(rule)
    await session.flush()
    await audit.record(session, actor, "reprint_rule.deleted", f"reprint_rule:{rule_id}", {})


# --- obligations from publications ----------------------------------------------------------


async def on_page_published(session: AsyncSession, release: Release, now: datetime) -> None:
    """The hook of `publishing._deliver`, when the version's page on its own site went public
    (whatever its webhooks and new-media posts do next): a reprint fulfils its obligation; an
    original makes the obligations of every matching rule."""
    snapshot = await session.get(ContentSnapshot, (release.content_id, release.version))
    if snapshot is None:
        return
    if snapshot.reprint_of:
        await _reprint_live(session, snapshot, now)
        return
    await make_obligations(session, snapshot, now)


async def _matching_rules(session: AsyncSession, snapshot: ContentSnapshot) -> list[ReprintRule]:
    query = select(ReprintRule).where(
        col(ReprintRule.source_site) == snapshot.site,
        col(ReprintRule.active).is_(True),
        or_(col(ReprintRule.kind).is_(None), col(ReprintRule.kind) == snapshot.kind),
    )
    return list(await session.exec(query.order_by(col(ReprintRule.id))))


async def _targets(session: AsyncSession, rule: ReprintRule) -> list[Site]:
    if rule.scope == "children":
        query = select(Site).where(col(Site.parent) == rule.source_site).order_by(col(Site.slug))
        return list(await session.exec(query))
    below = await descendants(session, rule.source_site)
    if rule.scope == "descendants":
        return below
    return [s for s in below if s.slug in rule.target_sites]  # a site moved away drops out


async def _columns_on(session: AsyncSession, site: str, wanted: list[str]) -> list[str]:
    """The rule's columns the lower site has, in the rule's order."""
    query = select(col(SiteColumn.slug)).where(
        col(SiteColumn.site) == site, col(SiteColumn.slug).in_(wanted)
    )
    present = set(await session.exec(query))
    return [c for c in wanted if c in present]


async def make_obligations(
    session: AsyncSession, snapshot: ContentSnapshot, now: datetime
) -> list[ReprintObligation]:
    """One obligation per lower site a matching rule names (none twice: the oldest rule wins,
    an existing one stays); automatic ones are requested at once. A site with none of the
    rule's columns is skipped."""
    rules = await _matching_rules(session, snapshot)
    if not rules:
        return []
    source = await session.get(Site, snapshot.site)
    if source is None:
        return []
    existing = select(col(ReprintObligation.site)).where(
        col(ReprintObligation.original_id) == snapshot.content_id
    )
    taken = set(await session.exec(existing))
    made: list[ReprintObligation] = []
    for rule in rules:
        for site in await _targets(session, rule):
            if site.slug in taken:
                continue
            columns = await _columns_on(session, site.slug, rule.target_columns)
            if not columns:
                continue
            taken.add(site.slug)
            obligation = ReprintObligation(
                id=_time_ordered_id("ro"),
                rule_id=rule.id,
                original_id=snapshot.content_id,
                original_version=snapshot.version,
                source_site=source.slug,
                site=site.slug,
                unit=site.name,
                columns=columns,
                mode=rule.mode,
                deadline_hours=rule.deadline_hours,
                state="proposed",
                original_published_at=now,
                due_at=now + timedelta(hours=rule.deadline_hours),
                proposed_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(obligation)
            if rule.mode == "automatic":
                await _request(session, obligation, source, snapshot, f"rule:{rule.id}", now)
            made.append(obligation)
    return made


def _original_url(source: Site, snapshot: ContentSnapshot) -> str | None:
    if not snapshot.columns:
        return None
    return article_url(site_info(source), snapshot.columns[0], snapshot.content_id)


async def _request(
    session: AsyncSession,
    obligation: ReprintObligation,
    source: Site,
    snapshot: ContentSnapshot,
    requested_by: str,
    now: datetime,
) -> None:
    obligation.state = "requested" if obligation.mode == "automatic" else "accepted"
    obligation.requested_at = obligation.updated_at = now
    await OUTBOX.add(
        session,
        ReprintRequested(
            obligation_id=obligation.id,
            original_id=obligation.original_id,
            original_version=obligation.original_version,
            source_site=source.slug,
            source_name=source.name,
            original_url=_original_url(source, snapshot),
            site=obligation.site,
            columns=list(obligation.columns),
            mode="automatic" if obligation.mode == "automatic" else "proposed",
            requested_by=requested_by,
        ),
    )


# --- the lower site's editors -----------------------------------------------------------------


def obligation_out(obligation: ReprintObligation) -> dict[str, Any]:
    def maybe(moment: datetime | None) -> str | None:
        return iso(moment) if moment else None

    return {
        "id": obligation.id,
        "rule_id": obligation.rule_id,
        "original_id": obligation.original_id,
        "original_version": obligation.original_version,
        "source_site": obligation.source_site,
        "site": obligation.site,
        "unit": obligation.unit,
        "columns": obligation.columns,
        "mode": obligation.mode,
        "deadline_hours": obligation.deadline_hours,
        "state": obligation.state,
        "detail": obligation.detail,
        "original_published_at": iso(obligation.original_published_at),
        "due_at": iso(obligation.due_at),
        "proposed_at": maybe(obligation.proposed_at),
        "requested_at": maybe(obligation.requested_at),
        "decided_by": obligation.decided_by,
        "live_at": maybe(obligation.live_at),
        "reprint_id": obligation.reprint_id,
        "warned_at": maybe(obligation.warned_at),
        "breached_at": maybe(obligation.breached_at),
    }


async def _proposal(session: AsyncSession, obligation_id: str, actor: Actor) -> ReprintObligation:
    """The (locked) obligation, 404 outside the actor's sites, 409 unless it is a proposal."""
    query = select(ReprintObligation).where(col(ReprintObligation.id) == obligation_id)
    obligation = (await session.exec(query.with_for_update())).one_or_none()
    if obligation is None or not actor.may_use_site(obligation.site):
        raise NotFound(f"no reprint obligation {obligation_id}", field="obligation_id")
    if obligation.state != "proposed":
        raise Conflict(f"the reprint is {obligation.state}, not proposed", field="state")
    return obligation


async def accept(session: AsyncSession, obligation_id: str, actor: Actor) -> ReprintObligation:
    """The lower site's editor takes the proposal: the library is asked for the reprint."""
    obligation = await _proposal(session, obligation_id, actor)
    snapshot = await session.get(
        ContentSnapshot, (obligation.original_id, obligation.original_version)
    )
    source = await session.get(Site, obligation.source_site)
    if snapshot is None or source is None:  # kept by distribute for as long as it exists
        raise Conflict("the original is no longer known here", field="original_id")
    obligation.decided_by = actor.id
    await _request(session, obligation, source, snapshot, actor.id, utcnow())
    session.add(obligation)
    await session.flush()
    subject = f"reprint:{obligation.id}"
    await audit.record(session, actor.id, "reprint.accepted", subject, {"site": obligation.site})
    return obligation


async def decline(
    session: AsyncSession, obligation_id: str, reason: str, actor: Actor
) -> ReprintObligation:
    """The lower site's editor turns the proposal down, with a reason; it counts as declined,
    not as missing."""
    obligation = await _proposal(session, obligation_id, actor)
    obligation.state, obligation.detail, obligation.decided_by = "declined", reason, actor.id
    obligation.updated_at = utcnow()
    session.add(obligation)
    await session.flush()
    data = {"site": obligation.site, "reason": reason}
    await audit.record(session, actor.id, "reprint.declined", f"reprint:{obligation.id}", data)
    return obligation


# --- the reprint itself -----------------------------------------------------------------------


async def _obligation_of(
    session: AsyncSession, snapshot: ContentSnapshot
) -> ReprintObligation | None:
    query = select(ReprintObligation).where(
        col(ReprintObligation.original_id) == snapshot.reprint_of,
        col(ReprintObligation.site) == snapshot.site,
    )
    return (await session.exec(query.with_for_update())).one_or_none()


async def on_reprint_ingested(session: AsyncSession, snapshot: ContentSnapshot) -> None:
    """A reprint entered the library: remember it on its obligation. If the original was taken
    down meanwhile (the request crossed the retraction), the reprint is retracted too; if its
    approval overtook this event and it is published already, the obligation is live."""
    if not snapshot.reprint_of:
        return
    obligation = await _obligation_of(session, snapshot)
    if obligation is None or obligation.reprint_id is not None:
        return
    obligation.reprint_id, obligation.updated_at = snapshot.content_id, utcnow()
    session.add(obligation)
    if obligation.state == "retracted":
        await _ask_retraction(session, obligation, obligation.detail or "原稿已撤回")
    release = await session.get(Release, (snapshot.content_id, snapshot.version))
    if release is not None and release.state == "published" and release.published_at:
        await _reprint_live(session, snapshot, as_utc(release.published_at))
    await session.flush()


async def _reprint_live(session: AsyncSession, snapshot: ContentSnapshot, now: datetime) -> None:
    obligation = await _obligation_of(session, snapshot)
    if obligation is None or obligation.state in (*GONE_STATES, "live"):
        return
    # a proposal reprinted by hand (or after a decline) is fulfilled all the same
    obligation.state, obligation.live_at, obligation.updated_at = "live", now, now
    obligation.reprint_id = snapshot.content_id
    session.add(obligation)


# --- retraction -------------------------------------------------------------------------------


async def on_retraction(session: AsyncSession, content_id: str, reason: str) -> int:
    """An item was retracted. As an original: each reprint made of it is asked to be retracted
    (`reprint.retraction_requested`), an obligation with no reprint yet ends `retracted`; as a
    reprint: its obligation is `retracted`. Returns how many retractions were asked for."""
    now = utcnow()
    query = select(ReprintObligation).where(
        or_(
            col(ReprintObligation.original_id) == content_id,
            col(ReprintObligation.reprint_id) == content_id,
        )
    )
    asked = 0
    for obligation in list(await session.exec(query.with_for_update())):
        if obligation.reprint_id == content_id:
            obligation.state = "retracted"
        elif obligation.state in GONE_STATES:
            continue
        elif obligation.reprint_id is not None:
            await _ask_retraction(session, obligation, reason)
            asked += 1
        else:
            obligation.state, obligation.detail = "retracted", reason[:500]
        obligation.updated_at = now
        session.add(obligation)
    await session.flush()
    return asked


async def _ask_retraction(
    session: AsyncSession, obligation: ReprintObligation, reason: str
) -> None:
    assert obligation.reprint_id is not None
    obligation.state, obligation.detail = "retraction_requested", reason[:500]
    await OUTBOX.add(
        session,
        ReprintRetractionRequested(
            obligation_id=obligation.id,
            original_id=obligation.original_id,
            reprint_id=obligation.reprint_id,
            site=obligation.site,
            reason=reason,
        ),
    )


# --- the clock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockPolicy:
    """Warn when less than `min(warn_hours, deadline × warn_fraction)` is left."""

    warn_hours: float = 2.0
    warn_fraction: float = 0.25

    def window(self, deadline_hours: int) -> timedelta:
        return timedelta(hours=min(self.warn_hours, deadline_hours * self.warn_fraction))


async def mark_once(session: AsyncSession, obligation_id: str, column: str, now: datetime) -> bool:
    """Set `column` (warned_at / breached_at) if nobody has: True for the one caller that did."""
    target = getattr(ReprintObligation, column)
    result = await session.execute(
        update(ReprintObligation)
        .where(
            col(ReprintObligation.id) == obligation_id,
            col(target).is_(None),
            col(ReprintObligation.state).in_(OPEN_STATES),
        )
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _clock_fields(obligation: ReprintObligation) -> dict[str, Any]:
    """What both clock events say about the obligation."""
    return {
        "obligation_id": obligation.id,
        "original_id": obligation.original_id,
        "site": obligation.site,
        "unit": obligation.unit,
        "due_at": as_utc(obligation.due_at),
    }


async def _open(
    session: AsyncSession, limit: int, *conditions: ColumnElement[bool]
) -> list[ReprintObligation]:
    query = select(ReprintObligation).where(
        col(ReprintObligation.state).in_(OPEN_STATES),
        col(ReprintObligation.breached_at).is_(None),
        *conditions,
    )
    return list(await session.exec(query.order_by(col(ReprintObligation.due_at)).limit(limit)))


async def run_clock(
    session: AsyncSession, policy: ClockPolicy, now: datetime | None = None, limit: int = 200
) -> int:
    """Warn (once) and record breaches (exactly once) of open obligations; how many events."""
    now = now or utcnow()
    events = 0
    latest_window = now + timedelta(hours=policy.warn_hours)
    soon = (
        col(ReprintObligation.warned_at).is_(None),
        col(ReprintObligation.due_at) > now,
        col(ReprintObligation.due_at) <= latest_window,
    )
    for obligation in await _open(session, limit, *soon):
        left = as_utc(obligation.due_at) - now
        if left > policy.window(obligation.deadline_hours):
            continue
        if await mark_once(session, obligation.id, "warned_at", now):
            hours_left = round(left.total_seconds() / 3600, 2)
            event = ReprintDeadlineWarning(**_clock_fields(obligation), hours_left=hours_left)
            await OUTBOX.add(session, event)
            events += 1
    for obligation in await _open(session, limit, col(ReprintObligation.due_at) <= now):
        if await mark_once(session, obligation.id, "breached_at", now):
            fields = _clock_fields(obligation)
            await OUTBOX.add(session, ReprintDeadlineBreached(**fields, state=obligation.state))
            events += 1
    return events


# --- lists and the report ---------------------------------------------------------------------


def _within(
    query: SelectOfScalar[ReprintObligation], actor_sites: list[str] | None
) -> SelectOfScalar[ReprintObligation]:
    """A caller scoped to sites sees the obligations its sites owe or asked for."""
    if actor_sites is None:
        return query
    return query.where(
        or_(
            col(ReprintObligation.site).in_(actor_sites),
            col(ReprintObligation.source_site).in_(actor_sites),
        )
    )


async def list_obligations(
    session: AsyncSession,
    site: str | None,
    source_site: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
    actor_sites: list[str] | None,
) -> dict[str, Any]:
    """Obligations in creation order (keyset on the id): of a lower `site`, of a `source_site`,
    in a `state`; a caller scoped to sites sees those its sites owe or asked for."""
    query = select(ReprintObligation)
    if site is not None:
        query = query.where(col(ReprintObligation.site) == site)
    if source_site is not None:
        query = query.where(col(ReprintObligation.source_site) == source_site)
    if state is not None:
        query = query.where(col(ReprintObligation.state) == state)
    query = _within(query, actor_sites)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(col(ReprintObligation.id) > str(after))
    rows = list(await session.exec(query.order_by(col(ReprintObligation.id)).limit(limit + 1)))
    result = page(rows, limit, lambda o: o.id)
    result["items"] = [obligation_out(o) for o in result["items"]]
    return result


def _bucket(obligation: ReprintObligation, now: datetime) -> str | None:
    """Where an obligation counts in the report (None: not owed any more — the original was
    taken down before the reprint went live)."""
    due_at = as_utc(obligation.due_at)
    if obligation.live_at is not None:
        return "done_in_time" if as_utc(obligation.live_at) <= due_at else "late"
    if obligation.state == "declined":
        return "declined"
    if obligation.state in GONE_STATES:
        return None
    return "missing" if now > due_at else "pending"


async def report(
    session: AsyncSession,
    source_site: str | None,
    actor_sites: list[str] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Per lower site and unit: due, done in time, late, missing (open and past due), pending
    (open, within the deadline) and declined — of the originals of `source_site`, or of all."""
    now = now or utcnow()
    query = select(ReprintObligation)
    if source_site is not None:
        query = query.where(col(ReprintObligation.source_site) == source_site)
    query = _within(query, actor_sites)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for obligation in await session.exec(query):
        bucket = _bucket(obligation, now)
        if bucket is None:
            continue
        row = counts.setdefault(
            (obligation.site, obligation.unit),
            dict.fromkeys(("done_in_time", "late", "missing", "pending", "declined"), 0),
        )
        row[bucket] += 1
    rows = [
        {"site": site, "unit": unit, "due": sum(c.values()) - c["declined"], **c}
        for (site, unit), c in sorted(counts.items())
    ]
    return {"source_site": source_site, "at": iso(now), "rows": rows}
