from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from eam.authz.vocabulary import PLATFORM_DOMAIN
from eam.catalogue.schemas import ApplicationOut, RegisterIn, RegisterOut
from eam.core.errors import NotFound
from eam.core.context import Context
from eam.core.paging import Page, page_of_sorted
from eam.http.paging import Cursor, Limit


class CatalogueController(Controller):
    path = "/v1"
    tags = ["Catalogue"]

    @get("/applications", operation_id="listApplications", summary="Applications and the profiles each allows")
    async def list_applications(self, ctx: Context) -> list[ApplicationOut]:
        ctx.require(PLATFORM_DOMAIN, "application", "read")
        return ctx.catalogue.applications()

    @get("/registers", operation_id="listRegisters", summary="Registers (data collections)")
    async def list_registers(
        self,
        ctx: Context,
        application: Annotated[str | None, Parameter(max_length=32, description="Only registers available in this application")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[RegisterOut]:
        ctx.require(PLATFORM_DOMAIN, "register", "read")
        registers = await ctx.catalogue.registers(ctx.session, application=application)
        items, next_cursor = page_of_sorted(registers, lambda register: register.code, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @get("/registers/{code:str}", operation_id="getRegister", summary="Show a register")
    async def get_register(self, ctx: Context, code: str) -> RegisterOut:
        ctx.require(PLATFORM_DOMAIN, "register", "read")
        register = await ctx.catalogue.find_register(ctx.session, code)
        if register is None:
            raise NotFound(f"no register {code!r}")
        return register

    @post("/registers", operation_id="addRegister", summary="Add a register (platform admins)")
    async def add_register(self, ctx: Context, data: RegisterIn) -> RegisterOut:
        ctx.require(PLATFORM_DOMAIN, "register", "create")
        return await ctx.catalogue.add_register(ctx.session, ctx.audit, data, ctx.now, ctx.user.id)
