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
from eam.users.schemas import MePatch


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
    #: The language of the caller's e-mails (None: English).
    language: str | None = None
    #: One daily digest of waiting requests instead of a mail per request (access managers).
    notify_digest: bool = False


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


async def update_me(ctx: Context, data: MePatch) -> None:
    """A person sets their own e-mail address, mail language and digest choice (audited, what changed)."""
    wanted = {name: value for name in ("email", "language", "notify_digest") if (value := getattr(data, name)) is not msgspec.UNSET}
    changed = {name: value for name, value in wanted.items() if getattr(ctx.user, name) != value}
    if changed:
        before = {name: getattr(ctx.user, name) for name in changed}
        for name, value in changed.items():
            setattr(ctx.user, name, value)
        ctx.user.updated_at = ctx.now
        await ctx.session.flush()
        ctx.audit.record("user.updated", target_type="user", target_id=ctx.user.id, before=before, after=changed)


async def set_language(ctx: Context, language: str) -> None:
    """The language the person chose on the pages becomes the language of their e-mails."""
    if language != ctx.user.language:
        await update_me(ctx, MePatch(language=language))  # type: ignore[arg-type]


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
        language=ctx.user.language,
        notify_digest=ctx.user.notify_digest,
    )
