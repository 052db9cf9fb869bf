"""Registering a person with an organisation before their first sign-in (or after it), by national
number, name and professional e-mail address: the page of :func:`eam.users.people.register_person`.

The access manager then grants or requests access for them as for anyone; the person finds it
waiting at their first sign-in with that national number.
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from eam.core.errors import EAMError
from eam.ui.forms import Form
from eam.ui.pages.organisation import SOME_FIELDS, managed, refusal
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing
from eam.users.people import PersonIn, register_person


class RegisterPersonPages(Controller):
    @get("/organisations/{organisation_id:uuid}/people/new", name="register-person-form")
    async def form(self, visit: Visit, organisation_id: uuid.UUID) -> Template:
        return await self._form(visit, organisation_id, {}, {})

    async def _form(self, visit: Visit, organisation_id: uuid.UUID, values: dict[str, str], errors: dict[str, str], message: str | None = None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id, "person", "register")
        return visit.page("register_person.html", org=org, values=values, errors=errors, message=message, status=status)

    @post("/organisations/{organisation_id:uuid}/people", name="register-person")
    async def register(self, visit: Visit, organisation_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        number = form.text("national_number", max_length=20)
        name = form.text("display_name", max_length=200)
        email = form.text("email", max_length=320)
        person = form.convert(PersonIn, {"national_number": number, "display_name": name, "email": email}) if form else None
        if person is None:
            return await self._form(visit, organisation_id, form.values, form.errors, visit.gettext(SOME_FIELDS), status=422)
        try:
            async with visit.changing() as ctx:
                visit.standing = await standing(ctx)
                await register_person(ctx, organisation_id, person)
        except EAMError as exc:
            message = refusal(form, exc, visit, None)
            return await self._form(visit, organisation_id, form.values, form.errors, message, status=exc.status)
        return visit.redirect(f"/organisations/{organisation_id}", "person-registered")
