"""A person leaves an organisation: all their standing there ends in one audited step.

Rules:

- An access manager of the organisation (or a platform admin) marks a person as having left,
  with a reason. In the caller's one transaction, and with the organisation row locked first:
  every live assignment of the person there is revoked (one ``assignment.revoked`` event each,
  its policy row dropped), every pending request of theirs there is withdrawn with the reason,
  they stop being an access manager or auditor there, and their membership records ``left_at``;
  one ``person.left`` event sums it up.
- Four-eyes: nobody marks themselves as having left (403); an access manager leaving is marked
  by another one.
- An active organisation never drops to zero access managers: marking its last one as having
  left is refused (409 ``last-access-manager``) and nothing changes.
- Only a person related to the organisation (a member, or holding access, a request or a role
  there) can leave it (404 otherwise); a second departure answers 409 ``person-left``.
  Registering the person again (:func:`eam.users.people.add_member`) makes them a member anew.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, exists, select

from eam.access_managers import service as access_managers
from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment
from eam.auditors import service as auditors
from eam.auditors.models import Auditor
from eam.core.context import Context
from eam.core.errors import NotFound, PersonLeft
from eam.lifecycle.endings import revoke_live, withdraw_pending
from eam.lifecycle.schemas import DepartureIn, DepartureOut
from eam.organisations.service import get_organisation
from eam.users.models import Membership, User


async def _related(ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether anything ties the person to the organisation besides a membership row."""
    ties = [
        exists().where(and_(Assignment.organisation_id == organisation_id, Assignment.user_id == user_id)),
        exists().where(and_(AccessRequest.organisation_id == organisation_id, AccessRequest.requester_id == user_id)),
        exists().where(and_(AccessManager.organisation_id == organisation_id, AccessManager.user_id == user_id)),
        exists().where(and_(Auditor.organisation_id == organisation_id, Auditor.user_id == user_id)),
    ]
    for tie in ties:
        if await ctx.session.scalar(select(tie)):
            return True
    return False


async def mark_left(ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID, data: DepartureIn) -> DepartureOut:
    ctx.require_in(organisation_id, "person", "depart", owner_id=user_id)
    org = await get_organisation(ctx, organisation_id, for_update=True)
    person = await ctx.session.get(User, user_id)
    membership = await ctx.session.get(Membership, (organisation_id, user_id))
    if person is None or (membership is None and not await _related(ctx, organisation_id, user_id)):
        raise NotFound(f"user {user_id} is not a person of {org.name}")
    if membership is not None and membership.left_at is not None:
        raise PersonLeft(f"{person.display_name} left {org.name} on {membership.left_at.isoformat()}")
    reason = data.reason.strip()
    manager = await ctx.session.get(AccessManager, (organisation_id, user_id)) is not None
    if manager:
        # Refuses the last access manager of an active organisation before anything else changes.
        await access_managers.remove(ctx, organisation_id, user_id)
    auditor = await ctx.session.get(Auditor, (organisation_id, user_id)) is not None
    if auditor:
        await auditors.remove(ctx, organisation_id, user_id)
    revoked = await revoke_live(ctx, and_(Assignment.organisation_id == organisation_id, Assignment.user_id == user_id), reason)
    withdrawn = await withdraw_pending(
        ctx, and_(AccessRequest.organisation_id == organisation_id, AccessRequest.requester_id == user_id), reason
    )
    if membership is None:
        membership = Membership(organisation_id=organisation_id, user_id=user_id, added_at=ctx.now, added_by=ctx.actor_id)
        ctx.session.add(membership)
    membership.left_at = ctx.now
    await ctx.session.flush()
    out = DepartureOut(
        organisation_id=organisation_id,
        user_id=user_id,
        left_at=ctx.now,
        reason=reason,
        assignments_revoked=revoked,
        requests_withdrawn=withdrawn,
        access_manager_removed=manager,
        auditor_removed=auditor,
    )
    ctx.audit.record(
        "person.left",
        target_type="user",
        target_id=user_id,
        organisation_id=organisation_id,
        before={"organisation_id": str(organisation_id), "user_id": str(user_id), "display_name": person.display_name},
        after={
            "reason": reason,
            "assignments_revoked": revoked,
            "requests_withdrawn": withdrawn,
            "access_manager_removed": manager,
            "auditor_removed": auditor,
        },
    )
    return out
