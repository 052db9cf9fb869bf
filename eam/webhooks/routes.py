from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post

from eam.core.context import Context
from eam.core.paging import Page
from eam.http.handler_options import HandlerOptions
from eam.http.paging import Cursor, Limit
from eam.outbox.deliveries import DeliveryOut
from eam.webhooks import service
from eam.webhooks.schemas import WebhookCreate, WebhookCreated, WebhookOut, WebhookUpdate


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["Webhooks"]

    @post(operation_id="createWebhook", summary="Subscribe a URL to events; the signing secret is shown once", opt=HandlerOptions(conflicts=False).opt())
    async def create(self, ctx: Context, data: WebhookCreate) -> WebhookCreated:
        row, secret = await service.create(ctx, data)
        return WebhookCreated(webhook=service.webhook_out(row), secret=secret)

    @get(operation_id="listWebhooks", summary="Webhook subscriptions (a service client: its own)", opt=HandlerOptions(conflicts=False).opt())
    async def list_webhooks(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[WebhookOut]:
        rows, next_cursor = await service.list_subscriptions(ctx, limit, cursor)
        return Page(items=[service.webhook_out(row) for row in rows], next_cursor=next_cursor)

    @get("/{webhook_id:uuid}", operation_id="getWebhook", summary="Show a webhook subscription (never its secret)", opt=HandlerOptions(conflicts=False).opt())
    async def get_webhook(self, ctx: Context, webhook_id: uuid.UUID) -> WebhookOut:
        return service.webhook_out(await service.get_subscription(ctx, webhook_id))

    @patch("/{webhook_id:uuid}", operation_id="updateWebhook", summary="Pause or resume a webhook subscription", opt=HandlerOptions(conflicts=False).opt())
    async def update_webhook(self, ctx: Context, webhook_id: uuid.UUID, data: WebhookUpdate) -> WebhookOut:
        return service.webhook_out(await service.change(ctx, webhook_id, data))

    @delete("/{webhook_id:uuid}", operation_id="deleteWebhook", summary="Delete a webhook subscription and its deliveries", opt=HandlerOptions(conflicts=False).opt())
    async def delete_webhook(self, ctx: Context, webhook_id: uuid.UUID) -> None:
        await service.remove(ctx, webhook_id)

    @get("/{webhook_id:uuid}/deliveries", operation_id="listWebhookDeliveries", summary="A subscription's deliveries, newest first", opt=HandlerOptions(conflicts=False).opt())
    async def list_deliveries(self, ctx: Context, webhook_id: uuid.UUID, limit: Limit = 50, cursor: Cursor = None) -> Page[DeliveryOut]:
        items, next_cursor = await service.deliveries(ctx, webhook_id, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/replay",
        status_code=200,
        operation_id="replayWebhookDelivery",
        summary="Send a delivered or dead delivery again",
    )
    async def replay(self, ctx: Context, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryOut:
        return await service.replay(ctx, webhook_id, delivery_id)
