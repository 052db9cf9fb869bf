"""Escalation of requests left pending too long (issue item 6).

A request still pending ``EAM_ESCALATE_AFTER_HOURS`` after its submission is re-sent to every
access manager of its organisation, including those who chose the daily digest (level 1); one
still pending ``EAM_ESCALATE_TO_ADMINS_AFTER_HOURS`` after its submission goes to the platform
admins as well (level 2): a request sent to the wrong organisation, or to managers who left,
no longer sits unseen for weeks. A setting of 0 turns its level off.

Each step is a compare-and-set ``UPDATE … SET escalation_level = n WHERE status = 'pending' AND
escalation_level < n``: of two workers, one wins and sends the mails; the step is audited as
``access_request.escalated`` (system actor ``escalation``) in the same transaction as its
outbox rows. The requester sees the level and its time on the request (API and their requests
page). A request past its expiry is not escalated (it expires), nor one at a disabled
organisation (which decides nothing: its requests are left to expire).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from eam.access_requests.models import AccessRequest
from eam.core.context import Context
from eam.core.enums import OrganisationStatus, RequestStatus
from eam.notifications.access_requests import TO_ALL_MANAGERS, TO_PLATFORM_ADMINS, request_escalated
from eam.organisations.models import Organisation

#: Requests escalated per level and run (one short transaction); the next run goes on.
BATCH = 100


async def _escalate(ctx: Context, level: int, hours: int, limit: int) -> int:
    """Raise pending requests older than ``hours`` to ``level``; how many were raised."""
    due = await ctx.session.scalars(
        select(AccessRequest)
        .join(Organisation, Organisation.id == AccessRequest.organisation_id)
        .where(
            Organisation.status == OrganisationStatus.ACTIVE,
            AccessRequest.status == RequestStatus.PENDING,
            AccessRequest.expires_at > ctx.now,
            AccessRequest.escalation_level < level,
            AccessRequest.created_at <= ctx.now - dt.timedelta(hours=hours),
        )
        .order_by(AccessRequest.created_at, AccessRequest.id)
        .limit(limit)
    )
    raised = 0
    for request in list(due):
        before = {"escalation_level": request.escalation_level, "escalated_at": request.escalated_at.isoformat() if request.escalated_at else None}
        result = await ctx.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id, AccessRequest.status == RequestStatus.PENDING, AccessRequest.escalation_level < level)
            .values(escalation_level=level, escalated_at=ctx.now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # decided, or escalated by another worker, meanwhile
        await ctx.session.refresh(request)
        mails = await request_escalated(ctx, request, level)
        ctx.audit.record(
            "access_request.escalated",
            target_type="access_request",
            target_id=request.id,
            organisation_id=request.organisation_id,
            before=before,
            after={"escalation_level": level, "escalated_at": ctx.now.isoformat(), "mails": mails},
        )
        raised += 1
    return raised


async def escalate_stale_requests(ctx: Context, *, limit: int = BATCH) -> int:
    """Escalate what is due, level 1 first; how many steps were taken."""
    steps = 0
    if ctx.settings.escalate_after_hours:
        steps += await _escalate(ctx, TO_ALL_MANAGERS, ctx.settings.escalate_after_hours, limit)
    if ctx.settings.escalate_to_admins_after_hours:
        steps += await _escalate(ctx, TO_PLATFORM_ADMINS, ctx.settings.escalate_to_admins_after_hours, limit)
    return steps
