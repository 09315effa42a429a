"""Public submission without an account: abuse controls, the case number and tracking token,
the first clocks, and what the citizen (or staff) sees afterwards."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlmodel
from sqlalchemy import exists, func, insert, literal, select
from sqlmodel import col

from common.db import insert_models, insert_unless_present, table_of
from common.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, TooManyRequests
from common.events import CaseReceived
from services.interaction.cases import clocks
from services.interaction.cases.replies import RATINGS, satisfaction_link_for
from services.interaction.cases.workflow import OUTCOMES, STATE_LABELS
from services.interaction.clock import local_date
from services.interaction.context import Ctx
from services.interaction.models import OUTBOX, Case, CaseClock, CaseLog, SubmissionAttempt
from services.interaction.schemas import CaseSubmission

KIND_LABELS = {
    "message": "留言",
    "mailbox": "领导信箱",
    "consultation": "咨询",
    "complaint": "投诉",
    "suggestion": "建议",
    "correction": "纠错",
}
ACTION_LABELS = {
    "received": "收到来信",
    "accept": "已受理",
    "not_accept": "不予受理",
    "merge": "合并办理",
    "dispatch": "已转交承办单位",
    "forward": "已转交网站主办单位",
    "fix": "正在整改",
    "extension_approved": "延期办理",
    "suspend": "等待补充材料",
    "resume": "恢复办理",
    "reply": "已答复",
    "rate": "已评价",
    "reopen": "重新办理",
    "close": "已办结",
    "withdraw": "已撤回",
}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise(text: str) -> str:
    """Whitespace and punctuation do not make a message new (duplicate detection)."""
    return re.sub(r"[\s\W_]+", "", text).lower()


# --- the form token: minimum time on the form, no third-party captcha ----------------------


def issue_form_token(secret: str, now: datetime) -> str:
    stamp = str(int(now.timestamp() * 1000))
    return f"{stamp}.{hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]}"


def check_form_token(
    token: str | None, secret: str, now: datetime, min_s: float, max_s: float
) -> None:
    """Refuse a missing, forged, too fresh (a bot fills forms in milliseconds) or stale token."""
    stamp, _, signature = (token or "").partition(".")
    expected = hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    if not stamp.isdigit() or not hmac.compare_digest(signature, expected):
        raise BadRequest("表单已失效，请刷新页面后重新填写", field="form_token")
    age = now.timestamp() - int(stamp) / 1000
    if age < min_s:
        raise BadRequest("提交过快，请确认内容后再提交", field="form_token")
    if age > max_s:
        raise BadRequest("表单已过期，请刷新页面后重新填写", field="form_token")


# --- submission ----------------------------------------------------------------------------


@dataclass
class Submitted:
    case: Case
    token: str
    due: CaseClock


# A new number is drawn when the random part collides with one already given out that day
# (six random digits: two cases in a thousand a day already collide about once in four days).
NUMBER_ATTEMPTS = 8


async def _enforce_limits(
    ctx: Ctx, now: datetime, ip: str, phone_hash: str, content_hash: str
) -> None:
    """The per-IP and per-phone counts and the duplicate check, in one round trip."""
    attempts = SubmissionAttempt.__table__.c
    per_ip = (
        select(func.count())
        .select_from(SubmissionAttempt.__table__)
        .where(attempts.ip == ip, attempts.at > now - timedelta(hours=1))
        .scalar_subquery()
    )
    per_phone = (
        select(func.count())
        .select_from(SubmissionAttempt.__table__)
        .where(attempts.phone_hash == phone_hash, attempts.at > now - timedelta(days=1))
        .scalar_subquery()
        if phone_hash
        else literal(0)
    )
    since = now - timedelta(hours=ctx.settings.duplicate_window_hours)
    cases = Case.__table__.c
    duplicate = select(cases.id).where(
        cases.content_hash == content_hash, cases.received_at > since
    )
    if phone_hash:
        duplicate = duplicate.where(cases.phone_hash == phone_hash)
    query = select(per_ip, per_phone, exists(duplicate))
    ip_count, phone_count, is_duplicate = (await ctx.session.execute(query)).one()
    if int(ip_count) >= ctx.settings.rate_limit_per_ip:
        raise TooManyRequests(
            "提交过于频繁，请稍后再试", field="ip", headers={"Retry-After": "3600"}
        )
    if phone_hash and int(phone_count) >= ctx.settings.rate_limit_per_phone:
        raise TooManyRequests(
            "该手机号今日提交次数已达上限", field="phone", headers={"Retry-After": "86400"}
        )
    if is_duplicate:
        raise Conflict("您已提交过相同内容，请勿重复提交", field="body")


def new_number(kind: str, at: datetime) -> str:
    """Date of receipt plus random digits: unique enough with the unique index, not guessable."""
    return local_date(at).strftime("%Y%m%d") + f"{secrets.randbelow(10**6):06d}"


async def _insert_case(ctx: Ctx, case: Case) -> None:
    """Insert the case; a clash of the random number draws a new one (no savepoint needed)."""
    for _ in range(NUMBER_ATTEMPTS):
        if await insert_unless_present(ctx.session, case, conflict_on=[table_of(Case).c.number]):
            return
        case.number = new_number(case.kind, case.received_at)
    raise ServiceUnavailable("暂时无法生成编号，请稍后再试", field="number")


async def submit(ctx: Ctx, data: CaseSubmission, ip: str, source: str = "web") -> Submitted:
    """Store a new case with its first clocks and announce `case.received`.

    Round trips: one query for the abuse checks (web only), then one Core insert each for the
    case, its clocks, the attempt, the log entry and the outbox event. The clock is read once,
    so every row of the submission carries the same instant.
    """
    now = ctx.now()
    phone_hash = sha256(re.sub(r"\D", "", data.phone)) if data.phone else ""
    content_hash = sha256(f"{data.kind}|{normalise(data.title)}|{normalise(data.body)}")
    if source == "web":
        await _enforce_limits(ctx, now, ip, phone_hash, content_hash)
    token = secrets.token_urlsafe(24)
    case = Case(
        id=uuid.uuid4().hex,
        number=new_number(data.kind, now),
        kind=data.kind,
        state="submitted",
        title=data.title,
        body=data.body,
        name=data.name or "",
        phone=data.phone or "",
        email=data.email or "",
        phone_hash=phone_hash,
        content_hash=content_hash,
        publicity=data.publicity,
        page_url=data.page_url,
        content_id=data.content_id,
        source=source,
        address=data.address,
        lat=data.lat,
        long=data.long,
        token_hash=sha256(token),
        received_at=now,
        received_on=local_date(now),
        updated_at=now,
    )
    session = ctx.session
    await _insert_case(ctx, case)
    started = _first_clocks(ctx, case)
    await session.execute(
        insert(table_of(SubmissionAttempt)), {"ip": ip, "phone_hash": phone_hash, "at": now}
    )
    received = CaseLog(
        case_id=case.id,
        action="received",
        from_state="submitted",
        to_state="submitted",
        actor="citizen",
        reason="",
        public=True,
        at=now,
    )
    await insert_models(session, [*started, received])
    await OUTBOX.add(session, received_event(case, started[-1], now))
    return Submitted(case, token, started[0])


async def submit_form(ctx: Ctx, data: CaseSubmission, ip: str) -> dict[str, Any]:
    """A web submission: the form token must be genuine and neither too fresh nor stale; the
    receipt carries the case number and the private tracking token."""
    s = ctx.settings
    check_form_token(
        data.form_token, s.internal_secret, ctx.now(), s.min_form_seconds, s.max_form_age_seconds
    )
    done = await submit(ctx, data, ip)
    return {
        "number": done.case.number,
        "token": done.token,
        "kind": done.case.kind,
        "received_on": done.case.received_on.isoformat(),
        "due_on": done.due.due_on.isoformat(),
        "due_provisional": done.due.provisional,
        "message": "已收到您的来信，请妥善保存编号和查询码",
    }


def received_event(case: Case, clock: CaseClock, now: datetime) -> CaseReceived:
    """`case.received`, as `workflow.transition` would announce it (due: the last clock)."""
    return CaseReceived(
        case_id=case.id,
        number=case.number,
        kind=case.kind,
        action="received",
        from_state="submitted",
        to_state="submitted",
        actor="citizen",
        department=None,
        co_departments=[],
        reason="",
        due_on=clock.due_on.isoformat(),
        due_provisional=clock.provisional,
        occurred_at=now,
    )


def _first_clocks(ctx: Ctx, case: Case) -> list[CaseClock]:
    """The statutory clock starts at receipt (纠错: the forward clock, maybe the reply clock).

    The first clock is what the citizen is told; the last is the one `case.received` carries.
    """
    durations = ctx.settings.durations[case.kind]
    anchor = case.received_on
    if case.kind == "correction":
        started = [
            clocks.new_clock(ctx.calendar, case.id, clocks.FORWARD, anchor, durations.forward or 1)
        ]
        if ctx.settings.correction_reply_anchor == "received":
            started.append(
                clocks.new_clock(ctx.calendar, case.id, clocks.REPLY, anchor, durations.reply)
            )
        return started
    return [clocks.new_clock(ctx.calendar, case.id, clocks.REPLY, anchor, durations.reply)]


# --- what the citizen and the staff see ----------------------------------------------------


async def by_token(ctx: Ctx, number: str, token: str) -> Case:
    """The case if the token matches; unknown number and wrong token are the same 404."""
    case = (
        await ctx.session.exec(sqlmodel.select(Case).where(col(Case.number) == number))
    ).one_or_none()
    expected = case.token_hash if case is not None else sha256("no such case")
    if not hmac.compare_digest(expected, sha256(token)) or case is None:
        raise NotFound("没有找到该件，请核对编号和查询码", field="number")
    return case


def _clock_view(clock: CaseClock) -> dict[str, Any]:
    return {
        "clock": clock.clock,
        "due_on": clock.due_on.isoformat(),
        "provisional": clock.provisional,
        "running": clock.running,
        "met_on": clock.met_on.isoformat() if clock.met_on else None,
        "breached": clock.breached,
    }


async def citizen_view(ctx: Ctx, case: Case) -> dict[str, Any]:
    """The citizen's own case: state, deadlines, public history, reply, follow-up link."""
    query = (
        sqlmodel.select(CaseLog)
        .where(col(CaseLog.case_id) == case.id, col(CaseLog.public).is_(True))
        .order_by(col(CaseLog.id))
    )
    history = [
        {
            "action": log.action,
            "label": ACTION_LABELS.get(log.action, log.action),
            "reason": log.reason,
            "at": log.at.isoformat(),
        }
        for log in (await ctx.session.exec(query)).all()
    ]
    current = await clocks.current_clock(ctx.session, case.id)
    return {
        "number": case.number,
        "kind": case.kind,
        "kind_label": KIND_LABELS[case.kind],
        "state": case.state,
        "state_label": STATE_LABELS.get(case.state, case.state),
        "title": case.title,
        "body": case.body,
        "publicity": case.publicity,
        "received_on": case.received_on.isoformat(),
        "due_on": current.due_on.isoformat() if current else None,
        "due_provisional": bool(current and current.provisional),
        "department": case.lead_department,
        "history": history,
        "reply": case.reply_text or None,
        "outcome": case.outcome,
        "outcome_label": OUTCOMES.get(case.outcome or "", None),
        "outcome_reason": case.outcome_reason or None,
        "satisfaction": case.satisfaction,
        "satisfaction_label": RATINGS.get(case.satisfaction or ""),
        "satisfaction_token": await satisfaction_link_for(ctx, case),
    }


async def staff_view(ctx: Ctx, case: Case) -> dict[str, Any]:
    query = (
        sqlmodel.select(CaseLog).where(col(CaseLog.case_id) == case.id).order_by(col(CaseLog.id))
    )
    log = [
        {
            "action": r.action,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "actor": r.actor,
            "reason": r.reason,
            "at": r.at.isoformat(),
        }
        for r in (await ctx.session.exec(query)).all()
    ]
    view = case.model_dump(mode="json", exclude={"token_hash", "phone_hash", "content_hash"})
    view["clocks"] = [_clock_view(c) for c in await clocks.case_clocks(ctx.session, case.id)]
    view["log"] = log
    return view
