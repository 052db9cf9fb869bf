"""An organisation disabled ends its access.

Decision: disabling revokes, in the same transaction, every live assignment of the organisation
(reason :data:`DISABLED_REASON`, one ``assignment.revoked`` event each, policy rows dropped).
Its pending requests stay as they are: a disabled organisation accepts no decision
(:func:`eam.organisations.service.check_active`), so they expire unless it is enabled again
in time. Introspection already refused tokens of a disabled
organisation; revoking makes every view (holders, registers, a person's access) say so too, and
lets revocation events reach applications. Re-enabling does not restore access: it is asked for
and granted again, by access managers who know who still works there.
"""

from __future__ import annotations

import uuid

from eam.assignments.models import Assignment
from eam.core.context import Context
from eam.core.enums import OrganisationStatus
from eam.lifecycle.endings import revoke_live
from eam.organisations import service
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationPatch

DISABLED_REASON = "The organisation was disabled."


async def update_organisation(ctx: Context, organisation_id: uuid.UUID, data: OrganisationPatch) -> Organisation:
    """:func:`eam.organisations.service.update_organisation`, ending access when it disables."""
    before = (await service.get_organisation(ctx, organisation_id)).status
    org = await service.update_organisation(ctx, organisation_id, data)
    if before != OrganisationStatus.DISABLED and org.status == OrganisationStatus.DISABLED:
        await revoke_live(ctx, Assignment.organisation_id == org.id, DISABLED_REASON)
    return org
