"""Appointing and removing auditors.

Rules: an organisation's auditors are appointed and removed by its access managers and by
platform admins (permission ``auditor`` in the organisation); platform-wide auditors by platform
admins only (permission ``platform_auditor``, held by no other role). Appointing someone twice
is a conflict (409); the person must have signed in to EAM once (422 otherwise). An organisation
may have no auditor at all. Auditors themselves read the list of their organisation's auditors
and appoint nobody. Every appointment and removal is audited (``auditor.appointed``,
``auditor.removed``; platform-wide ones without an organisation).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import aliased

from eam.auditors.models import Auditor, PlatformAuditor
from eam.auditors.schemas import AuditorOut
from eam.authz.policy_store import PolicyStore
from eam.authz.vocabulary import org_domain
from eam.core.context import Context
from eam.core.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from eam.core.paging import fetch_page
from eam.organisations.models import Organisation
from eam.organisations.service import get_organisation
from eam.users.models import User
from eam.users.schemas import user_ref

Appointer = aliased(User)
#: The permission objects: an organisation's auditors, and platform-wide ones.
AUDITOR = "auditor"
PLATFORM_AUDITOR = "platform_auditor"


def auditor_out(row: Auditor | PlatformAuditor, user: User, appointer: User | None) -> AuditorOut:
    return AuditorOut(
        organisation_id=getattr(row, "organisation_id", None),
        user_id=row.user_id,
        display_name=user.display_name,
        email=user.email,
        appointed_at=row.appointed_at,
        appointed_by=user_ref(appointer) if appointer is not None else None,
    )


async def _page(ctx: Context, model: Any, where: Any, limit: int, cursor: str | None) -> tuple[list[AuditorOut], str | None]:
    stmt = (
        select(model, User, Appointer)
        .join(User, User.id == model.user_id)
        .outerjoin(Appointer, Appointer.id == model.appointed_by)
        .where(where)
        .order_by(model.appointed_at, model.user_id)
    )
    rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return [auditor_out(row, user, appointer) for row, user, appointer in rows], next_cursor


async def _person(ctx: Context, user_id: uuid.UUID) -> User:
    user = await ctx.session.get(User, user_id)
    if user is None:
        raise ValidationFailed("unknown user", [FieldError("$.user_id", "no such user; they must sign in to EAM once first")])
    return user


def _record(ctx: Context, action: str, user: User | uuid.UUID, organisation: Organisation | None) -> None:
    user_id = user.id if isinstance(user, User) else user
    state: dict[str, Any] = {"user_id": str(user_id), "scope": "organisation" if organisation else "platform"}
    if organisation is not None:
        state["organisation_id"] = str(organisation.id)
    if isinstance(user, User):
        state["display_name"] = user.display_name
    appointed = action == "auditor.appointed"
    ctx.audit.record(
        action,
        target_type="user",
        target_id=user_id,
        organisation_id=organisation.id if organisation else None,
        before=None if appointed else state,
        after=state if appointed else None,
    )


# -- an organisation's auditors ------------------------------------------------------------


async def list_auditors(ctx: Context, organisation_id: uuid.UUID, limit: int, cursor: str | None) -> tuple[list[AuditorOut], str | None]:
    await get_organisation(ctx, organisation_id)
    ctx.require(org_domain(organisation_id), AUDITOR, "read")
    return await _page(ctx, Auditor, Auditor.organisation_id == organisation_id, limit, cursor)


async def appoint(ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> AuditorOut:
    ctx.require(org_domain(organisation_id), AUDITOR, "appoint")
    org = await get_organisation(ctx, organisation_id, for_update=True)
    user = await _person(ctx, user_id)
    if await ctx.session.get(Auditor, (organisation_id, user_id)) is not None:
        raise AlreadyExists(
            f"{user.display_name} is already an auditor of {org.name}", existing=f"/v1/organisations/{organisation_id}/auditors"
        )
    row = Auditor(organisation_id=organisation_id, user_id=user_id, appointed_at=ctx.now, appointed_by=ctx.actor_id)
    ctx.session.add(row)
    await ctx.session.flush()
    await PolicyStore(ctx.session).appoint_auditor(user_id, organisation_id)
    _record(ctx, "auditor.appointed", user, org)
    return auditor_out(row, user, ctx.user if ctx.actor_id is not None else None)


async def remove(ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID) -> None:
    ctx.require(org_domain(organisation_id), AUDITOR, "remove")
    org = await get_organisation(ctx, organisation_id, for_update=True)
    row = await ctx.session.get(Auditor, (organisation_id, user_id))
    if row is None:
        raise NotFound(f"user {user_id} is not an auditor of {org.name}")
    await ctx.session.delete(row)
    await ctx.session.flush()
    await PolicyStore(ctx.session).remove_auditor(user_id, organisation_id)
    _record(ctx, "auditor.removed", user_id, org)


# -- platform-wide auditors ----------------------------------------------------------------


async def list_platform_auditors(ctx: Context, limit: int, cursor: str | None) -> tuple[list[AuditorOut], str | None]:
    ctx.require_platform(PLATFORM_AUDITOR, "read")
    return await _page(ctx, PlatformAuditor, true(), limit, cursor)


async def appoint_platform(ctx: Context, user_id: uuid.UUID) -> AuditorOut:
    ctx.require_platform(PLATFORM_AUDITOR, "appoint")
    user = await _person(ctx, user_id)
    existing = await ctx.session.get(PlatformAuditor, user_id, with_for_update=True)
    if existing is not None:
        raise AlreadyExists(f"{user.display_name} is already a platform-wide auditor", existing="/v1/auditors")
    row = PlatformAuditor(user_id=user_id, appointed_at=ctx.now, appointed_by=ctx.actor_id)
    ctx.session.add(row)
    await ctx.session.flush()
    await PolicyStore(ctx.session).appoint_auditor(user_id, None)
    _record(ctx, "auditor.appointed", user, None)
    return auditor_out(row, user, ctx.user if ctx.actor_id is not None else None)


async def remove_platform(ctx: Context, user_id: uuid.UUID) -> None:
    ctx.require_platform(PLATFORM_AUDITOR, "remove")
    row = await ctx.session.get(PlatformAuditor, user_id, with_for_update=True)
    if row is None:
        raise NotFound(f"user {user_id} is not a platform-wide auditor")
    await ctx.session.delete(row)
    await ctx.session.flush()
    await PolicyStore(ctx.session).remove_auditor(user_id, None)
    _record(ctx, "auditor.removed", user_id, None)


# -- where a person audits ------------------------------------------------------------------


async def audited_organisations(ctx: Context) -> list[Organisation]:
    """The organisations the caller is an auditor of, by name (not counting platform-wide)."""
    return list(
        await ctx.session.scalars(
            select(Organisation)
            .join(Auditor, Auditor.organisation_id == Organisation.id)
            .where(Auditor.user_id == ctx.user.id)
            .order_by(Organisation.search_name)
        )
    )


async def is_platform_auditor(ctx: Context) -> bool:
    return await ctx.session.get(PlatformAuditor, ctx.user.id) is not None
