from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post

from eam.core.context import Context
from eam.core.paging import Page, fetch_page
from eam.http.handler_options import HandlerOptions
from eam.http.paging import Cursor, Limit
from eam.reviews import bulk, report, service
from eam.reviews.models import AccessReview, AccessReviewItem
from eam.reviews.schemas import DecisionIn, DecisionsIn, DecisionsOut, ItemState, ReviewCreate, ReviewItemOut, ReviewOut, ReviewReport, ReviewState


class AccessReviewController(Controller):
    path = "/v1/access-reviews"
    tags = ["Access reviews"]

    @post(operation_id="startAccessReview", summary="Start an access review (recertification campaign) of the live assignments in a scope", opt=HandlerOptions(conflicts=False).opt())
    async def start_review(self, ctx: Context, data: ReviewCreate) -> ReviewOut:
        review = await service.start(ctx, data)
        return service.review_out(*await service.get_review(ctx, review.id))

    @get(operation_id="listAccessReviews", summary="Access reviews of the organisations you manage or audit (all, for platform admins)", opt=HandlerOptions(conflicts=False).opt())
    async def list_reviews(self, ctx: Context, status: ReviewState | None = None, organisation_id: uuid.UUID | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[ReviewOut]:
        stmt = service.visible_reviews(ctx)
        if status is not None:
            stmt = stmt.where(AccessReview.status == status)
        if organisation_id is not None:
            stmt = stmt.where(AccessReview.organisation_id == organisation_id)
        rows, next_cursor = await fetch_page(ctx.session, stmt.order_by(AccessReview.created_at.desc(), AccessReview.id.desc()), limit, cursor)
        return Page(items=[service.review_out(*row) for row in rows], next_cursor=next_cursor)

    @get("/{review_id:uuid}", operation_id="getAccessReview", summary="Show an access review", opt=HandlerOptions(conflicts=False).opt())
    async def get_review(self, ctx: Context, review_id: uuid.UUID) -> ReviewOut:
        return service.review_out(*await service.get_review(ctx, review_id))

    @get("/{review_id:uuid}/items", operation_id="listAccessReviewItems", summary="The assignments under review (in organisations whose reviews you may read), with their decisions", opt=HandlerOptions(conflicts=False).opt())
    async def list_items(self, ctx: Context, review_id: uuid.UUID, status: ItemState | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[ReviewItemOut]:
        await service.get_review(ctx, review_id)
        stmt = service.visible_items(ctx, review_id)
        if status is not None:
            stmt = stmt.where(AccessReviewItem.status == status)
        rows, next_cursor = await fetch_page(ctx.session, stmt.order_by(AccessReviewItem.assignment_id), limit, cursor)
        return Page(items=[service.item_out(*row) for row in rows], next_cursor=next_cursor)

    @post(
        "/{review_id:uuid}/items/{assignment_id:uuid}/decision",
        status_code=200,
        operation_id="decideAccessReviewItem",
        summary="Keep, change or revoke one assignment under review, with a reason (never your own)",
    )
    async def decide(self, ctx: Context, review_id: uuid.UUID, assignment_id: uuid.UUID, data: DecisionIn) -> ReviewItemOut:
        return service.item_out(*await service.decide(ctx, review_id, assignment_id, data))

    @post("/{review_id:uuid}/decisions", status_code=200, operation_id="decideAccessReviewItems", summary="Keep or revoke many assignments under review with one reason, with a result per item (each its own decision)")
    async def decide_many(self, ctx: Context, review_id: uuid.UUID, data: DecisionsIn) -> DecisionsOut:
        return await bulk.decide_many(ctx, review_id, data)

    @get("/{review_id:uuid}/report", operation_id="getAccessReviewReport", summary="An access review's completion report: counts and decisions per reviewer", opt=HandlerOptions(conflicts=False).opt())
    async def get_report(self, ctx: Context, review_id: uuid.UUID) -> ReviewReport:
        return await report.report(ctx, review_id)

    @get(
        "/{review_id:uuid}/report.csv",
        operation_id="getAccessReviewReportCsv",
        summary="An access review's items and decisions as CSV",
        media_type="text/csv",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def get_report_csv(self, ctx: Context, review_id: uuid.UUID) -> Response[str]:
        return Response(
            await report.report_csv(ctx, review_id),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="access-review-{review_id}.csv"'},
        )
