"""Deciding many access requests at once: each is its own compare-and-set decision.

One call (an API request, a page's bulk form) decides every named request in the caller's one
transaction, each inside a savepoint (:func:`eam.core.database.savepoint`): one that was
withdrawn, decided or expired meanwhile, or that the caller may not decide, fails alone with
its problem, and nothing of it is written; the others are decided and committed together. A
caller who may decide requests in no organisation at all (an employee, an auditor) is refused
the whole call (403).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.access_requests import workflow
from eam.access_requests.schemas import AccessRequestOut, ApproveIn, Comment, Reason, RejectIn
from eam.core.context import Context
from eam.core.bulk import each_on_its_own
from eam.core.errors import EAMError, FieldError, Forbidden, ItemProblem, ValidationFailed

#: Requests one call may decide.
MAX_DECISIONS = 100


class ApprovalsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Approve, as asked, the requests named by id."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "ids": ["0f16d3dc-c451-41cb-997c-2187d96b56f2", "0826b353-3e86-449f-a383-40b466744c78"],
        "comment": "Welcome to the study team.",
    }

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_DECISIONS)]
    #: Kept with each approval.
    comment: Comment | None = None


class RejectionsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Reject the requests named by id, with one reason shown to each requester."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "ids": ["0f16d3dc-c451-41cb-997c-2187d96b56f2", "0826b353-3e86-449f-a383-40b466744c78"],
        "reason": "The study has closed.",
    }

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_DECISIONS)]
    reason: Reason


class DecisionOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    outcome: Literal["approved", "rejected", "failed"]
    request: AccessRequestOut | None = None
    problem: ItemProblem | None = None


class DecisionsOut(msgspec.Struct, frozen=True):
    items: list[DecisionOut]
    succeeded: int
    failed: int


async def approve_many(ctx: Context, data: ApprovalsIn) -> DecisionsOut:
    """Each request approved on its own (in the order given, each id once)."""
    comment = data.comment
    return await _each(ctx, data.ids, "approved", lambda request_id: workflow.approve(ctx, request_id, ApproveIn(comment=comment)))


async def reject_many(ctx: Context, data: RejectionsIn) -> DecisionsOut:
    """Each request rejected on its own (in the order given, each id once)."""
    if not data.reason.strip():
        raise ValidationFailed("a reason is required", [FieldError("$.reason", "must not be blank")])
    reason = RejectIn(reason=data.reason)
    return await _each(ctx, data.ids, "rejected", lambda request_id: workflow.reject(ctx, request_id, reason))


async def _each(
    ctx: Context, ids: list[uuid.UUID], outcome: Literal["approved", "rejected"], decide: Callable[[uuid.UUID], Awaitable[tuple[Any, ...]]]
) -> DecisionsOut:
    action = "approve" if outcome == "approved" else "reject"
    if ctx.organisations_allowing("access_request", action) == []:
        raise Forbidden(f"not allowed to {action} access requests in any organisation")
    results = await each_on_its_own(ctx.session, ids, decide)
    items = [
        DecisionOut(result.id, outcome, request=workflow.request_out(result.done, ctx.now))
        if result.problem is None
        else DecisionOut(result.id, "failed", request=await _readable(ctx, result.id), problem=result.problem)
        for result in results
    ]
    failed = sum(item.outcome == "failed" for item in items)
    return DecisionsOut(items=items, succeeded=len(items) - failed, failed=failed)


async def _readable(ctx: Context, request_id: uuid.UUID) -> AccessRequestOut | None:
    """The request as the caller may see it now, to say which one failed (None if they may not)."""
    try:
        return workflow.request_out(await workflow.get_request(ctx, request_id), ctx.now)
    except EAMError:
        return None
