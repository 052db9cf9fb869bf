"""Access reviews (recertification): start a campaign, list it, decide its items.

Who does what:

- An access manager starts a campaign for an organisation they manage (optionally narrowed to
  an application and/or a register); a platform admin may also start one without an
  organisation, over an application or a register on the whole platform.
- Starting snapshots every live assignment (active or scheduled) in scope as a pending item, in
  one ``INSERT … SELECT``: nothing is loaded into Python, however many assignments there are.
- The reviewers of an item are those who may decide reviews in its organisation: its access
  managers, and platform admins. Never the holder (four eyes, 403 ``review-own-assignment``).
- A decision is a compare-and-set of the item ``pending`` → ``decided`` (409
  ``review-item-decided`` for the reviewer who lost a race), then, for *change* and *revoke*, the
  assignment operation itself (:func:`eam.assignments.service.change`, with its separation of
  duties check, or :func:`~eam.assignments.service.revoke`); the reason goes with it. Every
  decision is audited as ``access_review.decided`` next to the assignment's own events.
- Past its deadline a campaign takes no decisions (409 ``review-closed``): the deadline job
  (:mod:`eam.reviews.jobs`) gives what is left the campaign's default.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, and_, exists, false, func, literal, or_, select, update
from sqlalchemy.orm import aliased

from eam.assignments import service as assignments
from eam.assignments.models import Assignment, is_live
from eam.assignments.schemas import AssignmentPatch, RevokeIn
from eam.catalogue.schemas import profile_of
from eam.core.context import Context
from eam.core.database import new_id
from eam.core.enums import ReviewDecision, ReviewRecurrence, ReviewStatus
from eam.core.errors import AssignmentNotActive, FieldError, NotFound, ReviewClosed, ReviewItemDecided, ReviewOwnAssignment, ValidationFailed
from eam.organisations.service import require_active_reference
from eam.reviews.mails import mail_reviewers
from eam.reviews.models import AccessReview, AccessReviewItem
from eam.reviews.schemas import DecisionIn, ReviewCreate, ReviewItemOut, ReviewOut
from eam.users.models import User
from eam.users.schemas import user_ref

#: The permission object of reviews (``start``, ``decide``, ``read``; eam/policies/permissions.csv).
OBJECT = "access_review"
PENDING = "pending"
DECIDED = "decided"

Holder = aliased(User)
Decider = aliased(User)


def review_out(review: AccessReview, creator: User | None) -> ReviewOut:
    return ReviewOut(
        id=review.id,
        status=review.status,  # type: ignore[arg-type]
        organisation_id=review.organisation_id,
        application=review.application,
        register=review.register_code,
        deadline=review.deadline,
        default_decision=review.default_decision,  # type: ignore[arg-type]
        recurrence=review.recurrence,  # type: ignore[arg-type]
        item_count=review.item_count,
        created_at=review.created_at,
        created_by=user_ref(creator) if creator is not None else None,
        previous_id=review.previous_id,
        closed_at=review.closed_at,
    )


def item_out(item: AccessReviewItem, holder: User, decider: User | None) -> ReviewItemOut:
    return ReviewItemOut(
        assignment_id=item.assignment_id,
        review_id=item.review_id,
        organisation_id=item.organisation_id,
        user=user_ref(holder),
        application=item.application,
        register=item.register_code,
        profile=profile_of(item),
        valid_until=item.valid_until,
        status=item.status,  # type: ignore[arg-type]
        decision=item.decision,  # type: ignore[arg-type]
        defaulted=item.defaulted,
        reason=item.reason,
        decided_at=item.decided_at,
        decided_by=user_ref(decider) if decider is not None else None,
    )


async def _check_scope(ctx: Context, data: ReviewCreate) -> None:
    if data.organisation_id is None and data.application is None and data.register is None:
        raise ValidationFailed("a review needs a scope", [FieldError("$.organisation_id", "name an organisation, an application or a register")])
    if data.organisation_id is not None:
        org = await require_active_reference(ctx, data.organisation_id)
        ctx.require_in(org.id, OBJECT, "start")
    else:
        ctx.require_platform(OBJECT, "start")
    if data.application is not None:
        ctx.catalogue.require_application(data.application)
    if data.register is not None:
        register = await ctx.catalogue.find_register(ctx.session, data.register)
        if register is None:
            raise ValidationFailed(f"unknown register {data.register!r}", [FieldError("$.register", "no such register")])
        if data.application is not None:
            await ctx.catalogue.require_register_in(ctx.session, data.register, data.application)


async def start(ctx: Context, data: ReviewCreate) -> AccessReview:
    """Check the caller may start it, then :func:`open_campaign`."""
    await _check_scope(ctx, data)
    if data.deadline <= ctx.now:
        raise ValidationFailed("the deadline is in the past", [FieldError("$.deadline", f"must be after {ctx.now.isoformat()}")])
    return await open_campaign(
        ctx,
        organisation_id=data.organisation_id,
        application=data.application,
        register=data.register,
        deadline=data.deadline,
        default_decision=ReviewDecision(data.default_decision),
        recurrence=ReviewRecurrence(data.recurrence),
        previous_id=None,
    )


async def open_campaign(
    ctx: Context,
    *,
    organisation_id: uuid.UUID | None,
    application: str | None,
    register: str | None,
    deadline: dt.datetime,
    default_decision: ReviewDecision,
    recurrence: ReviewRecurrence,
    previous_id: uuid.UUID | None,
) -> AccessReview:
    """Create the campaign and snapshot its items in SQL (``INSERT … SELECT``), audited, and write
    the reviewers' mails. Authorisation is the caller's."""
    review = AccessReview(
        id=new_id(),
        organisation_id=organisation_id,
        application=application,
        register_code=register,
        deadline=deadline,
        default_decision=default_decision,
        recurrence=recurrence,
        status=ReviewStatus.OPEN,
        item_count=0,
        created_at=ctx.now,
        created_by=ctx.actor_id,
        previous_id=previous_id,
    )
    ctx.session.add(review)
    await ctx.session.flush()
    live = select(
        literal(review.id, AccessReviewItem.review_id.type),
        Assignment.id,
        Assignment.organisation_id,
        Assignment.user_id,
        Assignment.application,
        Assignment.register_code,
        Assignment.role,
        Assignment.data_level,
        Assignment.author_group,
        Assignment.valid_until,
        literal(PENDING),
        false(),
    ).where(is_live(ctx.now))
    if organisation_id is not None:
        live = live.where(Assignment.organisation_id == organisation_id)
    if application is not None:
        live = live.where(Assignment.application == application)
    if register is not None:
        live = live.where(Assignment.register_code == register)
    columns = ["review_id", "assignment_id", "organisation_id", "user_id", "application", "register_code", "role", "data_level", "author_group", "valid_until", "status", "defaulted"]
    await ctx.session.execute(AccessReviewItem.__table__.insert().from_select(columns, live))
    review.item_count = await ctx.session.scalar(select(func.count()).select_from(AccessReviewItem).where(AccessReviewItem.review_id == review.id)) or 0
    ctx.audit.record(
        "access_review.started",
        target_type="access_review",
        target_id=review.id,
        organisation_id=organisation_id,
        after={**review.scope(), "deadline": deadline.isoformat(), "default_decision": default_decision.value, "recurrence": recurrence.value, "items": review.item_count},
    )
    await mail_reviewers(ctx, review, "access_review_started")
    return review


def visible_reviews(ctx: Context) -> Select[Any]:
    """Campaigns the caller may read: all (platform admins, platform-wide auditors), else those of
    their organisations and the platform-wide ones with items in their organisations."""
    stmt = select(AccessReview, User).outerjoin(User, User.id == AccessReview.created_by)
    org_ids = ctx.readable_organisations(OBJECT)
    if org_ids is not None:
        has_items_here = exists().where(AccessReviewItem.review_id == AccessReview.id, AccessReviewItem.organisation_id.in_(org_ids))
        stmt = stmt.where(or_(AccessReview.organisation_id.in_(org_ids), and_(AccessReview.organisation_id.is_(None), has_items_here)))
    return stmt


async def get_review(ctx: Context, review_id: uuid.UUID) -> tuple[AccessReview, User | None]:
    row = (await ctx.session.execute(visible_reviews(ctx).where(AccessReview.id == review_id))).first()
    if row is None:
        raise NotFound(f"no access review {review_id}")
    return row[0], row[1]


def visible_items(ctx: Context, review_id: uuid.UUID) -> Select[Any]:
    """The campaign's items in organisations whose reviews the caller may read, with holder and decider."""
    stmt = (
        select(AccessReviewItem, Holder, Decider)
        .join(Holder, Holder.id == AccessReviewItem.user_id)
        .outerjoin(Decider, Decider.id == AccessReviewItem.decided_by)
        .where(AccessReviewItem.review_id == review_id)
    )
    org_ids = ctx.readable_organisations(OBJECT)
    if org_ids is not None:
        stmt = stmt.where(AccessReviewItem.organisation_id.in_(org_ids))
    return stmt


