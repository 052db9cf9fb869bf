"""E-mails about access requests, written to the outbox in the transaction of the change.

Each mail is rendered for its recipient, in their language (:func:`~eam.notifications.mail.language_of`).

- A request is submitted: each access manager of its organisation who has an e-mail address
  (except the requester and whoever submitted it for them: four-eyes keeps them from deciding)
  is told that a request waits, with a link to the inbox; a manager who chose the daily digest
  (``users.notify_digest``) finds it in the next digest instead (:mod:`eam.notifications.digests`).
- A request is approved or rejected: the requester (if they have an address) is told the
  decision, with the reason on rejection; an approval narrower than asked (another profile, an
  earlier end) says what was asked and what was approved.
- A pending request expires undecided: the requester is told, so they can ask again.
- A request waits too long (:mod:`eam.access_requests.escalation`): level 1 re-sends it to every
  access manager of the organisation, digest or not; level 2 to the platform admins.
  Withdrawal sends nothing (the requester did it).

Mail carries names, the application, register, profile, justification and decision comment:
never a token, a secret or a national number. Nothing is written while ``EAM_SMTP_URL`` is unset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.catalogue.schemas import Profile, profile_of
from eam.core.context import Context
from eam.notifications.mail import day, language_of, last_day, render
from eam.notifications.smtp import EMAIL
from eam.organisations.models import Organisation
from eam.outbox.service import enqueue
from eam.users.models import User
from eam.users.service import platform_admin_users

#: Escalation levels (``access_requests.escalation_level``).
TO_ALL_MANAGERS = 1
TO_PLATFORM_ADMINS = 2


def profile_text(profile: Profile) -> str:
    return "/".join(part for part in (profile.role, profile.data_level, profile.author_group) if part)


def _facts(request: AccessRequest, org: Organisation) -> dict[str, str]:
    return {"organisation": org.name, "application": request.application, "register": request.register_code, "profile": profile_text(profile_of(request))}


async def organisation_managers(ctx: Context, org_id: object) -> list[User]:
    """The organisation's access managers who have an e-mail address, by id."""
    return list(
        await ctx.session.scalars(
            select(User)
            .join(AccessManager, AccessManager.user_id == User.id)
            .where(AccessManager.organisation_id == org_id, User.email.is_not(None))
            .order_by(User.id)
        )
    )


def _send(ctx: Context, recipients: Iterable[User], template: str, event: str, **values: str) -> int:
    """One rendering per recipient, in their language; how many were queued."""
    count = 0
    for person in recipients:
        if not person.email:
            continue
        payload = render(template, language_of(person), name=person.display_name, **values)
        enqueue(ctx.session, ctx.now, channel=EMAIL, event=event, recipient=person.email, payload=payload)
        count += 1
    return count


async def request_submitted(ctx: Context, request: AccessRequest, org: Organisation) -> int:
    """Queue "a request waits for you" for the organisation's access managers; how many."""
    if ctx.settings.smtp_url is None:
        return 0
    requester = await ctx.session.get(User, request.requester_id)
    excluded = {request.requester_id, request.submitted_by}
    managers = [m for m in await organisation_managers(ctx, org.id) if m.id not in excluded and not m.notify_digest]
    return _send(
        ctx,
        managers,
        "request_submitted",
        "access_request.submitted",
        requester=requester.display_name if requester else "",
        justification=request.justification,
        link=f"{ctx.settings.issuer_url}/inbox",
        **_facts(request, org),
    )


async def request_decided(
    ctx: Context, request: AccessRequest, org: Organisation, requester: User | None, approved: Profile | None = None, approved_until: dt.datetime | None = None
) -> int:
    """Queue the decision (approved, possibly narrowed, or rejected) for the requester; how many (0 or 1).

    ``approved`` and ``approved_until`` are what an approval granted; it is *narrowed* when that
    differs from what was asked (another profile, or an end the request did not have or a sooner one)."""
    if ctx.settings.smtp_url is None or requester is None or not requester.email:
        return 0
    asked = profile_of(request)
    granted = approved or asked
    narrowed = granted != asked or (approved_until is not None and (request.valid_until is None or approved_until < request.valid_until))
    return _send(
        ctx,
        [requester],
        "request_decided",
        f"access_request.{request.status}",
        decision=request.status,
        narrowed="yes" if narrowed else "",
        asked=profile_text(asked),
        asked_until=last_day(request.valid_until),
        approved_until=last_day(approved_until),
        comment=request.decision_comment or "",
        link=f"{ctx.settings.issuer_url}/requests",
        **{**_facts(request, org), "profile": profile_text(granted)},
    )


async def request_expired(ctx: Context, request: AccessRequest) -> int:
    """Queue "your request expired undecided" for the requester; how many (0 or 1)."""
    if ctx.settings.smtp_url is None:
        return 0
    requester = await ctx.session.get(User, request.requester_id)
    org = await ctx.session.get(Organisation, request.organisation_id)
    if requester is None or org is None:
        return 0
    return _send(
        ctx, [requester], "request_expired", "access_request.expired", submitted=day(request.created_at), link=f"{ctx.settings.issuer_url}/requests", **_facts(request, org)
    )


async def request_escalated(ctx: Context, request: AccessRequest, level: int) -> int:
    """Queue the escalation of a request waiting since its submission; how many mails.

    Level 1: every access manager of the organisation with an address (digest or not), except
    the requester and whoever submitted it for them; level 2: the platform admins."""
    if ctx.settings.smtp_url is None:
        return 0
    requester = await ctx.session.get(User, request.requester_id)
    org = await ctx.session.get(Organisation, request.organisation_id)
    assert requester is not None and org is not None
    excluded = {request.requester_id, request.submitted_by}
    if level == TO_ALL_MANAGERS:
        recipients = [m for m in await organisation_managers(ctx, org.id) if m.id not in excluded]
        link = f"{ctx.settings.issuer_url}/inbox"
    else:
        recipients = [a for a in await platform_admin_users(ctx.session, ctx.settings) if a.id not in excluded]
        link = f"{ctx.settings.issuer_url}/admin/organisations/{org.id}"
    return _send(
        ctx,
        recipients,
        "request_escalated",
        "access_request.escalated",
        level=str(level),
        requester=requester.display_name,
        justification=request.justification,
        submitted=day(request.created_at),
        nihdi=org.nihdi or "",
        link=link,
        **_facts(request, org),
    )
