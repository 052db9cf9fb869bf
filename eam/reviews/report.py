"""A campaign's completion report: counts, decisions per reviewer, and the items as CSV.

Counted in SQL (``GROUP BY``) over the items the caller may read, so a platform-wide campaign
is reported without loading its items. The CSV lists them in pages of :data:`CHUNK` rows, each
cell a spreadsheet shows as text (:func:`eam.imports.cells.neutralise`, OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import func, select

from eam.core.context import Context
from eam.core.enums import ReviewDecision
from eam.imports.cells import neutralise
from eam.reviews.models import AccessReviewItem
from eam.reviews.schemas import ReviewCounts, ReviewerCounts, ReviewReport
from eam.reviews.service import OBJECT, PENDING, get_review, review_out, visible_items
from eam.users.models import User
from eam.users.schemas import user_ref

CHUNK = 1000
CSV_COLUMNS = ("assignment_id", "organisation_id", "holder", "application", "register", "role", "data_level", "author_group", "valid_until", "status", "decision", "defaulted", "reason", "decided_at", "decided_by")


async def report(ctx: Context, review_id: uuid.UUID) -> ReviewReport:
    review, creator = await get_review(ctx, review_id)
    org_ids = ctx.readable_organisations(OBJECT)
    scope = [AccessReviewItem.review_id == review_id]
    if org_ids is not None:
        scope.append(AccessReviewItem.organisation_id.in_(org_ids))
    rows = await ctx.session.execute(
        select(AccessReviewItem.status, AccessReviewItem.decision, AccessReviewItem.defaulted, func.count()).where(*scope).group_by(AccessReviewItem.status, AccessReviewItem.decision, AccessReviewItem.defaulted)
    )
    totals = {"pending": 0, "kept": 0, "changed": 0, "revoked": 0, "defaulted": 0}
    names = {ReviewDecision.KEEP: "kept", ReviewDecision.CHANGE: "changed", ReviewDecision.REVOKE: "revoked"}
    for status, decision, defaulted, count in rows:
        if status == PENDING:
            totals["pending"] += count
            continue
        totals[names[ReviewDecision(decision)]] += count
        if defaulted:
            totals["defaulted"] += count
    per_reviewer = await ctx.session.execute(
        select(User, AccessReviewItem.decision, func.count())
        .join(User, User.id == AccessReviewItem.decided_by)
        .where(*scope)
        .group_by(User, AccessReviewItem.decision)
        .order_by(User.display_name, User.id)
    )
    reviewers: dict[uuid.UUID, tuple[User, dict[str, int]]] = {}
    for user, decision, count in per_reviewer:
        reviewers.setdefault(user.id, (user, {"kept": 0, "changed": 0, "revoked": 0}))[1][names[ReviewDecision(decision)]] += count
    return ReviewReport(
        review=review_out(review, creator),
        counts=ReviewCounts(**totals),
        reviewers=[ReviewerCounts(reviewer=user_ref(user), **counts) for user, counts in reviewers.values()],
    )


def _line(values: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([neutralise("" if value is None else str(value)) for value in values])
    return out.getvalue()


async def report_csv(ctx: Context, review_id: uuid.UUID) -> str:
    """The report's items as CSV (RFC 4180), header first, read from the database in chunks by key
    (like the organisation export, the file is answered whole)."""
    await get_review(ctx, review_id)
    lines = [_line(list(CSV_COLUMNS))]
    after: uuid.UUID | None = None
    while True:
        stmt = visible_items(ctx, review_id).order_by(AccessReviewItem.assignment_id).limit(CHUNK)
        if after is not None:
            stmt = stmt.where(AccessReviewItem.assignment_id > after)
        rows = (await ctx.session.execute(stmt)).all()
        for item, holder, decider in rows:
            lines.append(_line(
                [
                    item.assignment_id, item.organisation_id, holder.display_name, item.application, item.register_code, item.role, item.data_level,
                    item.author_group, item.valid_until.isoformat() if item.valid_until else None, item.status, item.decision,
                    "true" if item.defaulted else "false", item.reason, item.decided_at.isoformat() if item.decided_at else None,
                    decider.display_name if decider is not None else None,
                ]
            ))
        if len(rows) < CHUNK:
            return "".join(lines)
        after = rows[-1][0].assignment_id
