"""The access manager's inbox: pending requests of their organisations, oldest first, decided one
by one (approve, possibly narrowed and with an end date; reject with a reason) or in bulk."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import or_

from eam.access_requests import workflow
from eam.access_requests.bulk import ApprovalsIn, RejectionsIn, approve_many, reject_many
from eam.access_requests.models import AccessRequest
from eam.access_requests.schemas import AccessRequestOut, ApproveIn, RejectIn
from eam.catalogue.schemas import Profile
from eam.core.context import Context
from eam.core.enums import RequestStatus
from eam.core.errors import EAMError
from eam.core.paging import fetch_page
from eam.ui.forms import Form, message_for
from eam.ui.i18n import N_, end_of_day
from eam.ui.pages.sign_in import FormData
from eam.ui.messages import DECIDED
from eam.ui.profiles import describe
from eam.ui.visit import Visit
from eam.users.flows import standing, update_me
from eam.users.schemas import MePatch

#: Requests one bulk decision may name (a page shows at most this many).
BULK_LIMIT = 100
INBOX_PAGE = 50


class BulkOutcome(msgspec.Struct, frozen=True):
    request_id: uuid.UUID
    ok: bool
    message: str
    request: AccessRequestOut | None = None


class InboxPages(Controller):
    @get("/inbox", name="inbox")
    async def inbox(self, visit: Visit, cursor: Annotated[str | None, Parameter(max_length=512)] = None, notice: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        return await self._inbox(visit, cursor)

    @post("/inbox/{request_id:uuid}/approve", name="approve-request")
    async def approve(self, visit: Visit, request_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        key = form.text("profile_key", required=False)
        until = form.day("valid_until", after=visit.today() + dt.timedelta(days=1))
        comment = form.text("comment", required=False)
        if not form:
            return await self._inbox(visit, None, failed=(request_id, form, visit.gettext("Some fields need your attention.")), status=422)
        try:
            async with visit.changing() as ctx:
                current = workflow.request_out(await workflow.get_request(ctx, request_id), ctx.now)
                profile = narrowed_profile(ctx, current, key)
                await workflow.approve(ctx, request_id, ApproveIn(profile=profile, valid_until=end_of_day(until) if until else None, comment=comment))
        except EAMError as exc:
            return await self._inbox(visit, None, failed=(request_id, form, form.absorb(exc, {"profile": "profile_key"})), status=exc.status)
        return visit.redirect("/inbox", "approved")

    @post("/inbox/{request_id:uuid}/reject", name="reject-request")
    async def reject(self, visit: Visit, request_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        reason = form.text("reason", min_length=3)
        if not form or reason is None:
            return await self._inbox(visit, None, failed=(request_id, form, visit.gettext("Some fields need your attention.")), status=422)
        try:
            async with visit.changing() as ctx:
                await workflow.reject(ctx, request_id, RejectIn(reason=reason))
        except EAMError as exc:
            return await self._inbox(visit, None, failed=(request_id, form, form.absorb(exc)), status=exc.status)
        return visit.redirect("/inbox", "rejected")

    @post("/inbox/notifications", name="inbox-notifications")
    async def notifications(self, visit: Visit, data: FormData) -> Template | Redirect:
        """How the access manager hears of new requests: a mail each, or one digest a day."""
        form = Form(data, visit.gettext)
        choice = form.choice("notify", ["each", "digest"])
        if not form:
            return await self._inbox(visit, None, status=422)
        async with visit.changing() as ctx:
            await update_me(ctx, MePatch(notify_digest=choice == "digest"))
        return visit.redirect("/inbox", "notifications-saved")

    @post("/inbox/decide", name="bulk-decide")
    async def bulk_decide(self, visit: Visit, request: Request[Any, Any, Any]) -> Template:
        """Approve or reject the selected requests (:func:`eam.access_requests.bulk.decide_many`:
        each its own decision; one withdrawn or decided meanwhile fails alone, with its reason)."""
        submitted = await request.form()
        form = Form({key: submitted.get(key) for key in submitted}, visit.gettext)
        decision = form.choice("decision", ["approve", "reject"])
        reason = form.text("reason", min_length=3) if decision == "reject" else None
        ids: list[uuid.UUID] = []
        for raw in submitted.getall("ids") if "ids" in submitted else []:
            try:
                ids.append(uuid.UUID(str(raw)))
            except ValueError:
                form.fail("ids", "invalid")
        if not ids:
            form.fail("ids", "required")
        if len(ids) > BULK_LIMIT:
            form.fail("ids", "too-long", n=BULK_LIMIT)
        if not form:
            message = form.errors.get("ids") and visit.gettext(N_("Select at least one request.")) or visit.gettext("Some fields need your attention.")
            return await self._inbox(visit, None, bulk=(form, message), status=422)
        try:
            async with visit.changing() as ctx:
                visit.standing = await standing(ctx)
                if decision == "reject":
                    result = await reject_many(ctx, RejectionsIn(ids=ids, reason=reason or ""))
                else:
                    result = await approve_many(ctx, ApprovalsIn(ids=ids))
        except EAMError as exc:
            return await self._inbox(visit, None, bulk=(form, form.absorb(exc)), status=exc.status)
        outcomes = [
            BulkOutcome(
                item.id,
                item.problem is None,
                visit.gettext(DECIDED[decision or "approve"]) if item.problem is None else message_for(item.problem.code, item.problem.status, visit.gettext),
                item.request,
            )
            for item in result.items
        ]
        succeeded, failed = result.succeeded, result.failed
        return visit.page("bulk_result.html", outcomes=outcomes, decision=decision, succeeded=succeeded, failed=failed, describe=describe)

    async def _inbox(
        self,
        visit: Visit,
        cursor: str | None,
        *,
        failed: tuple[uuid.UUID, Form, str] | None = None,
        bulk: tuple[Form, str] | None = None,
        status: int = 200,
    ) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            requests, next_cursor = await pending_for_decision(ctx, cursor)
            narrowing = {request.id: narrowing_choices(ctx, request) for request in requests}
            digest = ctx.user.notify_digest
        return visit.page(
            "inbox.html",
            status=status,
            requests=requests,
            next_cursor=next_cursor,
            narrowing=narrowing,
            failed=failed,
            bulk=bulk,
            now=ctx.now,
            describe=describe,
            bulk_limit=BULK_LIMIT,
            digest=digest,
        )


async def pending_for_decision(ctx: Context, cursor: str | None) -> tuple[list[AccessRequestOut], str | None]:
    """Pending requests the caller may decide: their organisations' (everyone's for platform
    admins; none for auditors, who read requests but decide nothing), not their own, oldest first."""
    organisations = ctx.organisations_allowing("access_request", "approve")
    stmt = workflow.filter_by_status(workflow.visible_statement(ctx), RequestStatus.PENDING, ctx.now)
    stmt = stmt.where(AccessRequest.requester_id != ctx.user.id)
    if organisations is not None:
        stmt = stmt.where(or_(AccessRequest.organisation_id.in_(organisations)))
    stmt = stmt.order_by(AccessRequest.created_at, AccessRequest.id)
    rows, next_cursor = await fetch_page(ctx.session, stmt, INBOX_PAGE, cursor)
    return [workflow.request_out(row, ctx.now) for row in rows], next_cursor


def narrowing_choices(ctx: Context, request: AccessRequestOut) -> list[tuple[str, str]]:
    """The profiles an approver may grant instead of the one asked for: it and its narrowings."""
    spec = ctx.catalogue.resolve_profile(request.application, request.profile)
    profiles = {p.key: p for p in ctx.catalogue.require_application(request.application).profiles}
    return [(spec.key, spec.label), *[(key, profiles[key].label) for key in spec.narrows_to if key in profiles]]


def narrowed_profile(ctx: Context, request: AccessRequestOut, key: str | None) -> Profile | None:
    """The profile chosen on the approval form, or None to approve as asked."""
    if not key:
        return None
    profiles = {p.key: p for p in ctx.catalogue.require_application(request.application).profiles}
    chosen = profiles.get(key)
    if chosen is None:
        return Profile(role=key)  # unknown: the domain refuses it with its own message
    return Profile(role=chosen.role, data_level=chosen.data_level, author_group=request.profile.author_group if chosen.author_group == "required" else None)
