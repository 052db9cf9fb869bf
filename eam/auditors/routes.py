from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post

from eam.auditors import service
from eam.auditors.schemas import AuditorIn, AuditorOut
from eam.core.context import Context
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit


class AuditorController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/auditors"
    tags = ["Auditors"]

    @get(operation_id="listAuditors", summary="List an organisation's auditors (read-only role, e.g. its data protection officer)")
    async def list_auditors(self, ctx: Context, organisation_id: uuid.UUID, limit: Limit = 50, cursor: Cursor = None) -> Page[AuditorOut]:
        items, next_cursor = await service.list_auditors(ctx, organisation_id, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @post(operation_id="appointAuditor", summary="Appoint an auditor of the organisation (its access managers, platform admins)")
    async def appoint(self, ctx: Context, organisation_id: uuid.UUID, data: AuditorIn) -> AuditorOut:
        return await service.appoint(ctx, organisation_id, data.user_id)

    @delete("/{user_id:uuid}", operation_id="removeAuditor", summary="Remove an auditor of the organisation")
    async def remove(self, ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await service.remove(ctx, organisation_id, user_id)


class PlatformAuditorController(Controller):
    path = "/v1/auditors"
    tags = ["Auditors"]

    @get(operation_id="listPlatformAuditors", summary="List the platform-wide auditors (platform admins)")
    async def list_auditors(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[AuditorOut]:
        items, next_cursor = await service.list_platform_auditors(ctx, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @post(operation_id="appointPlatformAuditor", summary="Appoint a platform-wide auditor, who reads every organisation (platform admins)")
    async def appoint(self, ctx: Context, data: AuditorIn) -> AuditorOut:
        return await service.appoint_platform(ctx, data.user_id)

    @delete("/{user_id:uuid}", operation_id="removePlatformAuditor", summary="Remove a platform-wide auditor (platform admins)")
    async def remove(self, ctx: Context, user_id: uuid.UUID) -> None:
        await service.remove_platform(ctx, user_id)
