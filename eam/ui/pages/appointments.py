"""An organisation's appointed roles as pages: its access managers (who decide on requests; never
none) and its auditors (who read and change nothing, such as the data protection officer). Both
are appointed and removed by the organisation's access managers or a platform admin, the person
found in the people directory as you type.

One page serves both roles (:func:`organisation_role_pages`), given what differs between them
(:class:`OrganisationRole`): the domain operations and the words. Every change is the operation
the API calls (:mod:`eam.access_managers.service`, :mod:`eam.auditors.service`), so the rules
(who may appoint, no one twice, never the last access manager) and the audit trail are the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from eam.access_managers import service as access_managers
from eam.auditors import service as auditors
from eam.core.context import Context
from eam.core.errors import AlreadyExists, EAMError
from eam.organisations.service import organisation_out
from eam.ui.forms import Form
from eam.ui.i18n import N_
from eam.ui.pages.admin import CursorText, NoticeKey
from eam.ui.pages.organisation import managed
from eam.ui.pages.people import people_found
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

#: People shown on one page (an organisation has a handful of each).
APPOINTED_PAGE = 100
CHOOSE = N_("Choose the person to appoint.")


@dataclass(frozen=True)
class OrganisationRole:
    """What the page of one appointed role needs: where it lives, what it calls, what it says."""

    #: The path segment under ``/organisations/{id}/`` and the route names' stem.
    segment: str
    #: The policy object whose ``appoint`` permission opens the page.
    policy_object: str
    list: Callable[[Context, uuid.UUID, int, str | None], Awaitable[tuple[list[Any], str | None]]]
    appoint: Callable[[Context, uuid.UUID, uuid.UUID], Awaitable[Any]]
    remove: Callable[[Context, uuid.UUID, uuid.UUID], Awaitable[None]]
    #: Words (untranslated; the template translates them).
    title: str
    intro: str
    caption: str
    none: str
    remove_label: str
    more: str
    appoint_heading: str
    already: str
    #: The notices after a change (keys of :data:`eam.ui.messages.NOTICES`).
    appointed_notice: str
    removed_notice: str


ACCESS_MANAGERS = OrganisationRole(
    segment="access-managers",
    policy_object="access_manager",
    list=access_managers.list_access_managers,
    appoint=access_managers.appoint,
    remove=access_managers.remove,
    title=N_("Access managers of %(organisation)s"),
    intro=N_("Access managers decide on requests and manage the access of the people of this organisation. There is always at least one."),
    caption=N_("Access managers"),
    none=N_("This organisation has no access manager: nobody can decide its requests."),
    remove_label=N_("Remove %(name)s as access manager"),
    more=N_("More access managers"),
    appoint_heading=N_("Appoint an access manager"),
    already=N_("This person is already an access manager here."),
    appointed_notice="appointed",
    removed_notice="removed",
)

AUDITORS = OrganisationRole(
    segment="auditors",
    policy_object="auditor",
    list=auditors.list_auditors,
    appoint=auditors.appoint,
    remove=auditors.remove,
    title=N_("Auditors of %(organisation)s"),
    intro=N_("Auditors, such as the data protection officer, read the access, requests and audit trail of this organisation. They change nothing."),
    caption=N_("Auditors"),
    none=N_("This organisation has no auditor."),
    remove_label=N_("Remove %(name)s as auditor"),
    more=N_("More auditors"),
    appoint_heading=N_("Appoint an auditor"),
    already=N_("This person is already an auditor here."),
    appointed_notice="auditor-appointed",
    removed_notice="auditor-removed",
)


def organisation_role_pages(role: OrganisationRole) -> type[Controller]:
    """The list, appoint and remove pages of ``role`` at ``/organisations/{id}/<segment>``."""
    base = f"/organisations/{{organisation_id:uuid}}/{role.segment}"
    stem = role.segment.removesuffix("s")

    def here(organisation_id: uuid.UUID) -> str:
        return f"/organisations/{organisation_id}/{role.segment}"

    async def page(
        visit: Visit, organisation_id: uuid.UUID, cursor: str | None, *, failed: tuple[str, Form, str] | None = None, status: int = 200
    ) -> Template:
        typed = failed[1].values if failed and failed[0] == "appoint" else {}
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id, role.policy_object, "appoint")
            listed, next_cursor = await role.list(ctx, organisation_id, APPOINTED_PAGE, cursor)
            found = await people_found(ctx, typed.get("person_q"))
        return visit.page(
            "organisation_role.html",
            status=status,
            role=role,
            org=organisation_out(org),
            appointed=listed,
            next_cursor=next_cursor,
            found=found,
            typed=typed,
            failed=failed,
        )

    class Pages(Controller):
        @get(base, name=f"organisation-{role.segment}")
        async def listing(self, visit: Visit, organisation_id: uuid.UUID, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
            return await page(visit, organisation_id, cursor)

        @post(base, name=f"appoint-{stem}")
        async def appoint(self, visit: Visit, organisation_id: uuid.UUID, data: FormData) -> Template | Redirect:
            form = Form(data, visit.gettext)
            person = form.identifier("user_id")
            if person is None or not form:
                return await page(visit, organisation_id, None, failed=("appoint", form, visit.gettext(CHOOSE)), status=422)
            try:
                async with visit.changing() as ctx:
                    await role.appoint(ctx, organisation_id, person)
            except EAMError as exc:
                message = visit.gettext(role.already) if isinstance(exc, AlreadyExists) else form.absorb(exc)
                return await page(visit, organisation_id, None, failed=("appoint", form, message), status=exc.status)
            return visit.redirect(here(organisation_id), role.appointed_notice)

        @post(f"{base}/{{user_id:uuid}}/remove", name=f"remove-{stem}")
        async def remove(self, visit: Visit, organisation_id: uuid.UUID, user_id: uuid.UUID, data: FormData) -> Template | Redirect:
            """Remove the person from the role; the last access manager of an active organisation stays."""
            form = Form(data, visit.gettext)
            try:
                async with visit.changing() as ctx:
                    await role.remove(ctx, organisation_id, user_id)
            except EAMError as exc:
                return await page(visit, organisation_id, None, failed=(str(user_id), form, form.absorb(exc)), status=exc.status)
            return visit.redirect(here(organisation_id), role.removed_notice)

    Pages.__name__ = Pages.__qualname__ = f"{role.segment.title().replace('-', '')}Pages"
    return Pages


AccessManagerPages = organisation_role_pages(ACCESS_MANAGERS)
OrganisationAuditorPages = organisation_role_pages(AUDITORS)
