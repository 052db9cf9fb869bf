"""Access review pages: the campaigns a person may read, starting one, a campaign with its items,
deciding an item (keep, change or revoke, with a reason), and the completion report.

The same operations as the API (:mod:`eam.reviews.service`): the rules (four eyes, decided
once, closed at the deadline) are the domain's; a page only tells a refusal in words.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select

from eam.assignments.models import Assignment, is_live
from eam.catalogue.schemas import Profile
from eam.core.context import Context
from eam.core.errors import EAMError, Forbidden
from eam.core.paging import fetch_page
from eam.core.times import end_of_day, to_instant
from eam.http.paging import Cursor
from eam.core.enums import OrganisationStatus
from eam.organisations.models import Organisation
from eam.reviews import report as reports
from eam.reviews import service
from eam.reviews.models import AccessReview, AccessReviewItem
from eam.reviews.schemas import DecisionIn, ReviewCreate, ReviewOut
from eam.ui.forms import Form
from eam.ui.i18n import N_
from eam.ui.messages import RECURRENCES, REVIEW_DECISIONS
from eam.ui.pages.organisation import SOME_FIELDS, Notice, chosen_profile
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

#: Items on one page of a campaign.
ITEMS_PAGE = 50
DEFAULTS = ("keep", "revoke")
ALL_ORGANISATIONS = N_("All organisations")


async def _startable(ctx: Context) -> list[Organisation]:
    """Organisations where the caller may start a review (all active ones for platform admins)."""
    org_ids = ctx.organisations_allowing(service.OBJECT, "start")
    stmt = select(Organisation).where(Organisation.status == OrganisationStatus.ACTIVE).order_by(Organisation.name)
    if org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(org_ids))
    return list(await ctx.session.scalars(stmt))


def _words(visit: Visit) -> dict[str, Any]:
    return {
        "decision_label": lambda value: visit.gettext(REVIEW_DECISIONS[value]) if value in REVIEW_DECISIONS else "",
        "recurrence_label": lambda value: visit.gettext(RECURRENCES[value]),
    }


async def _scopes(ctx: Context, visit: Visit, reviews: list[ReviewOut]) -> dict[uuid.UUID, str]:
    """Each campaign's scope in words: its organisation (or all), then application · register."""
    org_ids = {review.organisation_id for review in reviews if review.organisation_id}
    names = {row.id: row.name for row in await ctx.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids)))} if org_ids else {}
    return {
        review.id: " · ".join(
            part for part in (names.get(review.organisation_id) if review.organisation_id else visit.gettext(ALL_ORGANISATIONS), review.application, review.register) if part
        )
        for review in reviews
    }


