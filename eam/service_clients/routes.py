from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import Parameter

from eam.service_clients import service
from eam.service_clients.schemas import (
    ServiceClientCreate,
    ServiceClientCredentials,
    ServiceClientOut,
    ServiceClientScopes,
)
from eam.core.context import Context
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit

ClientIdPath = Annotated[str, Parameter(max_length=64)]


class ServiceClientController(Controller):
    path = "/v1/service-clients"
    tags = ["Service clients"]

    @get(operation_id="listServiceClients", summary="Service clients (platform admins)")
    async def list_clients(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[ServiceClientOut]:
        rows, next_cursor = await service.list_clients(ctx, limit, cursor)
        return Page(items=[service.client_out(client, scopes) for client, scopes in rows], next_cursor=next_cursor)

    @post(operation_id="createServiceClient", summary="Register a service client; its secret is shown once")
    async def create_client(self, ctx: Context, data: ServiceClientCreate) -> ServiceClientCredentials:
        client, scopes, secret = await service.create_client(ctx, data)
        return ServiceClientCredentials(client=service.client_out(client, scopes), client_secret=secret)

    @get("/{client_id:str}", operation_id="getServiceClient", summary="Show a service client")
    async def get_client(self, ctx: Context, client_id: ClientIdPath) -> ServiceClientOut:
        return service.client_out(*await service.show_client(ctx, client_id))

    @put("/{client_id:str}/scopes", operation_id="setServiceClientScopes", summary="Set the scopes a client may ask for; removed ones stop working at once")
    async def set_scopes(self, ctx: Context, client_id: ClientIdPath, data: ServiceClientScopes) -> ServiceClientOut:
        return service.client_out(*await service.set_scopes(ctx, client_id, data.scopes))

    @post("/{client_id:str}/rotate-secret", status_code=200, operation_id="rotateServiceClientSecret", summary="Replace the secret; the old one stops working at once")
    async def rotate_secret(self, ctx: Context, client_id: ClientIdPath) -> ServiceClientCredentials:
        client, secret, scopes = await service.rotate_secret(ctx, client_id)
        return ServiceClientCredentials(client=service.client_out(client, scopes), client_secret=secret)

    @post("/{client_id:str}/disable", status_code=200, operation_id="disableServiceClient", summary="Disable a service client")
    async def disable_client(self, ctx: Context, client_id: ClientIdPath) -> ServiceClientOut:
        return service.client_out(await service.disable_client(ctx, client_id), [])
