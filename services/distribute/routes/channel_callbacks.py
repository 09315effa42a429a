"""WeChat's message push for an account (no actor: the platform signs with the account's
callback token): the URL check (`echostr`) and the PUBLISHJOBFINISH notice, which makes the
post's read-back due at once."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from common.db import SessionDep
from services.distribute.channels import callbacks
from services.distribute.routes.dependencies import DepsDep

router = APIRouter(prefix="/api/v1/channels/wechat", tags=["public"])
PLAIN: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}}}}
Signed = Annotated[str, Query(max_length=100)]  # absent → 403, like a wrong one


@router.get("/{wechat_id}/callback", response_class=Response, response_model=None, responses=PLAIN)
async def verify_callback_url(
    wechat_id: str,
    session: SessionDep,
    deps: DepsDep,
    signature: Signed = "",
    timestamp: Signed = "",
    nonce: Signed = "",
    echostr: Signed = "",
) -> Response:
    """The platform's check of the configured URL: `echostr` back if the signature holds."""
    callbacks.require_signature(signature, timestamp, nonce)
    token = await callbacks.callback_token(session, deps.box, wechat_id)
    callbacks.check_signature(token, signature, timestamp, nonce, time.time())
    return Response(echostr, media_type="text/plain")


@router.post("/{wechat_id}/callback", response_class=Response, response_model=None, responses=PLAIN)
async def publish_job_finished(
    wechat_id: str,
    request: Request,
    session: SessionDep,
    deps: DepsDep,
    signature: Signed = "",
    timestamp: Signed = "",
    nonce: Signed = "",
) -> Response:
    """A signed notice for the account: PUBLISHJOBFINISH wakes its post's read-back; other
    events are acknowledged and ignored. Answers `success`, as the platform expects."""
    callbacks.require_signature(signature, timestamp, nonce)
    token = await callbacks.callback_token(session, deps.box, wechat_id)
    callbacks.check_signature(token, signature, timestamp, nonce, time.time())
    notice = callbacks.parse_notice(await request.body())
    if notice.to_user == wechat_id and notice.event == callbacks.EVENT:
        await callbacks.wake_read_back(session, wechat_id, notice.publish_id)
    return Response("success", media_type="text/plain")
