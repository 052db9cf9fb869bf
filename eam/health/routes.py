from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from eam.authz.sync import catch_up
from eam.core.database import transaction


class Health(msgspec.Struct, frozen=True):
    status: str
    database: str | None = None
    policies: str | None = None
    policy_version: int | None = None


@get("/health/live", operation_id="live", summary="The process is up", tags=["Health"], security=[{}])
async def live() -> Health:
    return Health(status="ok")


@get("/health/ready", operation_id="ready", summary="Database reachable and policies loaded", tags=["Health"], security=[{}])
async def ready(state: State) -> Response[Health]:
    database = "ok"
    try:
        async with transaction(state.sessionmaker, read_only=True) as session:
            await session.execute(text("SELECT 1"))
            await catch_up(state.authorizer, session)
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as "not ready"
        database = f"unreachable: {type(exc).__name__}"
    policies = "loaded" if state.authorizer.loaded else "not loaded"
    ok = database == "ok" and state.authorizer.loaded
    body: Any = Health(
        status="ok" if ok else "unavailable", database=database, policies=policies, policy_version=state.authorizer.version
    )
    return Response(body, status_code=200 if ok else 503)
