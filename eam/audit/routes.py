from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from eam.audit import service
from eam.audit.schemas import AuditEventOut
from eam.audit.service import AuditFilter
from eam.core.context import Context
from eam.core.paging import Page
from eam.core.times import Instant
from eam.http.paging import Cursor, Limit


class AuditController(Controller):
    """Read-only by design: no route updates or deletes an event (and the database refuses to)."""

    path = "/v1/audit-events"
    tags = ["Audit"]

    @get(operation_id="listAuditEvents", summary="Audit events: your organisations' (access managers) or all (admins), newest first")
    async def list_events(
        self,
        ctx: Context,
        organisation_id: uuid.UUID | None = None,
        action: Annotated[str | None, Parameter(max_length=64, description="e.g. access_request.approved")] = None,
        target_id: Annotated[str | None, Parameter(max_length=64)] = None,
        actor_id: uuid.UUID | None = None,
        person_id: Annotated[uuid.UUID | None, Parameter(description="Events by or about this person (requester, holder of access, access manager)")] = None,
        register: Annotated[str | None, Parameter(max_length=32, description="Events about this register or about access to it, e.g. HDBP0147")] = None,
        since: Annotated[Instant | None, Parameter(description="Events at or after this time")] = None,
        until: Annotated[Instant | None, Parameter(description="Events before this time")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[AuditEventOut]:
        wanted = AuditFilter(
            organisation_id=organisation_id,
            action=action,
            target_id=target_id,
            actor_id=actor_id,
            person_id=person_id,
            register=register,
            since=since,
            until=until,
        )
        items, next_cursor = await service.list_events(ctx, wanted, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)
