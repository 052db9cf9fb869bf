"""Platform admin pages for organisations: find, create, disable or enable again, and appoint
access managers (the first one of a new organisation) from the people directory.

Every change is the domain operation the API calls (:mod:`eam.organisations.service`,
:mod:`eam.access_managers.service`), so the rules and the audit trail are the same.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from eam.access_managers import service as access_managers
from eam.core.context import Context
from eam.core.errors import AlreadyExists, EAMError
from eam.lifecycle import organisations as lifecycle
from eam.organisations import service as organisations
from eam.organisations.schemas import OrganisationCreate, OrganisationPatch
from eam.ui.forms import Form
from eam.ui.i18n import N_
from eam.ui.pages.employee import SearchText
from eam.ui.pages.people import chosen_person, people_found
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

CursorText = Annotated[str | None, Parameter(max_length=512)]
NoticeKey = Annotated[str | None, Parameter(max_length=32)]
#: Organisations on one page of the list.
ORGANISATIONS_PAGE = 50
#: Access managers shown on an organisation's page (an organisation has a handful).
MANAGERS_SHOWN = 100
SOME_FIELDS = N_("Some fields need your attention.")


async def enter_admin(visit: Visit, ctx: Context) -> None:
    """Who is visiting (for the menu), and only platform admins go further: the same permission
    the API checks before creating an organisation."""
    visit.standing = await standing(ctx)
    ctx.require_platform("organisation", "create")


def admin_link(exc: EAMError) -> str | None:
    """The page of the organisation a duplicate refers to (the API names its resource)."""
    existing = str(exc.extensions.get("existing") or "")
    prefix = "/v1/organisations/"
    return "/admin/organisations/" + existing.removeprefix(prefix) if existing.startswith(prefix) else None


class OrganisationAdminPages(Controller):
    path = "/admin"

    @get("/", name="admin")
    async def admin_home(self, visit: Visit) -> Redirect:
        async with visit.reading() as ctx:
            await enter_admin(visit, ctx)
        return Redirect("/admin/organisations", status_code=303)

    @get("/organisations", name="admin-organisations")
    async def list_organisations(
        self,
        visit: Visit,
        q: SearchText = None,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        cursor: CursorText = None,
        notice: NoticeKey = None,
    ) -> Template:
        """Organisations by name, found by name, NIHDI or enterprise number (any status: "" too)."""
        wanted = status if status in ("active", "disabled") else None
        return await self._list(visit, Form({}, visit.gettext), None, q=q, status_filter=wanted, cursor=cursor)

    @post("/organisations", name="admin-create-organisation")
    async def create_organisation(self, visit: Visit, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        name = form.text("name", max_length=200)
        nihdi = form.text("nihdi", max_length=16)
        kbo = form.text("kbo", required=False, max_length=16)
        # the API's own input checks too, even when a field is missing: a problem of each is shown
        wanted = form.convert(OrganisationCreate, {"name": name, "nihdi": nihdi, **({"kbo": kbo} if kbo else {})})
        if wanted is None or not form:
            return await self._list(visit, form, visit.gettext(SOME_FIELDS), code=422)
        try:
            async with visit.changing() as ctx:
                created = await organisations.create_organisation(ctx, wanted)
                organisation_id = created.id
        except EAMError as exc:
            return await self._list(visit, form, form.absorb(exc), existing=admin_link(exc), code=exc.status)
        return visit.redirect(f"/admin/organisations/{organisation_id}", "organisation-created")

    @get("/organisations/{organisation_id:uuid}", name="admin-organisation")
    async def show_organisation(self, visit: Visit, organisation_id: uuid.UUID, q: SearchText = None, notice: NoticeKey = None) -> Template:
        return await self._detail(visit, organisation_id, Form({"q": q or ""}, visit.gettext), None)

    @post("/organisations/{organisation_id:uuid}/status", name="admin-organisation-status")
    async def set_status(self, visit: Visit, organisation_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Disable (its access ends, no requests, no decisions; never deleted) or enable again."""
        form = Form(data, visit.gettext)
        status = form.choice("status", ["active", "disabled"])
        if status is None:
            return await self._detail(visit, organisation_id, form, visit.gettext(SOME_FIELDS), status=422)
        try:
            async with visit.changing() as ctx:
                await lifecycle.update_organisation(ctx, organisation_id, OrganisationPatch(status=status))  # type: ignore[arg-type]
        except EAMError as exc:
            return await self._detail(visit, organisation_id, form, form.absorb(exc), status=exc.status)
        return visit.redirect(f"/admin/organisations/{organisation_id}", "disabled" if status == "disabled" else "enabled")

    @post("/organisations/{organisation_id:uuid}/access-managers", name="admin-appoint")
    async def appoint(self, visit: Visit, organisation_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Appoint the person chosen in the people picker (people exist once they signed in)."""
        form = Form(data, visit.gettext)
        user_id = form.identifier("user_id")
        if user_id is None or not form:
            return await self._detail(visit, organisation_id, form, visit.gettext(N_("Choose the person to appoint.")), status=422)
        try:
            async with visit.changing() as ctx:
                await access_managers.appoint(ctx, organisation_id, user_id)
        except EAMError as exc:
            message = form.absorb(exc)
            if isinstance(exc, AlreadyExists):
                message = visit.gettext(N_("This person is already an access manager of this organisation."))
            return await self._detail(visit, organisation_id, form, message, status=exc.status)
        return visit.redirect(f"/admin/organisations/{organisation_id}", "appointed")

    async def _list(
        self,
        visit: Visit,
        form: Form,
        message: str | None,
        *,
        q: str | None = None,
        status_filter: str | None = None,
        cursor: str | None = None,
        existing: str | None = None,
        code: int = 200,
    ) -> Template:
        async with visit.reading() as ctx:
            await enter_admin(visit, ctx)
            found, next_cursor = await organisations.search(ctx, q, status_filter, ORGANISATIONS_PAGE, cursor)
            rows = [organisations.organisation_out(org) for org in found]
            orphans, _ = await organisations.search(ctx, None, None, ORGANISATIONS_PAGE, None, without_access_manager=True)
        return visit.page(
            "admin_organisations.html",
            orphans=[organisations.organisation_out(org) for org in orphans],
            status=code,
            organisations=rows,
            next_cursor=next_cursor,
            q=q or "",
            status_filter=status_filter or "",
            values=form.values,
            errors=form.errors,
            message=message,
            existing=existing,
        )

    async def _detail(self, visit: Visit, organisation_id: uuid.UUID, form: Form, message: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter_admin(visit, ctx)
            organisation = organisations.organisation_out(await organisations.get_organisation(ctx, organisation_id))
            managers, _ = await access_managers.list_access_managers(ctx, organisation_id, MANAGERS_SHOWN, None)
            found = await people_found(ctx, form.values.get("q"))
            chosen = await chosen_person(ctx, form.values.get("user_id"))
        return visit.page(
            "admin_organisation.html",
            status=status,
            org=organisation,
            managers=managers,
            found=found,
            chosen=chosen,
            values=form.values,
            errors=form.errors,
            message=message,
        )
