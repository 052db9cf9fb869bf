"""The organisation pages of access managers: the people of an organisation and their access
(filtered, a page at a time), and one assignment, changed in place (profile, end date) or
revoked with a reason.

Those who may read the access of an organisation's people see these pages: its access managers,
its auditors and platform admins (and platform-wide auditors), by the permission the API checks
to read another person's assignment there (:func:`managed`). Forms are offered only to whom the
permission to use them belongs (:func:`offers`): an auditor reads and is offered nothing that
changes anything. An access manager of another organisation gets the "not allowed" page, for
the organisation and for each of its assignments, whatever they post. Every change is the
domain operation the API calls, which refuses what is not allowed whatever a page offers.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import Select, not_, or_

from eam.assignments import renewal
from eam.assignments import service as assignments
from eam.assignments.models import Assignment, is_live
from eam.assignments.schemas import AssignmentOut, AssignmentPatch, ExtensionIn, RevokeIn
from eam.catalogue.loader import ProfileSpec
from eam.catalogue.schemas import Profile
from eam.catalogue.service import list_applications, list_registers
from eam.core.context import Context
from eam.core.database import literal_like
from eam.core.errors import EAMError, Forbidden, NotFound
from eam.core.paging import fetch_page
from eam.organisations.models import Organisation
from eam.organisations.service import get_organisation, organisation_out
from eam.ui.forms import Form
from eam.ui.i18n import N_, end_of_day
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

#: Assignments shown per page of an organisation (thousands are read a page at a time).
ASSIGNMENTS_PAGE = 50
#: Registers offered in the filter (the catalogue holds a few hundred at most).
REGISTERS_SHOWN = 1000
Text = Annotated[str | None, Parameter(max_length=200)]
Code = Annotated[str | None, Parameter(max_length=32)]
Cursor = Annotated[str | None, Parameter(max_length=512)]
Notice = Annotated[str | None, Parameter(max_length=32)]

#: The status filter: "ended" is expired or revoked (no longer live).
STATUS_FILTERS: dict[str, str] = {
    "active": N_("active"),
    "scheduled": N_("scheduled (starts later)"),
    "ended": N_("ended (expired or revoked)"),
}
SOME_FIELDS = N_("Some fields need your attention.")
NOT_YOURSELF = N_("Access of your own is changed or granted by another access manager (four-eyes rule).")


class Filters(msgspec.Struct, frozen=True):
    """What the table of an organisation's access is narrowed to ("" is any)."""

    person: str = ""
    application: str = ""
    register: str = ""
    status: str = ""

    def query(self) -> dict[str, str]:
        return {name: value for name, value in msgspec.structs.asdict(self).items() if value}


class AccessRow(msgspec.Struct, frozen=True):
    assignment: AssignmentOut
    granted_by: str | None


async def managed(ctx: Context, organisation_id: uuid.UUID, obj: str = "assignment", action: str = "read") -> Organisation:
    """The organisation, if the caller may ``action`` its ``obj`` (others' assignments, by default):
    its access managers and platform admins may; anyone else is refused (403)."""
    org = await get_organisation(ctx, organisation_id)
    ctx.require_in(org.id, obj, action)
    return org


def offers(ctx: Context, organisation_id: uuid.UUID) -> dict[str, bool]:
    """What the caller may do at the organisation, so a page offers only those forms and links."""
    wanted = {
        "grant": ("assignment", "create"),
        "change": ("assignment", "update"),
        "revoke": ("assignment", "revoke"),
        "managers": ("access_manager", "appoint"),
        "auditors": ("auditor", "appoint"),
        "requests": ("access_request", "read"),
        "audit": ("audit_event", "read"),
        "depart": ("person", "depart"),
    }
    return {name: ctx.allows_in(organisation_id, obj, action) for name, (obj, action) in wanted.items()}


