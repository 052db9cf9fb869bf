"""Platform admins are mailed when an active organisation is left without an access manager.

Appointing and removing never leave an active organisation without one (409
``last-access-manager``), nor does a departure; it happens when an organisation is created and
nobody is appointed yet, when a disabled one (whose managers could all be removed) is enabled
again, or through a data migration. Nobody there can decide a request, so the job
``mail-unmanaged-organisations`` mails every platform admin with an address (in their language)
once per occurrence: an ``unmanaged_organisation_notices`` row, inserted with ``ON CONFLICT DO
NOTHING`` (racing workers mail once), lives while the organisation stays without one; once it
has an access manager again or is disabled the row is deleted, so a later occurrence is mailed
again. ``GET /v1/organisations?without_access_manager=true`` lists them. The mail names the
organisation and its NIHDI number, with a link to appoint one.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select

from eam.access_managers.models import AccessManager
from eam.core.context import Context
from eam.core.database import upsert_ignore
from eam.core.enums import OrganisationStatus
from eam.notifications.mail import language_of, render
from eam.notifications.models import UnmanagedOrganisationNotice
from eam.notifications.smtp import EMAIL
from eam.organisations.models import Organisation
from eam.outbox.service import enqueue
from eam.users.service import platform_admin_users

#: Organisations handled per run (one short transaction); the next run goes on.
BATCH = 100
EVENT = "organisation.unmanaged"


async def mail_unmanaged_organisations(ctx: Context, *, limit: int = BATCH) -> int:
    """Mail the platform admins about each new occurrence; how many mails."""
    managed = exists().where(AccessManager.organisation_id == UnmanagedOrganisationNotice.organisation_id)
    inactive = exists().where(Organisation.id == UnmanagedOrganisationNotice.organisation_id, Organisation.status != OrganisationStatus.ACTIVE)
    ended = list(await ctx.session.scalars(select(UnmanagedOrganisationNotice.organisation_id).where(managed | inactive)))
    if ended:  # (read first: a round with nothing to change writes nothing, so it takes no write lock)
        await ctx.session.execute(delete(UnmanagedOrganisationNotice).where(UnmanagedOrganisationNotice.organisation_id.in_(ended)))
    if ctx.settings.smtp_url is None:
        return 0
    noticed = exists().where(UnmanagedOrganisationNotice.organisation_id == Organisation.id)
    unmanaged = list(
        await ctx.session.scalars(
            select(Organisation)
            .where(Organisation.status == OrganisationStatus.ACTIVE, ~exists().where(AccessManager.organisation_id == Organisation.id), ~noticed)
            .order_by(Organisation.id)
            .limit(limit)
        )
    )
    if not unmanaged:
        return 0
    admins = [admin for admin in await platform_admin_users(ctx.session, ctx.settings) if admin.email]
    mails = 0
    for org in unmanaged:
        won = await ctx.session.execute(
            upsert_ignore(ctx.session, UnmanagedOrganisationNotice.__table__)
            .values(organisation_id=org.id, noticed_at=ctx.now)
            .on_conflict_do_nothing(index_elements=["organisation_id"])
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            continue
        for admin in admins:
            payload = render(
                "organisation_unmanaged",
                language_of(admin),
                name=admin.display_name,
                organisation=org.name,
                nihdi=org.nihdi,
                link=f"{ctx.settings.issuer_url}/admin/organisations/{org.id}",
            )
            enqueue(ctx.session, ctx.now, channel=EMAIL, event=EVENT, recipient=admin.email or "", payload=payload)
            mails += 1
        ctx.audit.record("organisation.unmanaged_noticed", target_type="organisation", target_id=org.id, organisation_id=org.id, after={"mails": len(admins)})
    return mails
