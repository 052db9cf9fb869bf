from __future__ import annotations

import uuid

from litestar import Controller, get, post

from eam.core.context import Context
from eam.core.paging import Page
from eam.http.handler_options import HandlerOptions
from eam.http.paging import Cursor, Limit
from eam.outbox.deliveries import DeliveryOut, DeliveryStatus, list_deliveries, send_again


class OutboxController(Controller):
    path = "/v1/outbox"
    tags = ["Outbox"]

    @get(operation_id="listDeliveries", summary="The delivery log of notifications (platform admins), newest first", opt=HandlerOptions(conflicts=False).opt())
    async def list_deliveries(self, ctx: Context, status: DeliveryStatus | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[DeliveryOut]:
        items, next_cursor = await list_deliveries(ctx, status, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @post("/{message_id:uuid}/resend", status_code=200, operation_id="resendDelivery", summary="Send a dead message again (platform admins)")
    async def resend(self, ctx: Context, message_id: uuid.UUID) -> DeliveryOut:
        return await send_again(ctx, message_id)
