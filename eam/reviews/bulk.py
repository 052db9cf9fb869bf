"""Deciding many items of a campaign at once: each its own decision in its own savepoint
(:func:`eam.core.bulk.each_on_its_own`), like revoking many assignments. One that fails (the
caller's own access, decided already, an assignment no longer live) fails alone with its problem."""

from __future__ import annotations

import uuid

from eam.core.bulk import each_on_its_own
from eam.core.context import Context
from eam.reviews import service
from eam.reviews.schemas import DecisionIn, DecisionOutcome, DecisionsIn, DecisionsOut


async def decide_many(ctx: Context, review_id: uuid.UUID, data: DecisionsIn) -> DecisionsOut:
    await service.get_review(ctx, review_id)
    decision = DecisionIn(decision=data.decision, reason=data.reason)
    results = await each_on_its_own(ctx.session, data.assignment_ids, lambda assignment_id: service.decide(ctx, review_id, assignment_id, decision))
    items = [
        DecisionOutcome(result.id, "decided", item=service.item_out(*result.done))
        if result.done is not None
        else DecisionOutcome(result.id, "failed", problem=result.problem)
        for result in results
    ]
    failed = sum(item.outcome == "failed" for item in items)
    return DecisionsOut(items=items, succeeded=len(items) - failed, failed=failed)
