"""Scheduled work on notifications."""

from __future__ import annotations

from eam.core.context import Context
from eam.notifications.digests import send_request_digests
from eam.notifications.reminders import remind_ending_assignments
from eam.notifications.unmanaged import mail_unmanaged_organisations


async def send_ending_reminders(ctx: Context) -> int:
    """Write the due reminders that assignments end soon (one batch per run); how many mails."""
    return await remind_ending_assignments(ctx)


async def send_digests(ctx: Context) -> int:
    """Write today's digests of waiting requests for the managers who chose them; how many mails."""
    return await send_request_digests(ctx)


async def mail_unmanaged(ctx: Context) -> int:
    """Mail the platform admins about organisations newly left without an access manager."""
    return await mail_unmanaged_organisations(ctx)
