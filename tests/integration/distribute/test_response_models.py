"""The documented response models match the bytes the routes send (stored JSON included)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from common.events import ContentRetractionRequested
from common.pagination import Page
from services.distribute.schemas import (
    ArticlePublic,
    ChangesPublic,
    ColumnPublic,
    DeliveryDetailPublic,
    DeliveryPublic,
    EntryPublic,
    SiteDetailPublic,
    SitePublic,
    WebhookEndpointCreated,
    WebhookEndpointPublic,
)
from tests.integration.distribute.conftest import ADMIN, SECRET, Distribute, Receiver, ingested


async def answer(distribute: Distribute, method: str, path: str, **options: Any) -> Any:
    response = await distribute.client.request(method, path, headers=ADMIN, **options)
    assert response.status_code < 300, response.text
    return response.json()


def fits(model: type[BaseModel], body: Any) -> None:
    """`body` validates, and says nothing the model does not (`extra="forbid"`)."""
    model.model_validate(body)


async def test_every_answer_fits_its_model(distribute: Distribute, receiver: Receiver) -> None:
    created = await answer(
        distribute,
        "POST",
        "/api/v1/webhook-endpoints",
        json={"url": receiver.url, "secret": SECRET, "description": "新媒体"},
    )
    fits(WebhookEndpointCreated, created)
    fits(Page[WebhookEndpointPublic], await answer(distribute, "GET", "/api/v1/webhook-endpoints"))
    endpoint = f"/api/v1/webhook-endpoints/{created['id']}"
    fits(WebhookEndpointPublic, await answer(distribute, "GET", endpoint))

    await distribute.publish(ingested("c1"))
    await distribute.publish(ingested("c2"))
    assert await distribute.dispatch() == 2
    await distribute.handle(
        ContentRetractionRequested(content_id="c2", reason="内容有误", requested_by="editor")
    )

    fits(Page[SitePublic], await answer(distribute, "GET", "/api/v1/sites"))
    fits(SiteDetailPublic, await answer(distribute, "GET", "/api/v1/sites/province"))
    fits(Page[ColumnPublic], await answer(distribute, "GET", "/api/v1/sites/province/columns"))
    column = "/api/v1/sites/province/columns/notices"
    fits(ColumnPublic, await answer(distribute, "GET", column))
    items = await answer(distribute, "GET", f"{column}/items", params={"limit": 1})
    assert items["items"] and items["next_cursor"] is None  # c2 was retracted
    fits(Page[EntryPublic], items)
    fits(ArticlePublic, await answer(distribute, "GET", "/api/v1/sites/province/items/c1"))
    changes = await answer(distribute, "GET", "/api/v1/changes")
    assert {c["op"] for c in changes["items"]} == {"published", "retracted"}
    fits(ChangesPublic, changes)

    listed = await answer(distribute, "GET", "/api/v1/deliveries", params={"content_id": "c1"})
    fits(Page[DeliveryPublic], listed)
    webhook = next(d for d in listed["items"] if d["channel"] == "webhook")
    fits(
        DeliveryDetailPublic, await answer(distribute, "GET", f"/api/v1/deliveries/{webhook['id']}")
    )
    replayed = await answer(distribute, "POST", f"/api/v1/deliveries/{webhook['id']}/replay")
    fits(DeliveryPublic, replayed)

    site = {"slug": "town", "name": "某镇", "domain": "town.example.gov.cn"}
    site |= {"site_id_code": "5101290002", "parent": "county"}
    fits(SitePublic, await answer(distribute, "POST", "/api/v1/sites", json=site))
    fits(SitePublic, await answer(distribute, "PATCH", "/api/v1/sites/town", json={"name": "镇"}))
    new_column = {"slug": "news", "name": "要闻", "type": "news"}
    path = "/api/v1/sites/town/columns"
    fits(ColumnPublic, await answer(distribute, "POST", path, json=new_column))
    fits(ColumnPublic, await answer(distribute, "PATCH", f"{path}/news", json={"name": "新闻"}))
