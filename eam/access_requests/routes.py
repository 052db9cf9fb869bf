from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from eam.access_requests import bulk, workflow
from eam.access_requests.bulk import ApprovalsIn, DecisionsOut, RejectionsIn
from eam.access_requests.models import AccessRequest
from eam.access_requests.schemas import AccessRequestCreate, AccessRequestOut, ApproveIn, ChangeRequestIn, RejectIn, RequestStatus, WithdrawIn
from eam.core.context import Context
from eam.core.paging import Page, fetch_page
from eam.http.paging import Cursor, Limit


class AccessRequestController(Controller):
    path = "/v1/access-requests"
    tags = ["Access requests"]

    @post(operation_id="submitAccessRequest", summary="Ask for access to a register in an application")
    async def submit(self, ctx: Context, data: AccessRequestCreate) -> AccessRequestOut:
        request = await workflow.submit(ctx, data)
        return await self._out(ctx, request.id)

    @get(operation_id="listAccessRequests", summary="Your requests, and those of organisations you manage")
    async def list_requests(
        self,
        ctx: Context,
        status: RequestStatus | None = None,
        organisation_id: uuid.UUID | None = None,
        application: Annotated[str | None, Parameter(max_length=32)] = None,
        register: Annotated[str | None, Parameter(max_length=32)] = None,
        mine: Annotated[bool, Parameter(description="Only requests you submitted")] = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[AccessRequestOut]:
        stmt = workflow.filter_by_status(workflow.visible_statement(ctx), status, ctx.now)
        if organisation_id is not None:
            stmt = stmt.where(AccessRequest.organisation_id == organisation_id)
        if application is not None:
            stmt = stmt.where(AccessRequest.application == application)
        if register is not None:
            stmt = stmt.where(AccessRequest.register_code == register)
        if mine:
            stmt = stmt.where(AccessRequest.requester_id == ctx.user.id)
        stmt = stmt.order_by(AccessRequest.created_at.desc(), AccessRequest.id.desc())
        rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
        return Page(items=[workflow.request_out(row, ctx.now) for row in rows], next_cursor=next_cursor)

    @get("/{request_id:uuid}", operation_id="getAccessRequest", summary="Show an access request")
    async def get_request(self, ctx: Context, request_id: uuid.UUID) -> AccessRequestOut:
        return await self._out(ctx, request_id)

    @post("/{request_id:uuid}/approve", status_code=200, operation_id="approveAccessRequest", summary="Approve, optionally narrowing the profile or setting an end date")
    async def approve(self, ctx: Context, request_id: uuid.UUID, data: ApproveIn | None = None) -> AccessRequestOut:
        return workflow.request_out(await workflow.approve(ctx, request_id, data or ApproveIn()), ctx.now)

    @post("/{request_id:uuid}/reject", status_code=200, operation_id="rejectAccessRequest", summary="Reject with a reason")
    async def reject(self, ctx: Context, request_id: uuid.UUID, data: RejectIn) -> AccessRequestOut:
        return workflow.request_out(await workflow.reject(ctx, request_id, data), ctx.now)

    @post("/{request_id:uuid}/withdraw", status_code=200, operation_id="withdrawAccessRequest", summary="Withdraw your own pending request, optionally with a reason")
    async def withdraw(self, ctx: Context, request_id: uuid.UUID, data: WithdrawIn | None = None) -> AccessRequestOut:
        reason = data.reason if data is not None else None
        return workflow.request_out(await workflow.withdraw(ctx, request_id, reason), ctx.now)

    @post(
        "/for-assignment/{assignment_id:uuid}",
        operation_id="askAssignmentChange",
        summary="Ask to change or extend access you hold (decided by the access managers like a request)",
    )
    async def ask_change(self, ctx: Context, assignment_id: uuid.UUID, data: ChangeRequestIn) -> AccessRequestOut:
        request = await workflow.ask_change(ctx, assignment_id, data)
        return await self._out(ctx, request.id)

    @post("/approvals", status_code=200, operation_id="approveAccessRequests", summary="Approve many requests at once, as asked, with a result per request (each its own decision)")
    async def approve_many(self, ctx: Context, data: ApprovalsIn) -> DecisionsOut:
        return await bulk.approve_many(ctx, data)

    @post("/rejections", status_code=200, operation_id="rejectAccessRequests", summary="Reject many requests at once with one reason, with a result per request (each its own decision)")
    async def reject_many(self, ctx: Context, data: RejectionsIn) -> DecisionsOut:
        return await bulk.reject_many(ctx, data)

    @staticmethod
    async def _out(ctx: Context, request_id: uuid.UUID) -> AccessRequestOut:
        return workflow.request_out(await workflow.get_request(ctx, request_id), ctx.now)