def access_statement(ctx: Context, organisation_id: uuid.UUID, filters: Filters) -> Select[Any]:
    """The organisation's assignments the caller may read, filtered, by person, application and register."""
    stmt = assignments.visible_statement(ctx, "assignment").where(Assignment.organisation_id == organisation_id)
    if filters.status == "ended":
        stmt = stmt.where(not_(is_live(ctx.now)))
    elif filters.status in STATUS_FILTERS:
        stmt = assignments.filter_by_status(stmt, filters.status, ctx.now)
    if filters.person:
        needle = f"%{literal_like(filters.person.casefold())}%"
        holder = assignments.Holder
        stmt = stmt.where(or_(holder.display_name.ilike(needle, escape="\\"), holder.email.ilike(needle, escape="\\")))
    if filters.application:
        stmt = stmt.where(Assignment.application == filters.application)
    if filters.register:
        stmt = stmt.where(Assignment.register_code == filters.register)
    return stmt.order_by(assignments.Holder.display_name, Assignment.application, Assignment.register_code, Assignment.id)


async def in_organisation(ctx: Context, organisation_id: uuid.UUID, assignment_id: uuid.UUID) -> AssignmentOut:
    """The assignment, if the caller manages its organisation and it belongs there."""
    await managed(ctx, organisation_id)
    row = await assignments.get_assignment(ctx, assignment_id)
    if row[0].organisation_id != organisation_id:
        raise NotFound(f"no assignment {assignment_id} at this organisation")
    return assignments.assignment_out(row, ctx.now)


def chosen_profile(ctx: Context, application: str, key: str, author_group: str | None) -> Profile:
    """The catalogue profile chosen by its key (an unknown key is left for the domain to refuse)."""
    spec = profile_choices(ctx, application).get(key)
    if spec is None:
        return Profile(role=key)
    return Profile(role=spec.role, data_level=spec.data_level, author_group=author_group if spec.author_group == "required" else None)


def profile_choices(ctx: Context, application: str) -> dict[str, ProfileSpec]:
    return {p.key: p for p in ctx.catalogue.require_application(application).profiles}


def refusal(form: Form, exc: EAMError, visit: Visit, person: uuid.UUID | None, fields: dict[str, str] | None = None) -> str:
    """The message for a refused change, saying why when it was about the caller's own access."""
    message = form.absorb(exc, fields)
    if isinstance(exc, Forbidden) and person is not None and visit.standing is not None and person == visit.standing.id:
        return f"{message} {visit.gettext(NOT_YOURSELF)}"
    return message


