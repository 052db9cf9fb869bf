"""An organisation's people, as its access managers choose them: granting access directly (the
person found in the people directory as you type). Appointing and removing access managers is
:mod:`eam.ui.pages.appointments`.

The rules are the domain's: granting to yourself is refused (four eyes), as is removing the last
access manager of an active organisation; the page tells why and keeps what was typed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from eam.assignments import service as assignments
from eam.assignments.schemas import AssignmentCreate
from eam.catalogue.schemas import ApplicationOut, RegisterOut
from eam.core.errors import EAMError
from eam.organisations.service import organisation_out
from eam.ui.forms import Form
from eam.ui.i18n import end_of_day
from eam.ui.pages.employee import catalogue_choices
from eam.ui.pages.people import people_found
from eam.ui.pages.organisation import SOME_FIELDS, Text, managed, refusal
from eam.ui.pages.sign_in import FormData
from eam.ui.profiles import describe
from eam.ui.visit import Visit
from eam.users.flows import standing

class PersonPickerPages(Controller):
    @get("/organisations/{organisation_id:uuid}/people", name="organisation-people-search")
    async def people(self, visit: Visit, organisation_id: uuid.UUID, person_q: Text = None) -> Template:
        """The people matching what was typed so far, as choices (the pickers ask as you type)."""
        async with visit.reading() as ctx:
            await managed(ctx, organisation_id)
            found = await people_found(ctx, person_q)
        return visit.page("partials/person_choices.html", found=found, q=person_q or "", chosen="")

    @get("/organisations/{organisation_id:uuid}/grant", name="grant-form")
    async def grant_form(self, visit: Visit, organisation_id: uuid.UUID, application: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        return await self._grant_form(visit, organisation_id, {"application": application or ""})

    @post("/organisations/{organisation_id:uuid}/assignments", name="grant")
    async def grant(self, visit: Visit, organisation_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Grant access directly (create_direct: the same checks as the API, four eyes included)."""
        form = Form(data, visit.gettext)
        async with visit.reading() as ctx:
            await managed(ctx, organisation_id, "assignment", "create")
            applications, registers = await catalogue_choices(ctx, data.get("application"))
        person = form.identifier("user_id")
        request = self._read_grant(form, organisation_id, person, applications, registers, visit.today())
        if request is None:
            return await self._grant_form(visit, organisation_id, form.values, form.errors, visit.gettext(SOME_FIELDS), status=422)
        try:
            async with visit.changing() as ctx:
                visit.standing = await standing(ctx)
                await managed(ctx, organisation_id, "assignment", "create")
                created = await assignments.create_direct(ctx, request)
        except EAMError as exc:
            message = refusal(form, exc, visit, person, {"profile": "profile_key"})
            return await self._grant_form(visit, organisation_id, form.values, form.errors, message, status=exc.status)
        return visit.redirect(f"/organisations/{organisation_id}/assignments/{created.id}", "granted")

    @staticmethod
    def _read_grant(
        form: Form, organisation_id: uuid.UUID, person: uuid.UUID | None, applications: list[ApplicationOut], registers: list[RegisterOut], today: dt.date
    ) -> AssignmentCreate | None:
        application, register, profile = form.catalogue_choice(applications, registers)
        until = form.day("valid_until", after=today)
        comment = form.text("comment", required=False)
        if not form or person is None or application is None or register is None or profile is None:
            return None
        return AssignmentCreate(
            user_id=person,
            organisation_id=organisation_id,
            application=application,
            register=register,
            profile=profile,
            valid_until=end_of_day(until) if until else None,
            comment=comment,
        )

    async def _grant_form(
        self, visit: Visit, organisation_id: uuid.UUID, values: dict[str, Any], errors: dict[str, str] | None = None, message: str | None = None, status: int = 200
    ) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id, "assignment", "create")
            applications, registers = await catalogue_choices(ctx, values.get("application"))
            found = await people_found(ctx, values.get("person_q"))
        return visit.page(
            "grant_form.html",
            status=status,
            org=organisation_out(org),
            values=values,
            errors=errors or {},
            message=message,
            applications=applications,
            registers=registers,
            found=found,
            describe=describe,
        )
