"""The auditor's pages: the organisations they audit (every one for a platform-wide auditor), and
for each its requests, read-only. The access held at an organisation and the audit trail are the
pages access managers use (:mod:`eam.ui.pages.organisation`, :mod:`eam.ui.pages.audit`), which
offer an auditor nothing that changes anything: every form is shown only to whom the permission
to use it belongs, and the domain refuses the rest anyway.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import Template

from eam.access_requests import workflow
from eam.access_requests.models import AccessRequest
from eam.core.paging import fetch_page
from eam.organisations import service as organisations
from eam.organisations.service import organisation_out, organisation_ref
from eam.ui.i18n import N_
from eam.ui.pages.admin import CursorText
from eam.ui.pages.employee import SearchText
from eam.ui.pages.organisation import managed
from eam.ui.visit import Visit
from eam.users.flows import standing

#: Organisations on one page of a platform-wide auditor's list.
ORGANISATIONS_PAGE = 50
REQUESTS_PAGE = 50
#: The request statuses one may filter on ("" is any).
REQUEST_FILTERS: dict[str, str] = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
}


class AuditorPages(Controller):
    @get("/auditing", name="auditing")
    async def auditing(self, visit: Visit, q: SearchText = None, cursor: CursorText = None) -> Template:
        """The organisations the caller audits, each with its access, requests and audit trail;
        a platform-wide auditor finds every organisation (by name, NIHDI or enterprise number)."""
        next_cursor = None
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            if visit.standing.platform_auditor:
                found, next_cursor = await organisations.search(ctx, q, None, ORGANISATIONS_PAGE, cursor)
                shown = [organisation_ref(org) for org in found]
            else:
                shown = list(visit.standing.auditor_of)
        return visit.page("auditing.html", organisations=shown, q=q or "", next_cursor=next_cursor)

    @get("/organisations/{organisation_id:uuid}/requests", name="organisation-requests")
    async def requests(
        self, visit: Visit, organisation_id: uuid.UUID, status: Annotated[str | None, Parameter(max_length=16)] = None, cursor: CursorText = None
    ) -> Template:
        """An organisation's access requests, newest first, to read (decisions are taken in the
        inbox, by its access managers)."""
        wanted = status if status in REQUEST_FILTERS else None
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            org = await managed(ctx, organisation_id, "access_request", "read")
            stmt = workflow.filter_by_status(workflow.visible_statement(ctx), wanted, ctx.now)
            stmt = stmt.where(AccessRequest.organisation_id == org.id).order_by(AccessRequest.created_at.desc(), AccessRequest.id)
            rows, next_cursor = await fetch_page(ctx.session, stmt, REQUESTS_PAGE, cursor)
            decides = ctx.allows_in(org.id, "access_request", "approve")
        return visit.page(
            "organisation_requests.html",
            org=organisation_out(org),
            requests=[workflow.request_out(row, ctx.now) for row in rows],
            next_cursor=next_cursor,
            status_filter=wanted or "",
            status_filters=REQUEST_FILTERS,
            first_page=not cursor,
            decides=decides,
        )
