"""Reminders before an assignment ends, written to the outbox by a periodic job.

For each ``N`` in ``EAM_REMINDER_DAYS`` (default 14 and 1), a live assignment (active or
scheduled, not revoked) whose ``valid_until`` is at most ``N`` days away is reminded once:

- the holder, if they have an e-mail address, with a link straight to the page where they ask to
  extend it (``/access/{id}/extend``);
- each access manager of the organisation with an address (except the holder, who already has
  theirs), with a link to the assignment's page, where they extend or end it.

Open-ended, revoked and expired assignments get none. Each reminder sent is an
``assignment_reminders`` row keyed by assignment × ``N`` × end moment, inserted with
``ON CONFLICT DO NOTHING``: the worker whose insert wins writes the mail, so concurrent workers
send once; an assignment whose end moves (extended) is reminded again before its new end. An
assignment first seen inside several windows at once (say one day before its end) gets only the
nearest reminder; the wider ones are recorded as done. The job's caller owns the transaction;
each run handles at most ``limit`` assignments, the next run goes on. Nothing is written while
``EAM_SMTP_URL`` is unset. The mail names the application, register, profile, organisation and
end day: never a token, a secret or a national number.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, select

from eam.access_managers.models import AccessManager
from eam.assignments.models import Assignment, is_live
from eam.catalogue.schemas import profile_of
from eam.core.context import Context
from eam.core.database import upsert_ignore
from eam.notifications.access_requests import profile_text
from eam.notifications.mail import language_of, last_day, render
from eam.notifications.models import AssignmentReminder
from eam.notifications.smtp import EMAIL
from eam.organisations.models import Organisation
from eam.outbox.service import enqueue
from eam.users.models import User

#: Assignments handled per run (one short transaction).
BATCH = 100
EVENT = "assignment.ending"


async def _recorded(ctx: Context, assignment: Assignment, days: int) -> bool:
    """Record the ``days`` reminder for this end moment; whether this transaction's insert won."""
    result = await ctx.session.execute(
        upsert_ignore(ctx.session, AssignmentReminder.__table__)
        .values(assignment_id=assignment.id, days_before=days, ends_at=assignment.valid_until, sent_at=ctx.now)
        .on_conflict_do_nothing(index_elements=["assignment_id", "days_before", "ends_at"])
    )
    return bool(result.rowcount == 1)


async def _mail(ctx: Context, assignment: Assignment, days: int) -> int:
    """Write the holder's and the managers' mails for one assignment; how many."""
    org = await ctx.session.get(Organisation, assignment.organisation_id)
    holder = await ctx.session.get(User, assignment.user_id)
    assert org is not None and holder is not None and assignment.valid_until is not None
    facts = {
        "organisation": org.name,
        "application": assignment.application,
        "register": assignment.register_code,
        "profile": profile_text(profile_of(assignment)),
        "end": last_day(assignment.valid_until),
        "holder": holder.display_name,
    }
    count = 0
    if holder.email:
        payload = render("assignment_ending", language_of(holder), name=holder.display_name, link=f"{ctx.settings.issuer_url}/access/{assignment.id}/extend", **facts)
        enqueue(ctx.session, ctx.now, channel=EMAIL, event=EVENT, recipient=holder.email, payload=payload)
        count += 1
    managers = await ctx.session.scalars(
        select(User)
        .join(AccessManager, AccessManager.user_id == User.id)
        .where(AccessManager.organisation_id == org.id, User.email.is_not(None), User.id != holder.id)
        .order_by(User.id)
    )
    for manager in managers:
        if not manager.email:
            continue
        payload = render(
            "assignment_ending_manager",
            language_of(manager),
            name=manager.display_name,
            link=f"{ctx.settings.issuer_url}/organisations/{org.id}/assignments/{assignment.id}",
            **facts,
        )
        enqueue(ctx.session, ctx.now, channel=EMAIL, event=EVENT, recipient=manager.email, payload=payload)
        count += 1
    ctx.audit.record(
        "assignment.reminded",
        target_type="assignment",
        target_id=assignment.id,
        organisation_id=org.id,
        after={"days_before": days, "valid_until": facts["end"], "mails": count},
    )
    return count


async def remind_ending_assignments(ctx: Context, *, limit: int = BATCH) -> int:
    """Write the reminders that are due (at most ``limit`` assignments); how many mails."""
    if ctx.settings.smtp_url is None or not ctx.settings.reminder_days:
        return 0
    windows = sorted(ctx.settings.reminder_days)  # nearest first: it wins over the wider ones
    mails = handled = 0
    for days in windows:
        if handled >= limit:
            break
        horizon = ctx.now + dt.timedelta(days=days)
        already = exists().where(
            AssignmentReminder.assignment_id == Assignment.id,
            AssignmentReminder.days_before == days,
            AssignmentReminder.ends_at == Assignment.valid_until,
        )
        due = await ctx.session.scalars(
            select(Assignment)
            .where(is_live(ctx.now), and_(Assignment.valid_until.is_not(None), Assignment.valid_until <= horizon), ~already)
            .order_by(Assignment.valid_until, Assignment.id)
            .limit(limit - handled)
        )
        for assignment in list(due):
            handled += 1
            won = await _recorded(ctx, assignment, days)
            for wider in (other for other in windows if other > days):
                await _recorded(ctx, assignment, wider)  # the nearer reminder stands for these
            if won:
                mails += await _mail(ctx, assignment, days)
    return mails
