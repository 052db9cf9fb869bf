"""Scheduled work of the access-request workflow."""

from __future__ import annotations

from eam.access_requests.escalation import escalate_stale_requests
from eam.access_requests.workflow import expire_due
from eam.core.context import Context


async def expire_overdue_requests(ctx: Context) -> int:
    """Record as expired the pending requests past ``expires_at`` (they already read as expired)."""
    return await expire_due(ctx)


async def escalate_overdue_requests(ctx: Context) -> int:
    """Escalate requests pending too long (:mod:`eam.access_requests.escalation`)."""
    return await escalate_stale_requests(ctx)
