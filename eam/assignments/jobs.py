"""Scheduled work on assignments."""

from __future__ import annotations

from eam.assignments.register_ends import cap_to_file_register_ends
from eam.assignments.service import expire_due
from eam.core.context import Context


async def expire_ended_assignments(ctx: Context) -> int:
    """Record as expired the assignments past ``valid_until`` and drop their (inert) policy rows,
    after cutting back live access to catalogue file registers that have an end
    (:mod:`eam.assignments.register_ends`)."""
    await cap_to_file_register_ends(ctx)
    return await expire_due(ctx)
