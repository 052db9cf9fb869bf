from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy import select

from eam.audit.models import AuditEvent
from eam.audit.schemas import AuditEventOut
from eam.authz.vocabulary import org_domain
from eam.core.errors import Forbidden
from eam.core.context import Context
from eam.core.paging import Page, fetch_page
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
        since: Annotated[Instant | None, Parameter(description="Events at or after this time")] = None,
        until: Annotated[Instant | None, Parameter(description="Events before this time")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[AuditEventOut]:
        stmt = select(AuditEvent)
        if organisation_id is not None:
            ctx.require(org_domain(organisation_id), "audit_event", "read")
            stmt = stmt.where(AuditEvent.organisation_id == organisation_id)
        elif (org_ids := ctx.readable_organisations("audit_event")) is not None:
            if not org_ids:
                raise Forbidden("only access managers and platform admins read audit events")
            stmt = stmt.where(AuditEvent.organisation_id.in_(org_ids))
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        if target_id is not None:
            stmt = stmt.where(AuditEvent.target_id == target_id)
        if actor_id is not None:
            stmt = stmt.where(AuditEvent.actor_id == actor_id)
        if since is not None:
            stmt = stmt.where(AuditEvent.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(AuditEvent.occurred_at < until)
        rows, next_cursor = await fetch_page(ctx.session, stmt.order_by(AuditEvent.id.desc()), limit, cursor)
        return Page(items=[_event_out(event) for event in rows], next_cursor=next_cursor)


def _event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor=event.actor,
        action=event.action,
        organisation_id=event.organisation_id,
        target_type=event.target_type,
        target_id=event.target_id,
        before=event.before,
        after=event.after,
        http_request_id=event.http_request_id,
    )
