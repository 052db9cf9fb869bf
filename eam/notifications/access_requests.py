"""E-mails about access requests, written to the outbox in the transaction of the change.

- A request is submitted: each access manager of its organisation who has an e-mail address
  (except the requester and whoever submitted it for them: four-eyes keeps them from deciding)
  is told that a request waits, with a link to the inbox.
- A request is approved or rejected: the requester (if they have an address) is told the
  decision, with the reason on rejection. Withdrawal and expiry send nothing yet.

Mail carries names, the application, register, profile, justification and decision comment:
never a token, a secret or a national number. Nothing is written while ``EAM_SMTP_URL`` is unset.
"""

from __future__ import annotations

from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.catalogue.schemas import profile_of
from eam.core.context import Context
from eam.notifications.mail import DEFAULT_LANGUAGE, render
from eam.notifications.smtp import EMAIL
from eam.organisations.models import Organisation
from eam.outbox.service import enqueue
from eam.users.models import User


def _profile(request: AccessRequest) -> str:
    profile = profile_of(request)
    return "/".join(part for part in (profile.role, profile.data_level, profile.author_group) if part)


def _facts(request: AccessRequest, org: Organisation) -> dict[str, str]:
    return {"organisation": org.name, "application": request.application, "register": request.register_code, "profile": _profile(request)}


async def request_submitted(ctx: Context, request: AccessRequest, org: Organisation) -> int:
    """Queue "a request waits for you" for the organisation's access managers; how many."""
    if ctx.settings.smtp_url is None:
        return 0
    requester = await ctx.session.get(User, request.requester_id)
    excluded = {request.requester_id, request.submitted_by}
    managers = await ctx.session.scalars(
        select(User)
        .join(AccessManager, AccessManager.user_id == User.id)
        .where(AccessManager.organisation_id == org.id, User.email.is_not(None))
        .order_by(User.id)
    )
    count = 0
    for manager in managers:
        if manager.id in excluded or not manager.email:
            continue
        payload = render(
            "request_submitted",
            DEFAULT_LANGUAGE,  # no language is stored for a person yet
            requester=requester.display_name if requester else "",
            justification=request.justification,
            link=f"{ctx.settings.issuer_url}/inbox",
            **_facts(request, org),
        )
        enqueue(ctx.session, ctx.now, channel=EMAIL, event="access_request.submitted", recipient=manager.email, payload=payload)
        count += 1
    return count


async def request_decided(ctx: Context, request: AccessRequest, org: Organisation, requester: User | None) -> int:
    """Queue the decision (approved or rejected) for the requester; how many (0 or 1)."""
    if ctx.settings.smtp_url is None or requester is None or not requester.email:
        return 0
    payload = render(
        "request_decided",
        DEFAULT_LANGUAGE,
        decision=request.status,
        requester=requester.display_name,
        comment=request.decision_comment or "",
        link=f"{ctx.settings.issuer_url}/requests",
        **_facts(request, org),
    )
    enqueue(ctx.session, ctx.now, channel=EMAIL, event=f"access_request.{request.status}", recipient=requester.email, payload=payload)
    return 1
