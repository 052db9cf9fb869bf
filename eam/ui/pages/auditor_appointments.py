"""Appointing auditors from the pages: an organisation's auditors by its access managers (or a
platform admin), on the organisation's pages; platform-wide auditors by platform admins, in the
administration. The person is found in the people directory as you type.

Every change is the domain operation the API calls (:mod:`eam.auditors.service`), so the rules
(who may appoint, no one twice, people exist once they signed in) and the audit trail are the same.
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from eam.auditors import service as auditors
from eam.core.errors import AlreadyExists, EAMError
from eam.organisations.service import organisation_out
from eam.ui.forms import Form
from eam.ui.i18n import N_
from eam.ui.pages.admin import CursorText, NoticeKey, SOME_FIELDS
from eam.ui.pages.admin_platform import enter
from eam.ui.pages.organisation import managed
from eam.ui.pages.people import chosen_person, people_found
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

#: Auditors shown on one page (an organisation has a handful).
AUDITORS_PAGE = 100
ALREADY = N_("This person is already an auditor here.")
CHOOSE = N_("Choose the person to appoint.")


def _message(visit: Visit, form: Form, exc: EAMError) -> str:
    return visit.gettext(ALREADY) if isinstance(exc, AlreadyExists) else form.absorb(exc)


class OrganisationAuditorPages(Controller):
    @get("/organisations/{organisation_id:uuid}/auditors", name="organisation-auditors")
    async def auditors(self, visit: Visit, organisation_id: uuid.UUID, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, organisation_id, cursor)

    @post("/organisations/{organisation_id:uuid}/auditors", name="appoint-auditor")
    async def appoint(self, visit: Visit, organisation_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Appoint an auditor of this organisation (for example its data protection officer)."""
        form = Form(data, visit.gettext)
        person = form.identifier("user_id")
        if person is None or not form:
            return await self._page(visit, organisation_id, None, failed=("appoint", form, visit.gettext(CHOOSE)), status=422)
        try:
            async with visit.changing() as ctx:
                await auditors.appoint(ctx, organisation_id, person)
        except EAMError as exc:
            return await self._page(visit, organisation_id, None, failed=("appoint", form, _message(visit, form, exc)), status=exc.status)
        return visit.redirect(f"/organisations/{organisation_id}/auditors", "auditor-appointed")

    @post("/organisations/{organisation_id:uuid}/auditors/{user_id:uuid}/remove", name="remove-auditor")
    async def remove(self, visit: Visit, organisation_id: uuid.UUID, user_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        try:
            async with visit.changing() as ctx:
                await auditors.remove(ctx, organisation_id, user_id)
        except EAMError as exc:
            return await self._page(visit, organisation_id, None, failed=(str(user_id), form, form.absorb(exc)), status=exc.status)
        return visit.redirect(f"/organisations/{organisation_id}/auditors", "auditor-removed")

    async def _page(
        self, visit: Visit, organisation_id: uuid.UUID, cursor: str | None, *, failed: tuple[str, Form, str] | None = None, status: int = 200
    ) -> Template:
        typed = failed[1].values if failed and failed[0] == "appoint" else {}
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id, "auditor", "appoint")
            listed, next_cursor = await auditors.list_auditors(ctx, organisation_id, AUDITORS_PAGE, cursor)
            found = await people_found(ctx, typed.get("person_q"))
        return visit.page(
            "organisation_auditors.html",
            status=status,
            org=organisation_out(org),
            auditors=listed,
            next_cursor=next_cursor,
            found=found,
            typed=typed,
            failed=failed,
        )


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
