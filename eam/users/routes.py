from __future__ import annotations

from typing import Annotated

import uuid

from litestar import Controller, Response, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from eam.core.context import Context
from eam.http.handler_options import HandlerOptions
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit
from eam.users import directory, flows, people
from eam.users.directory import PersonOut
from eam.users.flows import Me
from eam.users.schemas import MePatch


class MeController(Controller):
    path = "/v1/me"
    tags = ["Me"]

    @get(operation_id="getMe", summary="You: your organisations, access-manager roles, active assignments, pending requests")
    async def get_me(self, ctx: Context) -> Me:
        return await flows.me(ctx)

    @patch(
        operation_id="updateMe",
        summary="Set your professional e-mail address, the language of your e-mails (en, nl, fr) and whether you get a daily digest of waiting requests",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def update_me(self, ctx: Context, data: MePatch) -> Me:
        await flows.update_me(ctx, data)
        return await flows.me(ctx)


class PeopleController(Controller):
    path = "/v1/people"
    tags = ["People"]

    @get(
        operation_id="searchPeople",
        summary="Find people by name or e-mail: access managers, those of their organisations; platform admins, everyone",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def search_people(
        self,
        ctx: Context,
        q: Annotated[str | None, Parameter(max_length=200, description="Part of the name or e-mail address, any case")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[PersonOut]:
        people, next_cursor = await directory.search_people(ctx, q, limit, cursor)
        return Page(items=people, next_cursor=next_cursor)


class OrganisationPeopleController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/people"
    tags = ["People"]

    @post(
        operation_id="registerPerson",
        summary="Register a person with your organisation by national number, before or after their first sign-in (201 when new or changed, 200 when already so)",
        responses={200: ResponseSpec(data_container=PersonOut, description="The person was registered with the organisation already, as given")},
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def register(self, ctx: Context, organisation_id: uuid.UUID, data: people.PersonIn) -> Response[PersonOut]:
        person, changed = await people.register_person(ctx, organisation_id, data)
        found = await directory.find_person(ctx, person.id)
        assert found is not None  # the caller registered them with an organisation they manage
        return Response(found, status_code=201 if changed else 200)
