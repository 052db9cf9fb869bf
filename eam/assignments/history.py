"""Every version of an assignment: who created, changed, revoked or expired it, when and why.

Read from the audit trail (each change of an assignment records its state after the change in
the same transaction as the change), so the history is exactly what was committed. Whoever
may read the assignment may read its history (its holder, its organisation's access managers,
platform admins).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import select

from eam.assignments.service import get_assignment
from eam.audit.models import AuditEvent
from eam.catalogue.schemas import Profile
from eam.core.context import Context
from eam.users.models import User
from eam.users.schemas import UserRef, user_ref


class AssignmentVersion(msgspec.Struct, frozen=True):
    """The assignment as one event left it."""

    action: str
    at: dt.datetime
    #: The person who did it; None when EAM itself did (expiry, a job), named in ``actor``.
    by: UserRef | None
    actor: str
    status: str
    profile: Profile
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    #: Why: the reason of a revocation, the comment of a change.
    reason: str | None
    audit_event_id: int


def _instant(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


async def history(ctx: Context, assignment_id: uuid.UUID) -> list[AssignmentVersion]:
    """Oldest first."""
    await get_assignment(ctx, assignment_id)  # the caller may read it (or 404)
    rows = await ctx.session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.target_type == "assignment", AuditEvent.target_id == str(assignment_id))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    versions = []
    for event, actor in rows:
        state = event.after or event.before or {}
        versions.append(
            AssignmentVersion(
                action=event.action,
                at=event.occurred_at,
                by=user_ref(actor) if actor is not None else None,
                actor=event.actor,
                status=str(state.get("status", "")),
                profile=Profile(role=str(state.get("role", "")), data_level=state.get("data_level"), author_group=state.get("author_group")),
                valid_from=_instant(state.get("valid_from")) or event.occurred_at,
                valid_until=_instant(state.get("valid_until")),
                reason=(event.after or {}).get("reason") or (event.after or {}).get("comment"),
                audit_event_id=event.id,
            )
        )
    return versions
