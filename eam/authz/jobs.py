"""Scheduled work on the policy store."""

from __future__ import annotations

from eam.authz.policy_store import prune_change_log
from eam.core.context import Context


async def prune_policy_change_log(ctx: Context) -> int:
    """Keep the newest :data:`eam.authz.policy_store.LOG_KEPT` change-log entries."""
    return await prune_change_log(ctx.session)
