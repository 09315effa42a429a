"""Open311 GeoReport v2: an Open311 client library from PyPI (`georeport`) reads our requests."""

from __future__ import annotations

import asyncio

import httpx
import uvicorn
from fastapi import FastAPI
from georeport import GeoReport

from common.identity import Actor, actor_headers
from common.settings import DEV_INTERNAL_SECRET
from common.testing import free_port
from services.interaction.clock import FixedClock
from tests.integration.interaction.conftest import submit

API_KEY_ACTOR = actor_headers(
    Actor(id="key-portal", name="portal", kind="api_key", scopes=["cases:submit"]),
    DEV_INTERNAL_SECRET,
)
READ_KEY_ACTOR = actor_headers(
    Actor(id="key-reader", name="reader", kind="api_key", scopes=["cases:read"]),
    DEV_INTERNAL_SECRET,
)


async def test_open311_client_reads_and_files(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await submit(client, clock)
    form = {
        "service_code": "complaint",
        "description": "路灯不亮已经一周了",
        "lat": "30.65",
        "long": "104.06",
        "address_string": "人民南路",
    }
    refused = await client.post("/open311/v2/requests.json", data={**form, "api_key": "x"})
    assert refused.status_code == 403 and refused.json() == [
        {"code": 403, "description": "api_key is missing or invalid"}
    ]
    read_only = await client.post("/open311/v2/requests.json", data=form, headers=READ_KEY_ACTOR)
    assert read_only.status_code == 403 and "cases:submit" in read_only.json()[0]["description"]
    bad = await client.post(
        "/open311/v2/requests.json", data={**form, "service_code": "nope"}, headers=API_KEY_ACTOR
    )
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    filed = await client.post("/open311/v2/requests.json", data=form, headers=API_KEY_ACTOR)
    assert filed.status_code == 201, filed.text
    filed_id, token = filed.json()[0]["service_request_id"], filed.json()[0]["token"]
    assert (await client.get(f"/open311/v2/tokens/{token}.json")).json()[0][
        "service_request_id"
    ] == filed_id

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app.state.asgi, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        georeport = GeoReport(f"http://127.0.0.1:{port}/open311/v2")
        services = await asyncio.to_thread(georeport.get_service_list)
        assert {s["service_code"] for s in services} >= {"message", "complaint", "correction"}
        definition = await asyncio.to_thread(georeport.get_service_definition, "correction")
        assert definition["attributes"][0]["code"] == "page_url"
        requests = await asyncio.to_thread(georeport.get_service_requests, status="open")
        assert {r["service_request_id"] for r in requests} == {created["number"], filed_id}
        one = await asyncio.to_thread(georeport.get_service_request, filed_id)
        assert (
            one["status"] == "open" and one["lat"] == 30.65 and one["service_code"] == "complaint"
        )
        assert one["description"] == ""  # nothing unpublished leaves through Open311
        assert one["expected_datetime"].startswith("2025-10-13T23:59:59")
    finally:
        server.should_exit = True
        await task
