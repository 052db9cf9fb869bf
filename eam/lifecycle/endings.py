"""Ending access in bulk, within the caller's transaction.

Each assignment is ended by :func:`eam.assignments.service.end_revoked`, the revocation's own
compare-and-set (policy row dropped, one audit event each), and each request by its own
compare-and-set and audit event, as one withdrawal would be; only what
someone else ended first (a racing revocation, an expiry) is skipped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment, is_live
from eam.assignments.service import end_revoked
from eam.core.context import Context
from eam.core.enums import RequestStatus


async def revoke_live(ctx: Context, where: Any, reason: str) -> int:
    """Revoke every live (active or scheduled) assignment matching ``where``; returns how many."""
    held = (await ctx.session.scalars(select(Assignment).where(where, is_live(ctx.now)).order_by(Assignment.id))).all()
    return sum([await end_revoked(ctx, assignment, reason) for assignment in held])


async def withdraw_pending(ctx: Context, where: Any, reason: str) -> int:
    """Withdraw every pending, unexpired request matching ``where``, the reason as the decision
    comment (nobody is asked to decide what can no longer be granted); returns how many."""
    pending = (
        await ctx.session.scalars(
            select(AccessRequest)
            .where(where, AccessRequest.status == RequestStatus.PENDING, AccessRequest.expires_at > ctx.now)
            .order_by(AccessRequest.id)
        )
    ).all()
    count = 0
    for request in pending:
        before = request.snapshot()
        result = await ctx.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id, AccessRequest.status == RequestStatus.PENDING)
            .values(status=RequestStatus.WITHDRAWN, decided_at=ctx.now, decided_by=ctx.actor_id, decision_comment=reason)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        await ctx.session.refresh(request)
        ctx.audit.record(
            "access_request.withdrawn",
            target_type="access_request",
            target_id=request.id,
            organisation_id=request.organisation_id,
            before=before,
            after=request.snapshot(),
        )
        count += 1
    return count
