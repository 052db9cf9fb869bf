"""The daily digest of waiting requests, for access managers who chose it (``users.notify_digest``).

Such a manager gets no mail per submitted request (:func:`~eam.notifications.access_requests.request_submitted`
leaves them out); instead the job ``send-request-digests`` writes them, once per day (Europe/Brussels),
one mail listing every request pending in the active organisations they manage, oldest first (not
those they asked for or submitted themselves: four-eyes keeps them from deciding those). A day
with nothing waiting sends nothing. Each digest sent is a ``request_digests`` row keyed by manager
× day, inserted with ``ON CONFLICT DO NOTHING``: the worker whose insert wins writes the mail, so
racing workers send it once. An escalation still reaches them at once.

Mail carries names, organisations, applications, registers, profiles and days: never a token,
a secret or a national number. Nothing is written while ``EAM_SMTP_URL`` is unset.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.catalogue.schemas import profile_of
from eam.core.context import Context
from eam.core.database import upsert_ignore
from eam.core.enums import OrganisationStatus, RequestStatus
from eam.core.times import BRUSSELS
from eam.notifications.access_requests import profile_text
from eam.notifications.mail import day, language_of, render
from eam.notifications.models import RequestDigest
from eam.notifications.smtp import EMAIL
from eam.organisations.models import Organisation
from eam.outbox.service import enqueue
from eam.users.models import User

#: Managers handled per run (one short transaction); the next run goes on.
BATCH = 100
EVENT = "access_request.digest"
Requester = aliased(User)


async def send_request_digests(ctx: Context, *, limit: int = BATCH) -> int:
    """Write today's digests that are due (at most ``limit`` managers); how many mails."""
    if ctx.settings.smtp_url is None:
        return 0
    today = ctx.now.astimezone(BRUSSELS).date()
    done_today = exists().where(RequestDigest.user_id == User.id, RequestDigest.day == today)
    managing = exists().where(AccessManager.user_id == User.id)
    managers = list(
        await ctx.session.scalars(
            select(User).where(User.notify_digest.is_(True), User.email.is_not(None), managing, ~done_today).order_by(User.id).limit(limit)
        )
    )
    mails = 0
    for manager in managers:
        waiting = (
            await ctx.session.execute(
                select(AccessRequest, Organisation, Requester)
                .join(AccessManager, AccessManager.organisation_id == AccessRequest.organisation_id)
                .join(Organisation, Organisation.id == AccessRequest.organisation_id)
                .join(Requester, Requester.id == AccessRequest.requester_id)
                .where(
                    AccessManager.user_id == manager.id,
                    Organisation.status == OrganisationStatus.ACTIVE,
                    AccessRequest.status == RequestStatus.PENDING,
                    AccessRequest.expires_at > ctx.now,
                    AccessRequest.requester_id != manager.id,
                    or_(AccessRequest.submitted_by.is_(None), AccessRequest.submitted_by != manager.id),
                )
                .order_by(AccessRequest.created_at, AccessRequest.id)
            )
        ).all()
        if not waiting or not manager.email:
            continue
        won = await ctx.session.execute(
            upsert_ignore(ctx.session, RequestDigest.__table__)
            .values(user_id=manager.id, day=today, sent_at=ctx.now)
            .on_conflict_do_nothing(index_elements=["user_id", "day"])
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            continue
        requests = [
            {
                "organisation": org.name,
                "requester": requester.display_name,
                "application": request.application,
                "register": request.register_code,
                "profile": profile_text(profile_of(request)),
                "submitted": day(request.created_at),
            }
            for request, org, requester in waiting
        ]
        payload = render(
            "request_digest", language_of(manager), name=manager.display_name, count=str(len(requests)), requests=requests, link=f"{ctx.settings.issuer_url}/inbox"
        )
        enqueue(ctx.session, ctx.now, channel=EMAIL, event=EVENT, recipient=manager.email, payload=payload)
        mails += 1
    return mails
