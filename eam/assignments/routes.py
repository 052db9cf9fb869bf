from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from eam.assignments import bulk, duties, history, holder_counts, holders, register_ends, renewal, service
from eam.assignments.bulk import RevocationsIn, RevocationsOut
from eam.assignments.holder_counts import OrganisationHolders, RegisterDetail
from eam.assignments.holders import HolderOut
from eam.assignments.history import AssignmentVersion
from eam.assignments.models import Assignment
from eam.assignments.schemas import AssignmentCreate, AssignmentOut, AssignmentPatch, AssignmentStatus, ExtensionIn, RevokeIn
from eam.catalogue.schemas import RegisterOut, RegisterPatch
from eam.core.context import Context
from eam.core.times import Instant
from eam.core.paging import Page, fetch_page
from eam.http.handler_options import HandlerOptions
from eam.http.paging import Cursor, Limit


class AssignmentController(Controller):
    path = "/v1/assignments"
    tags = ["Assignments"]

    @get(operation_id="listAssignments", summary="Your assignments, and those of organisations you manage")
    async def list_assignments(
        self,
        ctx: Context,
        status: AssignmentStatus | None = None,
        organisation_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        application: Annotated[str | None, Parameter(max_length=32)] = None,
        register: Annotated[str | None, Parameter(max_length=32)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[AssignmentOut]:
        stmt = service.filter_by_status(service.visible_statement(ctx, "assignment"), status, ctx.now)
        if organisation_id is not None:
            stmt = stmt.where(Assignment.organisation_id == organisation_id)
        if user_id is not None:
            stmt = stmt.where(Assignment.user_id == user_id)
        if application is not None:
            stmt = stmt.where(Assignment.application == application)
        if register is not None:
            stmt = stmt.where(Assignment.register_code == register)
        stmt = stmt.order_by(Assignment.created_at.desc(), Assignment.id.desc())
        rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
        return Page(items=[service.assignment_out(row, ctx.now) for row in rows], next_cursor=next_cursor)

    @post(operation_id="createAssignment", summary="Grant access directly to a user of your organisation")
    async def create_assignment(self, ctx: Context, data: AssignmentCreate) -> AssignmentOut:
        assignment = await service.create_direct(ctx, data)
        return service.assignment_out(await service.get_assignment(ctx, assignment.id), ctx.now)

    @post("/revocations", status_code=200, operation_id="revokeAssignments", summary="Revoke many assignments at once with one reason, with a result per assignment (each its own revocation)")
    async def revoke_many(self, ctx: Context, data: RevocationsIn) -> RevocationsOut:
        return await bulk.revoke_many(ctx, data)

    @get("/{assignment_id:uuid}", operation_id="getAssignment", summary="Show an assignment")
    async def get_assignment(self, ctx: Context, assignment_id: uuid.UUID) -> AssignmentOut:
        return service.assignment_out(await service.get_assignment(ctx, assignment_id), ctx.now)

    @patch("/{assignment_id:uuid}", operation_id="changeAssignment", summary="Change the profile or end date in place")
    async def change_assignment(self, ctx: Context, assignment_id: uuid.UUID, data: AssignmentPatch) -> AssignmentOut:
        return service.assignment_out(await service.change(ctx, assignment_id, data), ctx.now)

    @post(
        "/{assignment_id:uuid}/extension",
        status_code=200,
        operation_id="extendAssignment",
        summary="Extend the end date, or renew an assignment that ended within the renewal grace period",
    )
    async def extend_assignment(self, ctx: Context, assignment_id: uuid.UUID, data: ExtensionIn) -> AssignmentOut:
        return service.assignment_out(await renewal.extend(ctx, assignment_id, data), ctx.now)

    @post("/{assignment_id:uuid}/revoke", status_code=200, operation_id="revokeAssignment", summary="Revoke with a reason")
    async def revoke_assignment(self, ctx: Context, assignment_id: uuid.UUID, data: RevokeIn) -> AssignmentOut:
        return service.assignment_out(await service.revoke(ctx, assignment_id, data), ctx.now)

    @get("/{assignment_id:uuid}/history", operation_id="getAssignmentHistory", summary="Every version of an assignment: who changed it, when and why", opt=HandlerOptions(conflicts=False).opt())
    async def get_history(self, ctx: Context, assignment_id: uuid.UUID) -> list[AssignmentVersion]:
        return await history.history(ctx, assignment_id)


class RegisterRecordController(Controller):
    """A register with its holders now: here, not in the catalogue, which sits below assignments
    and never reads them."""

    path = "/v1/registers"
    tags = ["Catalogue"]

    @get(
        "/{code:str}",
        operation_id="getRegister",
        summary="Show a register: its record of processing, and how many people hold access to it now",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def get_register(self, ctx: Context, code: Annotated[str, Parameter(max_length=32)]) -> RegisterDetail:
        return await holder_counts.register_detail(ctx, code)

    @patch(
        "/{code:str}",
        operation_id="setRegisterEnd",
        summary="Set, move or remove the end date of a register added through the API (platform admins); live access is cut back to it",
    )
    async def set_register_end(self, ctx: Context, code: Annotated[str, Parameter(max_length=32)], data: RegisterPatch) -> RegisterOut:
        return await register_ends.set_register_end(ctx, code, data)


class HoldersController(Controller):
    path = "/v1/registers"
    tags = ["Assignments"]

    @get(
        "/{code:str}/holder-counts",
        operation_id="listRegisterHolderCounts",
        summary="How many people hold access to a register now, per organisation (organisations you may read)",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def list_holder_counts(
        self, ctx: Context, code: Annotated[str, Parameter(max_length=32)], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[OrganisationHolders]:
        items, next_cursor = await holder_counts.holder_counts(ctx, code, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/{code:str}/holders",
        operation_id="listRegisterHolders",
        summary="Who held access to a register at a moment (default: now), with profile, approver and justification",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def list_holders(
        self,
        ctx: Context,
        code: Annotated[str, Parameter(max_length=32)],
        as_of: Annotated[Instant | None, Parameter(description="The moment asked about (RFC 3339, with an offset); default: now")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[HolderOut]:
        items, next_cursor = await holders.holders(ctx, code, as_of, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)


class SeparationOfDutiesController(Controller):
    path = "/v1/separation-of-duties"
    tags = ["Assignments"]

    @get(
        "/violations",
        operation_id="listSeparationOfDutiesViolations",
        summary="People who hold profiles that a separation-of-duties rule declares incompatible, now (organisations where you manage access)",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def list_violations(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[duties.Violation]:
        items, next_cursor = await duties.violations(ctx, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)
