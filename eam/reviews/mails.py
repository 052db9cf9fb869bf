"""Mail to the reviewers of a campaign: when it starts, and once before it closes.

The reviewers are the access managers (with an e-mail address) of the organisations that have
items in the campaign: all of them when it starts, those with items still pending for the
reminder. Each gets one mail per campaign whatever the number of organisations or items, with
the deadline and a link to the campaign page; never a holder's name or any personal data. Mails
go through the outbox in the caller's transaction; nothing is written while ``EAM_SMTP_URL`` is
unset. Platform admins are reviewers too but are not mailed (they did not sign up to review
every organisation).
"""

from __future__ import annotations

from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.core.context import Context
from eam.notifications.mail import language_of, last_day, render
from eam.notifications.smtp import EMAIL
from eam.organisations.models import Organisation
from eam.outbox.service import enqueue
from eam.reviews.models import AccessReview, AccessReviewItem
from eam.users.models import User

STARTED = "access_review_started"
CLOSING = "access_review_closing"


def scope_text(review: AccessReview, organisation: str | None) -> str:
    """The campaign's scope in a few words: organisation, application/register."""
    parts = [part for part in (organisation, "/".join(p for p in (review.application, review.register_code) if p)) if part]
    return ", ".join(parts)


async def mail_reviewers(ctx: Context, review: AccessReview, template: str, *, pending_only: bool = False) -> int:
    """Write one mail per reviewer; how many."""
    if ctx.settings.smtp_url is None:
        return 0
    items = select(AccessReviewItem.organisation_id).where(AccessReviewItem.review_id == review.id)
    if pending_only:
        items = items.where(AccessReviewItem.status == "pending")
    reviewers = await ctx.session.scalars(
        select(User)
        .join(AccessManager, AccessManager.user_id == User.id)
        .where(AccessManager.organisation_id.in_(items.distinct()), User.email.is_not(None))
        .distinct()
        .order_by(User.id)
    )
    organisation = await ctx.session.get(Organisation, review.organisation_id) if review.organisation_id else None
    facts = {
        "scope": scope_text(review, organisation.name if organisation else None),
        "deadline": last_day(review.deadline),
        "link": f"{ctx.settings.issuer_url}/reviews/{review.id}",
    }
    count = 0
    for reviewer in reviewers:
        if not reviewer.email:
            continue
        payload = render(template, language_of(reviewer), name=reviewer.display_name, **facts)
        enqueue(ctx.session, ctx.now, channel=EMAIL, event=f"access_review.{template.removeprefix('access_review_')}", recipient=reviewer.email, payload=payload)
        count += 1
    return count
