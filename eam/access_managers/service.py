"""Appointing and removing access managers.

Rules: a platform admin appoints the first access manager of an organisation; an access
manager may appoint or remove others of the same organisation; an active organisation never
drops to zero access managers. The organisation row is locked first, so two removals racing
cannot both pass the "not the last one" check.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from eam.access_managers.models import AccessManager
from eam.access_managers.schemas import AccessManagerOut
from eam.authz.policy_store import PolicyStore
from eam.authz.vocabulary import org_domain
from eam.core.errors import AlreadyExists, LastAccessManager, NotFound, ValidationFailed, FieldError
from eam.core.enums import OrganisationStatus
from eam.organisations.service import get_organisation
from eam.users.models import User
from eam.users.schemas import user_ref
from eam.core.context import Context
from eam.core.paging import fetch_page


Appointer = aliased(User)


def access_manager_out(row: AccessManager, user: User, appointer: User | None) -> AccessManagerOut:
    return AccessManagerOut(
        organisation_id=row.organisation_id,
        user_id=row.user_id,
        display_name=user.display_name,
        email=user.email,
        appointed_at=row.appointed_at,
        appointed_by=user_ref(appointer) if appointer is not None else None,
    )


async def list_access_managers(
    ctx: Context, organisation_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[AccessManagerOut], str | None]:
    await get_organisation(ctx, organisation_id)
    ctx.require(org_domain(organisation_id), "access_manager", "read")
    stmt = (
        select(AccessManager, User, Appointer)
        .join(User, User.id == AccessManager.user_id)
        .outerjoin(Appointer, Appointer.id == AccessManager.appointed_by)
        .where(AccessManager.organisation_id == organisation_id)
        .order_by(AccessManager.appointed_at, AccessManager.user_id)
    )
    rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return [access_manager_out(row, user, appointer) for row, user, appointer in rows], next_cursor


async def appoint(ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> AccessManagerOut:
    ctx.require(org_domain(organisation_id), "access_manager", "appoint")
    org = await get_organisation(ctx, organisation_id, for_update=True)
    user = await ctx.session.get(User, user_id)
    if user is None:
        raise ValidationFailed(
            "unknown user", [FieldError("$.user_id", "no such user; they must sign in to EAM once first")]
        )
    if await ctx.session.get(AccessManager, (organisation_id, user_id)) is not None:
        raise AlreadyExists(
            f"{user.display_name} is already an access manager of {org.name}",
            existing=f"/v1/organisations/{organisation_id}/access-managers",
        )
    row = AccessManager(organisation_id=organisation_id, user_id=user_id, appointed_at=ctx.now, appointed_by=ctx.actor_id)
    ctx.session.add(row)
    await ctx.session.flush()
    await PolicyStore(ctx.session).appoint_access_manager(user_id, organisation_id)
    ctx.audit.record(
        "access_manager.appointed",
        target_type="user",
        target_id=user_id,
        organisation_id=organisation_id,
        after={"organisation_id": str(organisation_id), "user_id": str(user_id), "display_name": user.display_name},
    )
    return access_manager_out(row, user, ctx.user if ctx.actor_id is not None else None)


async def remove(ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> None:
    ctx.require(org_domain(organisation_id), "access_manager", "remove")
    org = await get_organisation(ctx, organisation_id, for_update=True)
    row = await ctx.session.get(AccessManager, (organisation_id, user_id))
    if row is None:
        raise NotFound(f"user {user_id} is not an access manager of {org.name}")
    remaining = await ctx.session.scalar(
        select(func.count()).select_from(AccessManager).where(AccessManager.organisation_id == organisation_id)
    )
    if org.status == OrganisationStatus.ACTIVE and remaining <= 1:
        raise LastAccessManager(
            f"{org.name} is active and this is its last access manager: appoint another one first"
        )
    await ctx.session.delete(row)
    await ctx.session.flush()
    await PolicyStore(ctx.session).remove_access_manager(user_id, organisation_id)
    ctx.audit.record(
        "access_manager.removed",
        target_type="user",
        target_id=user_id,
        organisation_id=organisation_id,
        before={"organisation_id": str(organisation_id), "user_id": str(user_id)},
    )
