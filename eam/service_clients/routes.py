from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import Parameter
from sqlalchemy import select

from eam.authz.vocabulary import PLATFORM_DOMAIN
from eam.service_clients import service
from eam.service_clients.models import ServiceClient
from eam.service_clients.schemas import (
    ServiceClientCreate,
    ServiceClientCredentials,
    ServiceClientOut,
    ServiceClientScopes,
)
from eam.authz.vocabulary import defined_scopes
from eam.service_clients.scopes import held_scopes
from eam.core.context import Context
from eam.core.paging import Page, fetch_page
from eam.http.paging import Cursor, Limit

ClientIdPath = Annotated[str, Parameter(max_length=64)]


class ServiceClientController(Controller):
    path = "/v1/service-clients"
    tags = ["Service clients"]

    @get(operation_id="listServiceClients", summary="Service clients (platform admins)")
    async def list_clients(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[ServiceClientOut]:
        ctx.require(PLATFORM_DOMAIN, "service_client", "read")
        stmt = select(ServiceClient).order_by(ServiceClient.client_id)
        rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
        scopes = await held_scopes(ctx.session, [row.client_id for row in rows])
        return Page(items=[service.client_out(row, scopes[row.client_id]) for row in rows], next_cursor=next_cursor)

    @post(operation_id="createServiceClient", summary="Register a service client; its secret is shown once")
    async def create_client(self, ctx: Context, data: ServiceClientCreate) -> ServiceClientCredentials:
        ctx.require(PLATFORM_DOMAIN, "service_client", "create")
        client, scopes, secret = await service.create_client(
            ctx.session, ctx.audit, ctx.catalogue, data, defined_scopes(ctx.authz.static_rules)
        )
        return ServiceClientCredentials(client=service.client_out(client, scopes), client_secret=secret)

    @get("/{client_id:str}", operation_id="getServiceClient", summary="Show a service client")
    async def get_client(self, ctx: Context, client_id: ClientIdPath) -> ServiceClientOut:
        ctx.require(PLATFORM_DOMAIN, "service_client", "read")
        client = await service.get_client(ctx.session, client_id)
        return service.client_out(client, await service.scopes_of(ctx.session, client))

    @put("/{client_id:str}/scopes", operation_id="setServiceClientScopes", summary="Set the scopes a client may ask for; removed ones stop working at once")
    async def set_scopes(self, ctx: Context, client_id: ClientIdPath, data: ServiceClientScopes) -> ServiceClientOut:
        ctx.require(PLATFORM_DOMAIN, "service_client", "update")
        client, scopes = await service.set_scopes(ctx.session, ctx.audit, client_id, data.scopes, defined_scopes(ctx.authz.static_rules))
        return service.client_out(client, scopes)

    @post("/{client_id:str}/rotate-secret", status_code=200, operation_id="rotateServiceClientSecret", summary="Replace the secret; the old one stops working at once")
    async def rotate_secret(self, ctx: Context, client_id: ClientIdPath) -> ServiceClientCredentials:
        ctx.require(PLATFORM_DOMAIN, "service_client", "update")
        client, secret = await service.rotate_secret(ctx.session, ctx.audit, client_id)
        scopes = await service.scopes_of(ctx.session, client)
        return ServiceClientCredentials(client=service.client_out(client, scopes), client_secret=secret)

    @post("/{client_id:str}/disable", status_code=200, operation_id="disableServiceClient", summary="Disable a service client")
    async def disable_client(self, ctx: Context, client_id: ClientIdPath) -> ServiceClientOut:
        ctx.require(PLATFORM_DOMAIN, "service_client", "update")
        return service.client_out(await service.disable_client(ctx.session, ctx.audit, client_id), [])
