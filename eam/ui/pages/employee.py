"""Pages for every signed-in person: my access, my requests, asking for access, grant tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from eam.access_requests import workflow
from eam.access_requests.models import AccessRequest
from eam.access_requests.schemas import AccessRequestCreate, ChangeRequestIn
from eam.assignments import renewal
from eam.assignments import service as assignments
from eam.catalogue.schemas import ApplicationOut, Profile, RegisterOut, profile_of
from eam.catalogue.service import list_applications, list_registers
from eam.core.context import Context
from eam.core.errors import EAMError
from eam.core.paging import fetch_page
from eam.grant_tokens.schemas import GrantTokenRequest
from eam.grant_tokens.service import issue_for_caller
from eam.organisations import service as organisations
from eam.organisations.service import organisation_ref
from eam.ui.forms import Form
from eam.ui.i18n import end_of_day
from eam.ui.pages.sign_in import FormData
from eam.ui.profiles import describe
from eam.ui.visit import Visit
from eam.users.flows import me, standing

#: Days before its end that an assignment offers "Ask to extend" when no reminders are configured.
EXTEND_OFFERED_DAYS = 14
SearchText = Annotated[str | None, Parameter(max_length=200)]
#: Registers offered in one list (the catalogue holds a few hundred at most).
REGISTERS_SHOWN = 1000


async def catalogue_choices(ctx: Context, application: str | None) -> tuple[list[ApplicationOut], list[RegisterOut]]:
    applications = list_applications(ctx)
    registers: list[RegisterOut] = []
    if application in {app.code for app in applications}:
        registers, _ = await list_registers(ctx, application, REGISTERS_SHOWN, None)
    return applications, registers


class EmployeePages(Controller):
    @get("/", name="home")
    async def home(self, visit: Visit, notice: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            mine = await me(ctx)
            ended = await renewal.my_renewable(ctx)
            # "Ask to extend" is offered from the first reminder on (EAM_REMINDER_DAYS)
            soon = ctx.now + dt.timedelta(days=max(ctx.settings.reminder_days, default=EXTEND_OFFERED_DAYS))
        applications = sorted({assignment.application for assignment in mine.assignments})
        return visit.page("home.html", me=mine, applications=applications, describe=describe, ended=ended, soon=soon)

    @get("/requests", name="my-requests")
    async def my_requests(self, visit: Visit, cursor: Annotated[str | None, Parameter(max_length=512)] = None, notice: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            stmt = workflow.visible_statement(ctx).where(AccessRequest.requester_id == ctx.user.id)
            stmt = stmt.order_by(AccessRequest.created_at.desc(), AccessRequest.id.desc())
            rows, next_cursor = await fetch_page(ctx.session, stmt, 50, cursor)
            requests = [workflow.request_out(row, ctx.now) for row in rows]
        return visit.page("my_requests.html", requests=requests, next_cursor=next_cursor, describe=describe)

    @get("/requests/new", name="new-request")
    async def new_request(
        self,
        visit: Visit,
        application: Annotated[str | None, Parameter(max_length=32)] = None,
        q: SearchText = None,
        organisation_id: uuid.UUID | None = None,
        amend: uuid.UUID | None = None,
    ) -> Template:
        values: dict[str, Any] = {"application": application or "", "q": q or ""}
        if organisation_id:
            values["organisation_id"] = str(organisation_id)
        return await self._request_form(visit, values, {}, None, amend)

    @get("/requests/{request_id:uuid}/amend", name="amend-request")
    async def amend_request(self, visit: Visit, request_id: uuid.UUID) -> Template:
        async with visit.reading() as ctx:
            request = workflow.request_out(await workflow.get_request(ctx, request_id), ctx.now)
        values = {
            "organisation_id": str(request.organisation.id),
            "application": request.application,
            "register": request.register,
            "profile_key": profile_key(request.profile),
            "author_group": request.profile.author_group or "",
            "justification": request.justification,
            "valid_until": visit.fmt.iso_until(request.valid_until),
        }
        return await self._request_form(visit, values, {}, None, request_id)

    @get("/organisations/search", name="organisation-search")
    async def organisation_search(self, visit: Visit, q: SearchText = None) -> Template:
        """The organisations matching what was typed so far (the request form asks as you type)."""
        async with visit.reading() as ctx:
            found, approximate = await self._search(ctx, q)
        return visit.page("partials/organisation_choices.html", found=found, approximate=approximate, q=q or "", chosen="")

    @get("/requests/catalogue", name="request-catalogue")
    async def catalogue_part(self, visit: Visit, application: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        """The registers and profiles of the chosen application (the request form asks on change)."""
        async with visit.reading() as ctx:
            applications, registers = await catalogue_choices(ctx, application)
        values = {"application": application or ""}
        return visit.page("partials/catalogue_choices.html", applications=applications, registers=registers, values=values, errors={}, describe=describe)

    @post("/requests", name="submit-request")
    async def submit(self, visit: Visit, data: FormData) -> Template | Redirect:
        return await self._save(visit, data, None)

    @post("/requests/{request_id:uuid}/amend")
    async def save_amended(self, visit: Visit, request_id: uuid.UUID, data: FormData) -> Template | Redirect:
        return await self._save(visit, data, request_id)

    @post("/requests/{request_id:uuid}/withdraw", name="withdraw-request")
    async def withdraw(self, visit: Visit, request_id: uuid.UUID, data: FormData) -> Redirect:
        async with visit.changing() as ctx:
            await workflow.withdraw(ctx, request_id, (data.get("reason") or "").strip() or None)
        return visit.redirect("/requests", "withdrawn")

    @get("/access/{assignment_id:uuid}/change", name="ask-change")
    async def change_form(self, visit: Visit, assignment_id: uuid.UUID) -> Template:
        """Ask for another profile or a later end date of access I hold."""
        async with visit.reading() as ctx:
            assignment = (await assignments.get_assignment(ctx, assignment_id))[0]
        values = {"profile_key": profile_key(profile_of(assignment)), "author_group": assignment.author_group or "", "valid_until": visit.fmt.iso_until(assignment.valid_until)}
        return await self._change_form(visit, assignment_id, values, {}, None)

    @post("/access/{assignment_id:uuid}/change")
    async def ask_change(self, visit: Visit, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        async with visit.reading() as ctx:
            assignment = (await assignments.get_assignment(ctx, assignment_id))[0]
            profiles = {p.key: p for p in ctx.catalogue.require_application(assignment.application).profiles}
        key = form.choice("profile_key", list(profiles))
        author_group = form.author_group() if key and profiles[key].author_group == "required" else None
        until = form.day("valid_until", after=visit.today() + dt.timedelta(days=1))
        justification = form.text("justification", min_length=10)
        if not form or key is None or justification is None:
            return await self._change_form(visit, assignment_id, form.values, form.errors, visit.gettext("Some fields need your attention."), status=422)
        chosen = profiles[key]
        change = ChangeRequestIn(
            justification=justification,
            profile=Profile(role=chosen.role, data_level=chosen.data_level, author_group=author_group),
            valid_until=end_of_day(until) if until else None,
        )
        try:
            async with visit.changing() as ctx:
                await workflow.ask_change(ctx, assignment_id, change)
        except EAMError as exc:
            message = form.absorb(exc, {"profile": "profile_key"})
            return await self._change_form(visit, assignment_id, form.values, form.errors, message, status=exc.status)
        return visit.redirect("/requests", "change-asked")

    @get("/access/{assignment_id:uuid}/extend", name="ask-extension")
    async def extension_form(self, visit: Visit, assignment_id: uuid.UUID) -> Template:
        """Ask to extend access I hold, or to renew it within the grace period after its end
        (the page the reminder mails link to)."""
        return await self._extension_form(visit, assignment_id, {}, {}, None)

    @post("/access/{assignment_id:uuid}/extend")
    async def ask_extension(self, visit: Visit, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        until = form.day("valid_until", after=visit.today() + dt.timedelta(days=1), required=True)
        justification = form.text("justification", min_length=10)
        if not form or until is None or justification is None:
            return await self._extension_form(visit, assignment_id, form.values, form.errors, visit.gettext("Some fields need your attention."), status=422)
        try:
            async with visit.changing() as ctx:
                await workflow.ask_change(ctx, assignment_id, ChangeRequestIn(justification=justification, valid_until=end_of_day(until)))
        except EAMError as exc:
            message = form.absorb(exc, {})
            return await self._extension_form(visit, assignment_id, form.values, form.errors, message, status=exc.status)
        return visit.redirect("/requests", "extension-asked")

    async def _extension_form(self, visit: Visit, assignment_id: uuid.UUID, values: dict[str, Any], errors: dict[str, str], message: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            held = assignments.assignment_out(await assignments.get_assignment(ctx, assignment_id), ctx.now)
            renewable_until = renewal.renewable_until(held, ctx.settings.renewal_grace_days)
        return visit.page("extend_form.html", status=status, held=held, renewable_until=renewable_until, values=values, errors=errors, message=message)

    async def _change_form(self, visit: Visit, assignment_id: uuid.UUID, values: dict[str, Any], errors: dict[str, str], message: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            row = await assignments.get_assignment(ctx, assignment_id)
            assignment, held = row[0], assignments.assignment_out(row, ctx.now)
            application = next(app for app in list_applications(ctx) if app.code == assignment.application)
        return visit.page("change_form.html", status=status, held=held, application=application, values=values, errors=errors, message=message, describe=describe)

    @post("/grant-tokens", name="grant-token")
    async def grant_token(self, visit: Visit, data: FormData) -> Template:
        """A grant token for one application, to hand to it (or to check what it would say)."""
        async with visit.changing() as ctx:
            visit.standing = await standing(ctx)
            token = await issue_for_caller(ctx, GrantTokenRequest(application=str(data.get("application", ""))[:32]))
        return visit.page("grant_token.html", token=token, application=data.get("application"))

    async def _save(self, visit: Visit, data: dict[str, str], amending: uuid.UUID | None) -> Template | Redirect:
        form = Form(data, visit.gettext)
        async with visit.reading() as ctx:
            applications, registers = await catalogue_choices(ctx, data.get("application"))
        request = self._read_request(form, applications, registers, visit.today())
        if request is not None:
            try:
                async with visit.changing() as ctx:
                    if amending:
                        await workflow.amend(ctx, amending, request)
                    else:
                        await workflow.submit(ctx, request)
            except EAMError as exc:
                message = form.absorb(exc, {"profile": "profile_key", "register": "register"})
                return await self._request_form(visit, form.values, form.errors, message, amending, status=exc.status)
            return visit.redirect("/requests", "amended" if amending else "submitted")
        return await self._request_form(visit, form.values, form.errors, visit.gettext("Some fields need your attention."), amending, status=422)

    @staticmethod
    def _read_request(form: Form, applications: list[ApplicationOut], registers: list[RegisterOut], today: dt.date) -> AccessRequestCreate | None:
        organisation_id = form.identifier("organisation_id")
        application, register, profile = form.catalogue_choice(applications, registers)
        justification = form.text("justification", min_length=10, max_length=2000)
        until = form.day("valid_until", after=today + dt.timedelta(days=1))
        if not form or organisation_id is None or application is None or register is None or profile is None or justification is None:
            return None
        return AccessRequestCreate(
            organisation_id=organisation_id,
            application=application,
            register=register,
            profile=profile,
            justification=justification,
            valid_until=end_of_day(until) if until else None,
        )

    async def _request_form(
        self, visit: Visit, values: dict[str, Any], errors: dict[str, str], message: str | None, amending: uuid.UUID | None, status: int = 200
    ) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            applications, registers = await catalogue_choices(ctx, values.get("application"))
            found, approximate = await self._search(ctx, values.get("q"))
            chosen = None
            if values.get("organisation_id"):
                try:
                    chosen = organisation_ref(await organisations.get_organisation(ctx, uuid.UUID(str(values["organisation_id"]))))
                except (ValueError, EAMError):
                    chosen = None
        return visit.page(
            "request_form.html",
            status=status,
            values=values,
            errors=errors,
            message=message,
            applications=applications,
            registers=registers,
            found=found,
            approximate=approximate,
            chosen=chosen,
            amending=amending,
            describe=describe,
        )

    @staticmethod
    async def _search(ctx: Context, q: str | None) -> tuple[list[Any], bool]:
        """Active organisations matching ``q``, and whether they are only close matches."""
        if not q or not q.strip():
            return [], False
        found, approximate = await organisations.search_tolerant(ctx, q, "active", 10)
        return [organisation_ref(org) for org in found], approximate


def profile_key(profile: Profile) -> str:
    return f"{profile.role}/{profile.data_level}" if profile.data_level else profile.role
