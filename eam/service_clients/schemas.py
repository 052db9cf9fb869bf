from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.organisations.schemas import Name

ClientId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$", description="Lower-case letters, digits, '.', '_' and '-'")]
Audience = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Scope = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["tokens:introspect"])]
Scopes = Annotated[list[Scope], msgspec.Meta(max_length=32)]


class ServiceClientCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "name": "Report portal (production)",
        "client_id": "healthstat-prod",
        "audiences": ["healthstat"],
        "scopes": ["tokens:introspect", "organisations:read"],
    }

    name: Name
    #: Applications whose grant tokens the client may introspect, revoke and exchange for.
    audiences: Annotated[list[Audience], msgspec.Meta(max_length=20)] = []
    #: Scopes it may ask for with client credentials; absent: ``tokens:introspect`` when it has audiences.
    scopes: Scopes | None = None
    #: Chosen by the caller (e.g. ``healthstat-prod``), or generated when absent.
    client_id: ClientId | None = None


class ServiceClientScopes(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The complete set of scopes the client holds from now on; tokens lose a removed scope at once."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"scopes": ["tokens:introspect", "audit:read"]}

    scopes: Scopes


class ServiceClientOut(msgspec.Struct, kw_only=True):
    client_id: str
    name: str
    audiences: list[str]
    scopes: list[str]
    status: Literal["active", "disabled"]
    secret_created_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime


class ServiceClientCredentials(msgspec.Struct, kw_only=True):
    """Returned once, when the client is created or its secret rotated: EAM keeps only a hash."""

    client: ServiceClientOut
    client_secret: str
