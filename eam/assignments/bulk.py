"""Revoking many assignments at once: each is its own compare-and-set revocation.

The same rule as deciding many requests (:mod:`eam.access_requests.bulk`): every named assignment
is revoked in the caller's one transaction inside its own savepoint; one that ended meanwhile, or
that the caller may not revoke (their own, another organisation's), fails alone with its problem;
the others are revoked and committed together. A caller who may revoke in no organisation at all
is refused the whole call (403).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.assignments import service
from eam.assignments.schemas import AssignmentOut, Reason, RevokeIn
from eam.core.context import Context
from eam.core.bulk import each_on_its_own
from eam.core.errors import EAMError, FieldError, Forbidden, ItemProblem, ValidationFailed

#: Assignments one call may revoke.
MAX_REVOCATIONS = 100


class RevocationsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Revoke the assignments named by id, with one reason kept with each."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "ids": ["5b1c2f0e-8f57-4c1e-9a0e-1d2f3a4b5c6d", "a7e9c0d1-2b3c-4d5e-8f9a-0b1c2d3e4f5a"],
        "reason": "The study has closed.",
    }

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_REVOCATIONS)]
    reason: Reason


class RevocationOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    outcome: Literal["revoked", "failed"]
    assignment: AssignmentOut | None = None
    problem: ItemProblem | None = None


class RevocationsOut(msgspec.Struct, frozen=True):
    items: list[RevocationOut]
    succeeded: int
    failed: int


async def revoke_many(ctx: Context, data: RevocationsIn) -> RevocationsOut:
    """Each assignment revoked on its own (in the order given, each id once)."""
    if not data.reason.strip():
        raise ValidationFailed("a reason is required", [FieldError("$.reason", "must not be blank")])
    if ctx.organisations_allowing("assignment", "revoke") == []:
        raise Forbidden("not allowed to revoke assignments in any organisation")
    reason = RevokeIn(reason=data.reason)
    results = await each_on_its_own(ctx.session, data.ids, lambda assignment_id: service.revoke(ctx, assignment_id, reason))
    items = [
        RevocationOut(result.id, "revoked", assignment=service.assignment_out(result.done, ctx.now))
        if result.problem is None
        else RevocationOut(result.id, "failed", assignment=await _readable(ctx, result.id), problem=result.problem)
        for result in results
    ]
    failed = sum(item.outcome == "failed" for item in items)
    return RevocationsOut(items=items, succeeded=len(items) - failed, failed=failed)


async def _readable(ctx: Context, assignment_id: uuid.UUID) -> AssignmentOut | None:
    """The assignment as the caller may see it now, to say which one failed (None if they may not)."""
    try:
        return service.assignment_out(await service.get_assignment(ctx, assignment_id), ctx.now)
    except EAMError:
        return None
