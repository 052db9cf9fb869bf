"""Scheduled work on assignments."""

from __future__ import annotations

from eam.assignments.service import expire_due
from eam.core.context import Context


async def expire_ended_assignments(ctx: Context) -> int:
    """Record as expired the assignments past ``valid_until`` and drop their (inert) policy rows."""
    return await expire_due(ctx)
