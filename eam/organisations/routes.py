from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from eam.lifecycle import organisations as lifecycle
from eam.organisations import service
from eam.organisations.schemas import OrganisationCreate, OrganisationOut, OrganisationPatch
from eam.core.context import Context
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit


class OrganisationController(Controller):
    path = "/v1/organisations"
    tags = ["Organisations"]

    @get(operation_id="listOrganisations", summary="Find organisations by NIHDI number, enterprise number or name")
    async def list_organisations(
        self,
        ctx: Context,
        q: Annotated[str | None, Parameter(max_length=200, description="NIHDI number, KBO number (any spelling) or part of the name")] = None,
        status: Literal["active", "disabled"] | None = None,
        without_access_manager: Annotated[
            bool, Parameter(description="true: only active organisations without any access manager (to flag to platform admins)")
        ] = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[OrganisationOut]:
        rows, next_cursor = await service.search(ctx, q, status, limit, cursor, without_access_manager=without_access_manager)
        return Page(items=[service.organisation_out(org) for org in rows], next_cursor=next_cursor)

    @post(operation_id="createOrganisation", summary="Create an organisation (platform admins)")
    async def create_organisation(self, ctx: Context, data: OrganisationCreate) -> OrganisationOut:
        return service.organisation_out(await service.create_organisation(ctx, data))

    @get("/{organisation_id:uuid}", operation_id="getOrganisation", summary="Show an organisation")
    async def get_organisation(self, ctx: Context, organisation_id: uuid.UUID) -> OrganisationOut:
        return service.organisation_out(await service.get_organisation(ctx, organisation_id))

    @patch(
        "/{organisation_id:uuid}",
        operation_id="updateOrganisation",
        summary="Rename, set the enterprise number, disable (ending its access) or re-enable (platform admins)",
    )
    async def update_organisation(self, ctx: Context, organisation_id: uuid.UUID, data: OrganisationPatch) -> OrganisationOut:
        return service.organisation_out(await lifecycle.update_organisation(ctx, organisation_id, data))
