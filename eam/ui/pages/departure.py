"""Marking a person as having left the organisation: the page of
:func:`eam.lifecycle.departures.mark_left`.

A confirmation step first: the page names the person and says what ends (their access, their
pending requests, their roles there); the access manager gives a reason and confirms. The rules
are the domain's: nobody marks themselves (four eyes), the last access manager of an active
organisation cannot leave, a second departure is refused; the page tells why.
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from eam.core.context import Context
from eam.core.errors import EAMError, NotFound
from eam.lifecycle.departures import mark_left
from eam.lifecycle.schemas import DepartureIn
from eam.organisations.service import organisation_out
from eam.ui.forms import Form
from eam.ui.i18n import N_
from eam.ui.pages.organisation import SOME_FIELDS, managed
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing
from eam.users.models import User

NOT_YOURSELF = N_("Another access manager marks you as having left (four-eyes rule).")


async def _person(ctx: Context, user_id: uuid.UUID) -> User:
    person = await ctx.session.get(User, user_id)
    if person is None:
        raise NotFound(f"no person {user_id}")
    return person


class DeparturePages(Controller):
    @get("/organisations/{organisation_id:uuid}/people/{user_id:uuid}/departure", name="departure-form")
    async def form(self, visit: Visit, organisation_id: uuid.UUID, user_id: uuid.UUID) -> Template:
        return await self._form(visit, organisation_id, user_id, {}, {})

    async def _form(
        self, visit: Visit, organisation_id: uuid.UUID, user_id: uuid.UUID, values: dict[str, str], errors: dict[str, str], message: str | None = None, status: int = 200
    ) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id, "person", "depart")
            person = await _person(ctx, user_id)
        return visit.page(
            "departure.html", org=organisation_out(org), person=person, values=values, errors=errors, message=message, status=status
        )

    @post("/organisations/{organisation_id:uuid}/people/{user_id:uuid}/departure", name="departure")
    async def depart(self, visit: Visit, organisation_id: uuid.UUID, user_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        reason = form.text("reason", min_length=3, max_length=2000)
        if reason is None or not form:
            return await self._form(visit, organisation_id, user_id, form.values, form.errors, visit.gettext(SOME_FIELDS), status=422)
        try:
            async with visit.changing() as ctx:
                visit.standing = await standing(ctx)
                await mark_left(ctx, organisation_id, user_id, DepartureIn(reason=reason))
        except EAMError as exc:
            message = form.absorb(exc, {"reason": "reason"})
            if exc.status == 403 and visit.standing is not None and visit.standing.id == user_id:
                message = f"{message} {visit.gettext(NOT_YOURSELF)}"
            return await self._form(visit, organisation_id, user_id, form.values, form.errors, message, status=exc.status)
        return visit.redirect(f"/organisations/{organisation_id}", "person-left")
