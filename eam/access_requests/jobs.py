"""Scheduled work of the access-request workflow."""

from __future__ import annotations

from eam.access_requests.workflow import expire_due
from eam.core.context import Context


async def expire_overdue_requests(ctx: Context) -> int:
    """Record as expired the pending requests past ``expires_at`` (they already read as expired)."""
    return await expire_due(ctx)
