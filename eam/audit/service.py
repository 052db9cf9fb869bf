"""Reading the audit trail: access managers their organisations' events, platform admins all.

Read-only by design: nothing here (or anywhere) updates or deletes an event, and the database
refuses to.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from eam.audit.models import AuditEvent
from eam.audit.schemas import AuditEventOut
from eam.authz.vocabulary import org_domain
from eam.core.context import Context
from eam.core.errors import Forbidden
from eam.core.paging import fetch_page


@dataclass(frozen=True)
class AuditFilter:
    """Which events: each given field narrows the list (``since`` inclusive, ``until`` exclusive)."""

    organisation_id: uuid.UUID | None = None
    action: str | None = None
    target_id: str | None = None
    actor_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def list_events(ctx: Context, wanted: AuditFilter, limit: int, cursor: str | None) -> tuple[list[AuditEventOut], str | None]:
    """Events the caller may read that match ``wanted``, newest first."""
    stmt = select(AuditEvent)
    if wanted.organisation_id is not None:
        ctx.require(org_domain(wanted.organisation_id), "audit_event", "read")
        stmt = stmt.where(AuditEvent.organisation_id == wanted.organisation_id)
    elif (org_ids := ctx.readable_organisations("audit_event")) is not None:
        if not org_ids:
            raise Forbidden("only access managers and platform admins read audit events")
        stmt = stmt.where(AuditEvent.organisation_id.in_(org_ids))
    if wanted.action is not None:
        stmt = stmt.where(AuditEvent.action == wanted.action)
    if wanted.target_id is not None:
        stmt = stmt.where(AuditEvent.target_id == wanted.target_id)
    if wanted.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == wanted.actor_id)
    if wanted.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= wanted.since)
    if wanted.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < wanted.until)
    rows, next_cursor = await fetch_page(ctx.session, stmt.order_by(AuditEvent.id.desc()), limit, cursor)
    return [event_out(event) for event in rows], next_cursor


def event_out(event: AuditEvent) -> AuditEventOut:
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
