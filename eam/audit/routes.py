from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter
from litestar.response import Stream

from eam.audit import service
from eam.audit.export import FILENAME, MEDIA_TYPE, export_lines, export_slice
from eam.audit.schemas import AuditEventOut
from eam.audit.service import AuditFilter
from eam.core.context import Context
from eam.core.paging import Page
from eam.core.times import Instant
from eam.http.paging import Cursor, Limit

Action = Annotated[str | None, Parameter(max_length=64, description="e.g. access_request.approved")]
TargetId = Annotated[str | None, Parameter(max_length=64)]
PersonId = Annotated[uuid.UUID | None, Parameter(description="Events by or about this person (requester, holder of access, access manager)")]
RegisterCode = Annotated[str | None, Parameter(max_length=32, description="Events about this register or about access to it, e.g. HDBP0147")]
Since = Annotated[Instant | None, Parameter(description="Events at or after this time")]
Until = Annotated[Instant | None, Parameter(description="Events before this time")]

EXPORT_DESCRIPTION = (
    "One event per line (JSON Lines), oldest first: every stored field, `prev_hash` and `hash`, "
    "serialised canonically (compact UTF-8 JSON, keys sorted). Check a line without EAM: remove "
    "`hash`, serialise the rest canonically, SHA-256 it (lowercase hex). Where two lines have "
    "consecutive ids, the second's `prev_hash` is the first's `hash`."
)


class AuditController(Controller):
    """Read-only by design: no route updates or deletes an event (and the database refuses to).

    The list and the export declare the same filters each: as a Litestar dependency, they would
    be validated while the caller's transaction is being opened beside them, and a refused value
    would cancel that half-opened transaction and leak its connection.
    """

    path = "/v1/audit-events"
    tags = ["Audit"]

    @get(operation_id="listAuditEvents", summary="Audit events: your organisations' (access managers) or all (admins), newest first")
    async def list_events(
        self,
        ctx: Context,
        organisation_id: uuid.UUID | None = None,
        action: Action = None,
        target_id: TargetId = None,
        actor_id: uuid.UUID | None = None,
        person_id: PersonId = None,
        register: RegisterCode = None,
        since: Since = None,
        until: Until = None,
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

    @get(
        "/export.jsonl",
        operation_id="exportAuditEvents",
        summary="Audit events as JSON Lines with their chain hashes, oldest first (same filters and readers as the list)",
        media_type=MEDIA_TYPE,
        response_description=EXPORT_DESCRIPTION,
        response_headers=[
            ResponseHeader(name="Content-Disposition", description=f'attachment; filename="{FILENAME}"', documentation_only=True)
        ],
    )
    async def export_events(
        self,
        ctx: Context,
        organisation_id: uuid.UUID | None = None,
        action: Action = None,
        target_id: TargetId = None,
        actor_id: uuid.UUID | None = None,
        person_id: PersonId = None,
        register: RegisterCode = None,
        since: Since = None,
        until: Until = None,
    ) -> Stream:
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
        exported = await export_slice(ctx, wanted)
        return Stream(
            export_lines(ctx.services.sessionmaker, exported),
            media_type=MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{FILENAME}"'},
        )
