"""What a person sees of themselves: their organisations, roles, access and pending requests.

Cross-feature (users, access managers, auditors, assignments, requests), so it lives in a flow.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.access_requests import workflow
from eam.access_requests.models import AccessRequest
from eam.core.enums import RequestStatus
from eam.access_requests.schemas import AccessRequestOut
from eam.assignments import service as assignments
from eam.assignments.models import Assignment, is_active
from eam.assignments.schemas import AssignmentOut
from eam.auditors.service import audited_organisations, is_platform_auditor
from eam.core.context import Context
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import organisation_ref


class Me(msgspec.Struct, frozen=True):
    id: uuid.UUID
    display_name: str
    email: str | None
    issuer: str
    subject: str
    platform_admin: bool
    access_manager_of: list[OrganisationRef]
    #: The organisations the caller audits (reads, changes nothing); see ``platform_auditor``.
    auditor_of: list[OrganisationRef]
    #: An auditor of every organisation.
    platform_auditor: bool
    organisations: list[OrganisationRef]
    assignments: list[AssignmentOut]
    pending_requests: list[AccessRequestOut]


class Standing(msgspec.Struct, frozen=True):
    """Who the caller is and what they manage: what every page needs to offer the right links."""

    id: uuid.UUID
    display_name: str
    platform_admin: bool
    access_manager_of: list[OrganisationRef]
    auditor_of: list[OrganisationRef]
    platform_auditor: bool

    @property
    def auditor(self) -> bool:
        """An auditor somewhere (of some organisations, or platform-wide)."""
        return self.platform_auditor or bool(self.auditor_of)


async def managed_organisations(ctx: Context) -> list[Organisation]:
    """The organisations the caller is an access manager of, by name."""
    return list(
        await ctx.session.scalars(
            select(Organisation)
            .join(AccessManager, AccessManager.organisation_id == Organisation.id)
            .where(AccessManager.user_id == ctx.user.id)
            .order_by(Organisation.search_name)
        )
    )


async def standing(ctx: Context) -> Standing:
    return Standing(
        id=ctx.user.id,
        display_name=ctx.user.display_name,
        platform_admin=ctx.guard.allows_platform("organisation", "create"),
        access_manager_of=[organisation_ref(org) for org in await managed_organisations(ctx)],
        auditor_of=[organisation_ref(org) for org in await audited_organisations(ctx)],
        platform_auditor=await is_platform_auditor(ctx),
    )


async def set_email(ctx: Context, email: str | None) -> None:
    """A person sets their own professional e-mail address (audited)."""
    if ctx.user.email != email:
        before = {"email": ctx.user.email}
        ctx.user.email, ctx.user.updated_at = email, ctx.now
        await ctx.session.flush()
        ctx.audit.record("user.updated", target_type="user", target_id=ctx.user.id, before=before, after={"email": email})


async def me(ctx: Context) -> Me:
    managed = await managed_organisations(ctx)
    rows = await ctx.session.execute(
        assignments.ASSIGNMENT_ROWS.where(Assignment.user_id == ctx.user.id, is_active(ctx.now))
        .order_by(Assignment.application, Assignment.register_code)
    )
    active = [assignments.assignment_out(row, ctx.now) for row in rows]
    pending_rows = await ctx.session.execute(
        workflow.filter_by_status(workflow.visible_statement(ctx), RequestStatus.PENDING, ctx.now)
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
        platform_admin=ctx.guard.allows_platform("organisation", "create"),
        access_manager_of=[organisation_ref(org) for org in managed],
        auditor_of=[organisation_ref(org) for org in await audited_organisations(ctx)],
        platform_auditor=await is_platform_auditor(ctx),
        organisations=sorted(organisations.values(), key=lambda o: o.name.casefold()),
        assignments=active,
        pending_requests=pending,
    )