async def get_item(ctx: Context, review_id: uuid.UUID, assignment_id: uuid.UUID) -> tuple[AccessReviewItem, User, User | None]:
    row = (await ctx.session.execute(visible_items(ctx, review_id).where(AccessReviewItem.assignment_id == assignment_id).execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound(f"no item for assignment {assignment_id} in access review {review_id}")
    return row[0], row[1], row[2]


def _check_decision(data: DecisionIn) -> None:
    if not data.reason.strip():
        raise ValidationFailed("a reason is required", [FieldError("$.reason", "must not be blank")])
    changes = data.profile is not None or data.valid_until is not msgspec.UNSET
    if data.decision == ReviewDecision.CHANGE and not changes:
        raise ValidationFailed("a change needs a new profile or end", [FieldError("$.profile", "give a profile and/or valid_until to change")])
    if data.decision != ReviewDecision.CHANGE and changes:
        raise ValidationFailed(f"a {data.decision} decision changes nothing", [FieldError("$.decision", "only a change takes a profile or valid_until")])


async def decide(ctx: Context, review_id: uuid.UUID, assignment_id: uuid.UUID, data: DecisionIn) -> tuple[AccessReviewItem, User, User | None]:
    """A reviewer's decision on one item (see the module docstring for the rules)."""
    _check_decision(data)
    review, _ = await get_review(ctx, review_id)
    item, holder, _ = await get_item(ctx, review_id, assignment_id)
    if item.user_id == ctx.user.id:
        raise ReviewOwnAssignment("you hold this access: another reviewer of the organisation decides on it")
    ctx.require_in(item.organisation_id, OBJECT, "decide")
    if review.status != ReviewStatus.OPEN or review.deadline <= ctx.now:
        raise ReviewClosed(f"access review {review_id} closed on {review.deadline.isoformat()}")
    if not await mark_decided(ctx, item, ReviewDecision(data.decision), data.reason, defaulted=False):
        raise ReviewItemDecided(f"the item for assignment {assignment_id} has been decided already")
    if data.decision == ReviewDecision.KEEP:
        live = await ctx.session.scalar(select(Assignment.id).where(Assignment.id == assignment_id, is_live(ctx.now)))
        if live is None:
            raise AssignmentNotActive(f"assignment {assignment_id} is no longer active: there is nothing to keep")
    elif data.decision == ReviewDecision.CHANGE:
        await assignments.change(ctx, assignment_id, AssignmentPatch(profile=data.profile, valid_until=data.valid_until, comment=data.reason))
    else:
        await assignments.revoke(ctx, assignment_id, RevokeIn(reason=data.reason))
    return await get_item(ctx, review_id, assignment_id)


async def mark_decided(ctx: Context, item: AccessReviewItem, decision: ReviewDecision, reason: str, *, defaulted: bool) -> bool:
    """Compare-and-set the item ``pending`` → ``decided`` and audit it; False if it was decided
    already (another reviewer, or the deadline job, won)."""
    result = await ctx.session.execute(
        update(AccessReviewItem)
        .where(AccessReviewItem.review_id == item.review_id, AccessReviewItem.assignment_id == item.assignment_id, AccessReviewItem.status == PENDING)
        .values(status=DECIDED, decision=decision, reason=reason, defaulted=defaulted, decided_at=ctx.now, decided_by=ctx.actor_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    ctx.audit.record(
        "access_review.decided",
        target_type="access_review",
        target_id=item.review_id,
        organisation_id=item.organisation_id,
        before={"assignment_id": str(item.assignment_id), "status": PENDING},
        after={"assignment_id": str(item.assignment_id), "decision": decision.value, "reason": reason, "defaulted": defaulted},
    )
    return True
