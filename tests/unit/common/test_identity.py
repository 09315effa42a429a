"""The gateway's signed internal headers expire within seconds and cover every vouched field."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from common.errors import Unauthorized, install_problem_handlers
from common.identity import (
    CLIENT_ADDRESS_HEADER,
    ISSUED_AT_HEADER,
    Actor,
    ActorDep,
    SignedHeaders,
    actor_from_headers,
    internal_headers,
    verify_internal_headers,
)
from common.settings import ServiceSettings

SECRET = "s" * 40
EDITOR = Actor(id="editor", name="编辑", roles=["editor"])


def test_a_fresh_header_is_accepted() -> None:
    headers = internal_headers(SECRET, EDITOR, "203.0.113.5")
    vouched = verify_internal_headers(headers, SECRET)
    assert vouched.actor == EDITOR and vouched.client_address == "203.0.113.5"


def test_a_replayed_header_older_than_the_window_is_refused() -> None:
    headers = internal_headers(SECRET, EDITOR, now=time.time() - 36)
    with pytest.raises(Unauthorized, match="expired"):
        actor_from_headers(headers, SECRET)
    # within the window plus the allowed clock skew it still holds
    assert actor_from_headers(internal_headers(SECRET, EDITOR, now=time.time() - 33), SECRET)


def test_a_header_from_the_future_is_refused() -> None:
    headers = internal_headers(SECRET, EDITOR, now=time.time() + 60)
    with pytest.raises(Unauthorized, match="expired"):
        actor_from_headers(headers, SECRET)


@pytest.mark.parametrize(
    ("field", "value"),
    [(ISSUED_AT_HEADER, f"{time.time() + 1:.3f}"), (CLIENT_ADDRESS_HEADER, "198.51.100.9")],
)
def test_tampering_with_the_time_or_address_breaks_the_signature(field: str, value: str) -> None:
    headers = {**internal_headers(SECRET, EDITOR, "203.0.113.5"), field: value}
    with pytest.raises(Unauthorized, match="signature"):
        verify_internal_headers(headers, SECRET)


def test_an_address_without_a_signature_is_refused_and_nothing_claimed_is_none() -> None:
    with pytest.raises(Unauthorized):
        verify_internal_headers({CLIENT_ADDRESS_HEADER: "1.2.3.4"}, SECRET)
    assert verify_internal_headers({}, SECRET).actor is None


def test_signed_headers_sign_again_whenever_they_are_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = SignedHeaders(SECRET, EDITOR)
    first = dict(headers)
    later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: later)
    again = dict(httpx.Headers(headers))  # what httpx does with headers=...
    assert again[ISSUED_AT_HEADER] != first[ISSUED_AT_HEADER]
    assert actor_from_headers(again, SECRET) == EDITOR
    assert actor_from_headers({**headers, "x-other": "1"}, SECRET) == EDITOR
    with pytest.raises(Unauthorized):
        actor_from_headers(first, SECRET)


async def test_a_service_answers_401_to_a_stale_or_tampered_header() -> None:
    app = FastAPI()
    app.state.settings = ServiceSettings(internal_secret=SECRET)
    install_problem_handlers(app)

    @app.get("/me")
    async def me(actor: ActorDep) -> dict[str, str]:
        return {"id": actor.id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        fresh = await client.get("/me", headers=SignedHeaders(SECRET, EDITOR))
        assert fresh.status_code == 200 and fresh.json() == {"id": "editor"}
        replayed = internal_headers(SECRET, EDITOR, now=time.time() - 120)
        stale = await client.get("/me", headers=replayed)
        assert stale.status_code == 401 and stale.json()["detail"].endswith("expired")
        tampered = {**replayed, ISSUED_AT_HEADER: f"{time.time():.3f}"}
        assert (await client.get("/me", headers=tampered)).status_code == 401
