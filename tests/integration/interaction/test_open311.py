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
from tests.integration.interaction.conftest import OFFICE, OFFICE2, submit
from tests.integration.interaction.test_features import replied_case

API_KEY_ACTOR = actor_headers(
    Actor(id="key-portal", name="portal", kind="api_key", scopes=["cases:submit"]),
    DEV_INTERNAL_SECRET,
)
READ_KEY_ACTOR = actor_headers(
    Actor(id="key-reader", name="reader", kind="api_key", scopes=["cases:read"]),
    DEV_INTERNAL_SECRET,
)


ADDRESS = "成都市武侯区人民南路四段12号3栋501"


async def test_open311_client_reads_and_files(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    unpublished = await submit(client, clock, address=ADDRESS, lat=30.654321, long=104.067891)
    form = {
        "service_code": "complaint",
        "description": "路灯不亮已经一周了，我住人民南路四段12号3栋501，电话13912345678",
        "lat": "30.654321",
        "long": "104.067891",
        "address_string": ADDRESS,
        "first_name": "小明",
        "last_name": "李",
        "phone": "13912345678",
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

    # Nothing of a private or unpublished case leaves through Open311, not even its existence.
    listed = await client.get("/open311/v2/requests.json")
    assert listed.status_code == 200 and listed.json() == []
    for number in (filed_id, unpublished["number"]):
        one = await client.get(f"/open311/v2/requests/{number}.json")
        assert one.status_code == 404 and one.json()[0]["description"] == "request not found"
        by_id = await client.get("/open311/v2/requests.json", params={"service_request_id": number})
        assert by_id.json() == []
    for secret in ("人民南路四段12号", "30.654321", "104.067891", "13912345678", "李小明"):
        assert secret not in listed.text

    published = await replied_case(
        client, clock, name="王五", address=ADDRESS, lat=30.654321, long=104.067891,
        body="王五反映：人民南路四段12号3栋501楼下夜间施工扰民，电话13812345678。",
    )  # fmt: skip
    number = published["number"]
    draft = await client.post(f"/api/v1/cases/{number}/publication", json={}, headers=OFFICE)
    assert draft.status_code == 200, draft.text
    assert (await client.get(f"/open311/v2/requests/{number}.json")).status_code == 404  # a draft
    approved = await client.post(f"/api/v1/cases/{number}/publication/approve", headers=OFFICE2)
    assert approved.status_code == 200, approved.text

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
        assert await asyncio.to_thread(georeport.get_service_requests, status="open") == []
        requests = await asyncio.to_thread(georeport.get_service_requests)
        assert [r["service_request_id"] for r in requests] == [number]
        one = await asyncio.to_thread(georeport.get_service_request, number)
        assert one == requests[0] and one["status"] == "closed"
        assert one["address"] == "成都市武侯区人民南路四段"  # street level, no house number
        assert (one["lat"], one["long"]) == (30.65, 104.07)
        assert one["description"] == approved.json()["body"]
        assert "王**反映：人民南路四段**楼下" in one["description"]
        assert "138****5678" in one["description"]
        assert one["requested_datetime"].startswith(published["received_on"])
        raw = str(requests)
        for secret in ("王五", "12号", "3栋501", "13812345678", "30.654321", "104.067891"):
            assert secret not in raw
    finally:
        server.should_exit = True
        await task
