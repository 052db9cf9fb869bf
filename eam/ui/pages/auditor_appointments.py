"""Appointing platform-wide auditors from the pages, by platform admins, in the administration;
the person is found in the people directory as you type. An organisation's auditors are appointed
on the organisation's pages (:mod:`eam.ui.pages.appointments`).

Every change is the domain operation the API calls (:mod:`eam.auditors.service`), so the rules
(who may appoint, no one twice, people exist once they signed in) and the audit trail are the same.
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from eam.auditors import service as auditors
from eam.core.errors import AlreadyExists, EAMError
from eam.ui.forms import Form
from eam.ui.pages.admin import CursorText, NoticeKey
from eam.ui.pages.admin_platform import enter
from eam.ui.pages.appointments import AUDITORS, CHOOSE
from eam.ui.pages.people import chosen_person, people_found
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit

#: Auditors shown on one page (the platform has a handful).
AUDITORS_PAGE = 100


def _message(visit: Visit, form: Form, exc: EAMError) -> str:
    return visit.gettext(AUDITORS.already) if isinstance(exc, AlreadyExists) else form.absorb(exc)


class PlatformAuditorPages(Controller):
    path = "/admin/auditors"

    @get("/", name="admin-auditors")
    async def auditors(self, visit: Visit, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, Form({}, visit.gettext), None, cursor)

    @post("/", name="admin-appoint-auditor")
    async def appoint(self, visit: Visit, data: FormData) -> Template | Redirect:
        """Appoint an auditor of every organisation."""
        form = Form(data, visit.gettext)
        person = form.identifier("user_id")
        if person is None or not form:
            return await self._page(visit, form, visit.gettext(CHOOSE), None, status=422)
        try:
            async with visit.changing() as ctx:
                await auditors.appoint_platform(ctx, person)
        except EAMError as exc:
            return await self._page(visit, form, _message(visit, form, exc), None, status=exc.status)
        return visit.redirect("/admin/auditors", "auditor-appointed")

    @post("/{user_id:uuid}/remove", name="admin-remove-auditor")
    async def remove(self, visit: Visit, user_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        try:
            async with visit.changing() as ctx:
                await auditors.remove_platform(ctx, user_id)
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc), None, status=exc.status)
        return visit.redirect("/admin/auditors", "auditor-removed")

    async def _page(self, visit: Visit, form: Form, message: str | None, cursor: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter(visit, ctx, "platform_auditor", "appoint")
            listed, next_cursor = await auditors.list_platform_auditors(ctx, AUDITORS_PAGE, cursor)
            found = await people_found(ctx, form.values.get("q"))
            chosen = await chosen_person(ctx, form.values.get("user_id"))
        return visit.page(
            "admin_auditors.html",
            status=status,
            auditors=listed,
            next_cursor=next_cursor,
            found=found,
            chosen=chosen,
            values=form.values,
            errors=form.errors,
            message=message,
        )
