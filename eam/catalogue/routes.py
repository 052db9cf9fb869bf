from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from eam.catalogue import service
from eam.catalogue.schemas import ApplicationOut, RegisterIn, RegisterOut
from eam.core.context import Context
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit


class CatalogueController(Controller):
    path = "/v1"
    tags = ["Catalogue"]

    @get("/applications", operation_id="listApplications", summary="Applications and the profiles each allows")
    async def list_applications(self, ctx: Context) -> list[ApplicationOut]:
        return service.list_applications(ctx)

    @get("/registers", operation_id="listRegisters", summary="Registers (data collections)")
    async def list_registers(
        self,
        ctx: Context,
        application: Annotated[str | None, Parameter(max_length=32, description="Only registers available in this application")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[RegisterOut]:
        items, next_cursor = await service.list_registers(ctx, application, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @post("/registers", operation_id="addRegister", summary="Add a register (platform admins)")
    async def add_register(self, ctx: Context, data: RegisterIn) -> RegisterOut:
        return await service.add_register(ctx, data)
