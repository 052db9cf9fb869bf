"""Scheduled work on access reviews: the deadline, recurrence, and the reminder before it.

``close-due-reviews``: for each open campaign past its deadline, every item still pending gets
the campaign's default decision, recorded as by the system (``system:reviews``) and audited
like a reviewer's (``access_review.decided`` with ``defaulted``); a default *revoke* revokes the
assignment through the same compare-and-set as any revocation (one that ended meanwhile is left
as it is). At most :data:`BATCH` items per run, so a platform-wide campaign is worked through
over several runs, each a short transaction. Once nothing is pending the campaign closes
(compare-and-set ``open`` → ``closed``, audited); a recurring one then starts its next round
over the assignments live at that moment, with the deadline one period after the last (several
periods if the job ran late, so it lies ahead). The winner of the close is the only one to start
it, and ``previous_id`` is unique: one next round, however many workers run the job.

``remind-reviewers``: ``EAM_REVIEW_REMINDER_DAYS`` (default 3) before the deadline, the
reviewers of organisations with items still pending are mailed once per campaign
(``reminded_at``, compare-and-set).
"""

from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import select, update

from eam.assignments.models import Assignment
from eam.assignments.service import end_revoked
from eam.core.context import Context
from eam.core.enums import ReviewDecision, ReviewRecurrence, ReviewStatus
from eam.reviews.mails import CLOSING, mail_reviewers
from eam.reviews.models import AccessReview, AccessReviewItem
from eam.reviews.service import PENDING, mark_decided, open_campaign

#: Items given their default per run (one transaction).
BATCH = 500
#: Why an item not reviewed in time was decided, kept with it and with a default revocation.
DEFAULT_REASON = "Not reviewed by the deadline: the campaign's default decision"
_MONTHS = {ReviewRecurrence.MONTHLY: 1, ReviewRecurrence.QUARTERLY: 3, ReviewRecurrence.YEARLY: 12}


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` later (the month's last day if it has fewer days)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def next_deadline(deadline: dt.datetime, recurrence: ReviewRecurrence, now: dt.datetime) -> dt.datetime:
    months = _MONTHS[recurrence]
    step = 1
    while (candidate := add_months(deadline, months * step)) <= now:
        step += 1
    return candidate


async def _default_items(ctx: Context, review: AccessReview, limit: int) -> int:
    pending = await ctx.session.scalars(
        select(AccessReviewItem)
        .where(AccessReviewItem.review_id == review.id, AccessReviewItem.status == PENDING)
        .order_by(AccessReviewItem.assignment_id)
        .limit(limit)
    )
    decision = ReviewDecision(review.default_decision)
    done = 0
    for item in list(pending):
        if not await mark_decided(ctx, item, decision, DEFAULT_REASON, defaulted=True):
            continue
        done += 1
        if decision == ReviewDecision.REVOKE:
            assignment = await ctx.session.get(Assignment, item.assignment_id)
            if assignment is not None:
                await end_revoked(ctx, assignment, DEFAULT_REASON)
    return done


async def _close(ctx: Context, review: AccessReview) -> bool:
    result = await ctx.session.execute(
        update(AccessReview)
        .where(AccessReview.id == review.id, AccessReview.status == ReviewStatus.OPEN)
        .values(status=ReviewStatus.CLOSED, closed_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    ctx.audit.record("access_review.closed", target_type="access_review", target_id=review.id, organisation_id=review.organisation_id, after={"status": ReviewStatus.CLOSED.value})
    recurrence = ReviewRecurrence(review.recurrence)
    if recurrence != ReviewRecurrence.NONE:
        await open_campaign(
            ctx,
            organisation_id=review.organisation_id,
            application=review.application,
            register=review.register_code,
            deadline=next_deadline(review.deadline, recurrence, ctx.now),
            default_decision=ReviewDecision(review.default_decision),
            recurrence=recurrence,
            previous_id=review.id,
        )
    return True


async def close_due_reviews(ctx: Context, *, limit: int = BATCH) -> int:
    """Give pending items of campaigns past their deadline the default, close those with nothing
    pending; how many items and campaigns were handled."""
    due = await ctx.session.scalars(
        select(AccessReview).where(AccessReview.status == ReviewStatus.OPEN, AccessReview.deadline <= ctx.now).order_by(AccessReview.deadline, AccessReview.id)
    )
    handled = 0
    for review in list(due):
        if handled >= limit:
            break
        handled += await _default_items(ctx, review, limit - handled)
        left = await ctx.session.scalar(select(AccessReviewItem.assignment_id).where(AccessReviewItem.review_id == review.id, AccessReviewItem.status == PENDING).limit(1))
        if left is None and await _close(ctx, review):
            handled += 1
    return handled


async def remind_reviewers(ctx: Context) -> int:
    """Mail the reviewers of campaigns whose deadline is near, once; how many mails."""
    if ctx.settings.smtp_url is None:
        return 0
    horizon = ctx.now + dt.timedelta(days=ctx.settings.review_reminder_days)
    due = await ctx.session.scalars(
        select(AccessReview).where(
            AccessReview.status == ReviewStatus.OPEN, AccessReview.reminded_at.is_(None), AccessReview.deadline <= horizon, AccessReview.deadline > ctx.now
        )
    )
    mails = 0
    for review in list(due):
        won = await ctx.session.execute(
            update(AccessReview)
            .where(AccessReview.id == review.id, AccessReview.reminded_at.is_(None))
            .values(reminded_at=ctx.now)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 1:
            sent = await mail_reviewers(ctx, review, CLOSING, pending_only=True)
            ctx.audit.record("access_review.reminded", target_type="access_review", target_id=review.id, organisation_id=review.organisation_id, after={"mails": sent})
            mails += sent
    return mails
