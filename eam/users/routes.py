from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get, patch
from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.access_requests import workflow
from eam.access_requests.models import PENDING, AccessRequest
from eam.access_requests.schemas import AccessRequestOut
from eam.assignments import service as assignments
from eam.assignments.models import Assignment, is_active
from eam.assignments.schemas import AssignmentOut
from eam.authz.vocabulary import PLATFORM_DOMAIN
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import organisation_ref
from eam.users.schemas import MePatch
from eam.core.context import Context


class Me(msgspec.Struct, frozen=True):
    id: uuid.UUID
    display_name: str
    email: str | None
    issuer: str
    subject: str
    platform_admin: bool
    access_manager_of: list[OrganisationRef]
    organisations: list[OrganisationRef]
    assignments: list[AssignmentOut]
    pending_requests: list[AccessRequestOut]


class MeController(Controller):
    path = "/v1/me"
    tags = ["Me"]

    @get(operation_id="getMe", summary="You: your organisations, access-manager roles, active assignments, pending requests")
    async def get_me(self, ctx: Context) -> Me:
        return await _me(ctx)

    @patch(operation_id="updateMe", summary="Set your professional e-mail address", opt={"conflicts": False})
    async def update_me(self, ctx: Context, data: MePatch) -> Me:
        if ctx.user.email != data.email:
            before = {"email": ctx.user.email}
            ctx.user.email, ctx.user.updated_at = data.email, ctx.now
            await ctx.session.flush()
            ctx.audit.record("user.updated", target_type="user", target_id=ctx.user.id, before=before, after={"email": data.email})
        return await _me(ctx)


async def _me(ctx: Context) -> Me:
    managed = list(
        await ctx.session.scalars(
            select(Organisation)
            .join(AccessManager, AccessManager.organisation_id == Organisation.id)
            .where(AccessManager.user_id == ctx.user.id)
            .order_by(Organisation.search_name)
        )
    )
    rows = await ctx.session.execute(
        select(Assignment, assignments.Holder, Organisation)
        .join(assignments.Holder, assignments.Holder.id == Assignment.user_id)
        .join(Organisation, Organisation.id == Assignment.organisation_id)
        .where(Assignment.user_id == ctx.user.id, is_active(ctx.now))
        .order_by(Assignment.application, Assignment.register_code)
    )
    active = [assignments.assignment_out(*row, ctx.now) for row in rows]
    pending_rows = await ctx.session.execute(
        workflow.filter_by_status(workflow.visible_statement(ctx), PENDING, ctx.now)
        .where(AccessRequest.requester_id == ctx.user.id)
        .order_by(AccessRequest.created_at.desc())
    )
    pending = [workflow.request_out(row, ctx.now) for row in pending_rows]
    organisations: dict[uuid.UUID, OrganisationRef] = {org.id: organisation_ref(org) for org in managed}
    for assignment in active:
        organisations.setdefault(assignment.organisation.id, assignment.organisation)
    return Me(
        id=ctx.user.id,
        display_name=ctx.user.display_name,
        email=ctx.user.email,
        issuer=ctx.user.issuer,
        subject=ctx.user.subject,
        platform_admin=ctx.allows(PLATFORM_DOMAIN, "organisation", "create"),
        access_manager_of=[organisation_ref(org) for org in managed],
        organisations=sorted(organisations.values(), key=lambda o: o.name.casefold()),
        assignments=active,
        pending_requests=pending,
    )