class OrganisationPages(Controller):
    @get("/organisations", name="my-organisations")
    async def my_organisations(self, visit: Visit) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
        return visit.page("organisations.html", organisations=visit.standing.access_manager_of)

    @get("/organisations/{organisation_id:uuid}", name="organisation")
    async def organisation(
        self,
        visit: Visit,
        organisation_id: uuid.UUID,
        person: Text = None,
        application: Code = None,
        register: Code = None,
        status: Code = None,
        cursor: Cursor = None,
        notice: Notice = None,
    ) -> Template:
        filters = Filters(person=(person or "").strip(), application=application or "", register=register or "", status=status or "")
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id)
            rows, next_cursor = await fetch_page(ctx.session, access_statement(ctx, org.id, filters), ASSIGNMENTS_PAGE, cursor)
            applications = list_applications(ctx)
            registers, _ = await list_registers(ctx, filters.application or None, REGISTERS_SHOWN, None)
            can = offers(ctx, org.id)
        shown = [assignments.assignment_out(row, ctx.now) for row in rows]
        access = [AccessRow(out, out.created_by.display_name if out.created_by else None) for out in shown]
        return visit.page(
            "organisation.html",
            org=organisation_out(org),
            access=access,
            next_cursor=next_cursor,
            filters=filters,
            first_page=not cursor,
            applications=applications,
            registers=registers,
            status_filters=STATUS_FILTERS,
            can=can,
        )

    @get("/organisations/{organisation_id:uuid}/assignments/{assignment_id:uuid}", name="organisation-assignment")
    async def assignment(self, visit: Visit, organisation_id: uuid.UUID, assignment_id: uuid.UUID, notice: Notice = None) -> Template:
        return await self._assignment_page(visit, organisation_id, assignment_id)

    @post("/organisations/{organisation_id:uuid}/assignments/{assignment_id:uuid}/profile", name="change-profile")
    async def change_profile(self, visit: Visit, organisation_id: uuid.UUID, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Change the profile in place: the person keeps access throughout."""
        form = Form(data, visit.gettext)
        key = form.text("profile_key", max_length=64)
        author_group = form.author_group(required=False)
        comment = form.text("comment", required=False)

        async def apply(ctx: Context, current: AssignmentOut) -> None:
            profile = chosen_profile(ctx, current.application, key or "", author_group)
            await assignments.change(ctx, assignment_id, AssignmentPatch(profile=profile, comment=comment))

        return await self._change(visit, organisation_id, assignment_id, "profile", form, apply, "changed", {"profile": "profile_key"})

    @post("/organisations/{organisation_id:uuid}/assignments/{assignment_id:uuid}/end-date", name="change-end-date")
    async def change_end_date(self, visit: Visit, organisation_id: uuid.UUID, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Extend or shorten the access (it ends when the chosen Brussels day ends), or remove the end."""
        form = Form(data, visit.gettext)
        remove = data.get("remove") == "1"
        day = None if remove else form.day("valid_until", after=visit.today(), required=True)
        comment = form.text("comment", required=False)

        async def apply(ctx: Context, current: AssignmentOut) -> None:
            until = None if remove or day is None else end_of_day(day)
            await assignments.change(ctx, assignment_id, AssignmentPatch(valid_until=until, comment=comment))

        return await self._change(visit, organisation_id, assignment_id, "end_date", form, apply, "changed")

    @post("/organisations/{organisation_id:uuid}/assignments/{assignment_id:uuid}/extension", name="extend-assignment")
    async def extend(self, visit: Visit, organisation_id: uuid.UUID, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Renew access that ended within the grace period (it ends when the chosen Brussels day ends)."""
        form = Form(data, visit.gettext)
        day = form.day("valid_until", after=visit.today(), required=True)
        comment = form.text("comment", required=False)

        async def apply(ctx: Context, current: AssignmentOut) -> None:
            await renewal.extend(ctx, assignment_id, ExtensionIn(valid_until=end_of_day(day) if day else None, comment=comment))

        return await self._change(visit, organisation_id, assignment_id, "extension", form, apply, "extended")

    @post("/organisations/{organisation_id:uuid}/assignments/{assignment_id:uuid}/revoke", name="revoke-assignment")
    async def revoke(self, visit: Visit, organisation_id: uuid.UUID, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Revoke at once, with a reason (kept in the audit trail)."""
        form = Form(data, visit.gettext)
        reason = form.text("reason", min_length=3, max_length=2000)

        async def apply(ctx: Context, current: AssignmentOut) -> None:
            await assignments.revoke(ctx, assignment_id, RevokeIn(reason=reason or ""))

        return await self._change(visit, organisation_id, assignment_id, "revoke", form, apply, "revoked")

    async def _change(
        self,
        visit: Visit,
        organisation_id: uuid.UUID,
        assignment_id: uuid.UUID,
        which: str,
        form: Form,
        apply: Callable[[Context, AssignmentOut], Awaitable[None]],
        notice: str,
        fields: dict[str, str] | None = None,
    ) -> Template | Redirect:
        """One change in one transaction; if refused, the page again with what was typed."""
        if not form:
            return await self._assignment_page(visit, organisation_id, assignment_id, failed=(which, form, visit.gettext(SOME_FIELDS)), status=422)
        person = None
        try:
            async with visit.changing() as ctx:
                visit.standing = await standing(ctx)
                current = await in_organisation(ctx, organisation_id, assignment_id)
                person = current.user.id
                await apply(ctx, current)
        except EAMError as exc:
            message = refusal(form, exc, visit, person, fields)
            return await self._assignment_page(visit, organisation_id, assignment_id, failed=(which, form, message), status=exc.status)
        return visit.redirect(f"/organisations/{organisation_id}/assignments/{assignment_id}", notice)

    async def _assignment_page(
        self,
        visit: Visit,
        organisation_id: uuid.UUID,
        assignment_id: uuid.UUID,
        *,
        failed: tuple[str, Form, str] | None = None,
        status: int = 200,
    ) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            assignment = await in_organisation(ctx, organisation_id, assignment_id)
            profiles = list(profile_choices(ctx, assignment.application).values())
            can = offers(ctx, organisation_id)
            renewable = renewal.in_grace(assignment, ctx.now, ctx.settings.renewal_grace_days)
        return visit.page(
            "assignment.html",
            status=status,
            a=assignment,
            profiles=profiles,
            current_key=next((p.key for p in profiles if p.role == assignment.profile.role and p.data_level == assignment.profile.data_level), ""),
            live=assignment.status in ("active", "scheduled"),
            renewable=renewable,
            failed=failed,
            can=can,
        )