class ReviewPages(Controller):
    @get("/reviews", name="reviews")
    async def reviews(self, visit: Visit, notice: Notice = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            stmt = service.visible_reviews(ctx).order_by(AccessReview.status.desc(), AccessReview.deadline, AccessReview.id)
            rows = (await ctx.session.execute(stmt.limit(200))).all()
            reviews = [service.review_out(*row) for row in rows]
            scopes = await _scopes(ctx, visit, reviews)
            can_start = ctx.organisations_allowing(service.OBJECT, "start") != []
        return visit.page("reviews.html", reviews=reviews, scopes=scopes, can_start=can_start, **_words(visit))

    @get("/reviews/new", name="review-form")
    async def form(self, visit: Visit) -> Template:
        return await self._form(visit, {"default_decision": "keep", "recurrence": "none"}, {})

    async def _form(self, visit: Visit, values: dict[str, Any], errors: dict[str, str], message: str | None = None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            organisations = await _startable(ctx)
            if not organisations:
                raise Forbidden("not allowed to start access reviews")
            platform = ctx.organisations_allowing(service.OBJECT, "start") is None
            registers = await ctx.catalogue.registers(ctx.session)
        return visit.page(
            "review_form.html",
            organisations=organisations,
            platform=platform,
            applications=ctx.catalogue.applications(),
            registers=registers,
            values=values,
            errors=errors,
            message=message,
            status=status,
            **_words(visit),
        )

    @post("/reviews", name="start-review")
    async def start(self, visit: Visit, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        org = form.identifier("organisation_id") if data.get("organisation_id") else None
        application = form.text("application", required=False, max_length=32)
        register = form.text("register", required=False, max_length=32)
        day = form.day("deadline", after=visit.today(), required=True)
        default = form.choice("default_decision", list(DEFAULTS))
        recurrence = form.choice("recurrence", list(RECURRENCES))
        if day is None or default is None or recurrence is None or not form:
            return await self._form(visit, form.values, form.errors, visit.gettext(SOME_FIELDS), status=422)
        request = ReviewCreate(
            deadline=to_instant(end_of_day(day)),
            default_decision=default,  # type: ignore[arg-type]
            organisation_id=org,
            application=application,
            register=register,
            recurrence=recurrence,  # type: ignore[arg-type]
        )
        try:
            async with visit.changing() as ctx:
                review = await service.start(ctx, request)
        except EAMError as exc:
            message = form.absorb(exc, {"deadline": "deadline"})
            return await self._form(visit, form.values, form.errors, message, status=exc.status)
        return visit.redirect(f"/reviews/{review.id}", "review-started")

    @get("/reviews/{review_id:uuid}", name="review")
    async def review(self, visit: Visit, review_id: uuid.UUID, notice: Notice = None, cursor: Cursor = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            review = service.review_out(*await service.get_review(ctx, review_id))
            scope = (await _scopes(ctx, visit, [review]))[review.id]
            stmt = service.visible_items(ctx, review_id).order_by(AccessReviewItem.status.desc(), AccessReviewItem.assignment_id)
            rows, next_cursor = await fetch_page(ctx.session, stmt, ITEMS_PAGE, cursor)
            items = [service.item_out(*row) for row in rows]
            decidable = {item.organisation_id: ctx.allows_in(item.organisation_id, service.OBJECT, "decide") for item in items}
        is_open = review.status == "open" and review.deadline > ctx.now
        return visit.page("review.html", review=review, scope=scope, items=items, next_cursor=next_cursor, decidable=decidable, is_open=is_open, **_words(visit))

    @get("/reviews/{review_id:uuid}/items/{assignment_id:uuid}", name="review-item")
    async def item(self, visit: Visit, review_id: uuid.UUID, assignment_id: uuid.UUID) -> Template:
        return await self._item(visit, review_id, assignment_id, {}, {})

    async def _item(self, visit: Visit, review_id: uuid.UUID, assignment_id: uuid.UUID, values: dict[str, Any], errors: dict[str, str], message: str | None = None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            review = service.review_out(*await service.get_review(ctx, review_id))
            item = service.item_out(*await service.get_item(ctx, review_id, assignment_id))
            application = next(app for app in ctx.catalogue.applications() if app.code == item.application)
            current = await ctx.session.scalar(select(Assignment).where(Assignment.id == assignment_id, is_live(ctx.now)))
            own = item.user.id == ctx.user.id
        return visit.page(
            "review_item.html", review=review, item=item, application=application, current=current, own=own, values=values, errors=errors, message=message, status=status, **_words(visit)
        )

    @post("/reviews/{review_id:uuid}/items/{assignment_id:uuid}", name="decide-review-item")
    async def decide(self, visit: Visit, review_id: uuid.UUID, assignment_id: uuid.UUID, data: FormData) -> Template | Redirect:
        form = Form(data, visit.gettext)
        decision = form.choice("decision", list(REVIEW_DECISIONS))
        reason = form.text("reason", min_length=3, max_length=2000)
        key = form.text("profile_key", required=False, max_length=64)
        author_group = form.author_group(required=False)
        day = form.day("valid_until", after=visit.today()) if decision == "change" else None
        if decision == "change" and not key and day is None:
            form.fail("profile_key", "required")
        if decision is None or reason is None or not form:
            return await self._item(visit, review_id, assignment_id, form.values, form.errors, visit.gettext(SOME_FIELDS), status=422)
        try:
            async with visit.changing() as ctx:
                profile: Profile | None = None
                if decision == "change" and key:
                    item, _, _ = await service.get_item(ctx, review_id, assignment_id)
                    profile = chosen_profile(ctx, item.application, key, author_group)
                extra: dict[str, Any] = {"valid_until": end_of_day(day)} if day is not None else {}
                await service.decide(ctx, review_id, assignment_id, DecisionIn(decision=decision, reason=reason, profile=profile, **extra))  # type: ignore[arg-type]
        except EAMError as exc:
            message = form.absorb(exc, {"profile": "profile_key"})
            return await self._item(visit, review_id, assignment_id, form.values, form.errors, message, status=exc.status)
        return visit.redirect(f"/reviews/{review_id}", "review-decided")

    @get("/reviews/{review_id:uuid}/report", name="review-report")
    async def report(self, visit: Visit, review_id: uuid.UUID) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            found = await reports.report(ctx, review_id)
        return visit.page("review_report.html", report=found, **_words(visit))

    @get("/reviews/{review_id:uuid}/report.csv", name="review-report-csv")
    async def report_csv(self, visit: Visit, review_id: uuid.UUID) -> Response[str]:
        async with visit.reading() as ctx:
            text = await reports.report_csv(ctx, review_id)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="access-review-{review_id}.csv"', "Cache-Control": "no-store"},
        )
