"""The webhook sender: posts signed payloads to receivers through the outbound policy."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from common.outbound import DestinationRefused, OutboundPolicy, outbound_client
from services.distribute.settings import DistributeSettings
from services.distribute.webhooks import SendResult, signed_headers


class WebhookSender:
    """Posts signed payloads; never follows redirects (the signature binds the URL's owner)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> SendResult:
        headers = signed_headers(secret, message_id, body, datetime.now(UTC))
        started = time.perf_counter()
        try:
            response = await self.client.post(
                url, content=body, headers=headers, follow_redirects=False
            )
        except DestinationRefused as error:
            return SendResult(None, str(error)[:500], _ms(started), refused=True)
        except httpx.HTTPError as error:
            return SendResult(None, f"{type(error).__name__}: {error}"[:500], _ms(started))
        problem = (
            "" if response.is_success else f"HTTP {response.status_code}: {response.text[:300]}"
        )
        return SendResult(response.status_code, problem, _ms(started))

    async def aclose(self) -> None:
        await self.client.aclose()


def webhook_sender(settings: DistributeSettings) -> WebhookSender:
    """A sender guarded by the outbound policy: an endpoint's URL (checked at registration) is
    checked again at every send, as the name may resolve elsewhere later."""
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    policy = OutboundPolicy.from_settings(settings)
    return WebhookSender(outbound_client(policy, timeout=timeout))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
