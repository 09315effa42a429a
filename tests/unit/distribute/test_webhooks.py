"""Standard Webhooks signing, outcome rules, retry schedule; the sender over MockTransport."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.distribute.clients.webhooks import WebhookSender
from services.distribute.settings import DEFAULT_RETRY_SCHEDULE
from services.distribute.webhooks import (
    classify,
    new_secret,
    retry_delay,
    signed_headers,
    valid_secret,
    webhook_payload,
)


def test_signature_verifies_with_the_standard_library() -> None:
    secret = new_secret()
    body = webhook_payload(
        "content.published", {"content_id": "c1", "title": "通知"}, datetime.now(UTC)
    )
    headers = signed_headers(secret, "msg_1", body, datetime.now(UTC))
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "通知"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"c1", b"c2"), headers)


def test_secrets() -> None:
    assert new_secret().startswith("whsec_") and new_secret() != new_secret()
    assert valid_secret(new_secret()) and not valid_secret("whsec_") and not valid_secret("%%%")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (400, "failed"),
        (401, "failed"),
        (404, "failed"),
        (410, "failed"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (302, "retry"),
        (None, "retry"),
    ],
)
def test_outcome_rules(status: int | None, outcome: str) -> None:
    assert classify(status) == outcome


def test_retry_schedule_spans_hours_then_gives_up() -> None:
    delays = [retry_delay(n, DEFAULT_RETRY_SCHEDULE) for n in range(1, 9)]
    assert delays[:7] == DEFAULT_RETRY_SCHEDULE and delays[7] is None
    assert sum(DEFAULT_RETRY_SCHEDULE) > 24 * 3600
    assert delays == sorted(delays[:7]) + [None]


async def test_sender_posts_signed_bytes_and_reports_outcomes() -> None:
    secret = new_secret()
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        Webhook(secret).verify(request.content, dict(request.headers))
        return httpx.Response(503 if len(seen) == 1 else 200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        sender = WebhookSender(client)
        body = orjson.dumps({"type": "content.published", "data": {}})
        first = await sender.send("http://hook/", secret, "msg_x", body)
        second = await sender.send("http://hook/", secret, "msg_x", body)
    assert (first.outcome, second.outcome) == ("retry", "delivered")
    assert first.error.startswith("HTTP 503")
    assert {r.headers["webhook-id"] for r in seen} == {"msg_x"}
    assert all(r.content == body for r in seen)


async def test_network_error_is_an_unknown_outcome_to_retry() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        result = await WebhookSender(client).send("http://hook/", new_secret(), "msg_y", b"{}")
    assert result.status_code is None and result.outcome == "retry"
    assert "ConnectError" in result.error


def test_lease_must_outlast_a_send() -> None:
    from pydantic import ValidationError

    from services.distribute.settings import DistributeSettings

    with pytest.raises(ValidationError):
        DistributeSettings(webhook_lease_seconds=5, webhook_timeout_seconds=10)
    assert DistributeSettings().webhook_lease_seconds > DistributeSettings().webhook_timeout_seconds
