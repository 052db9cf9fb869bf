from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post

from eam.access_managers import service
from eam.access_managers.schemas import AccessManagerIn, AccessManagerOut
from eam.core.context import Context
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit


class AccessManagerController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/access-managers"
    tags = ["Access managers"]

    @get(operation_id="listAccessManagers", summary="List an organisation's access managers")
    async def list_access_managers(
        self, ctx: Context, organisation_id: uuid.UUID, limit: Limit = 50, cursor: Cursor = None
    ) -> Page[AccessManagerOut]:
        items, next_cursor = await service.list_access_managers(ctx, organisation_id, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @post(operation_id="appointAccessManager", summary="Appoint an access manager")
    async def appoint(self, ctx: Context, organisation_id: uuid.UUID, data: AccessManagerIn) -> AccessManagerOut:
        return await service.appoint(ctx, organisation_id, data.user_id)

    @delete("/{user_id:uuid}", operation_id="removeAccessManager", summary="Remove an access manager (never the last one)")
    async def remove(self, ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await service.remove(ctx, organisation_id, user_id)
