"""Who could see a register at a moment: the point-in-time answer for a data protection officer.

An assignment gave access at ``T`` when it existed then (``created_at <= T``), had started
(``valid_from <= T``), had not ended (no end date, or one after ``T``; an end date is never
moved to before the time it is changed) and had not been revoked by then. Its profile at ``T``
is the one its last change up to ``T`` left (the audit trail records each change's result with
the change), not necessarily today's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment
from eam.audit.models import AuditEvent
from eam.catalogue.schemas import Profile, profile_of
from eam.core.context import Context
from eam.core.errors import Forbidden, NotFound
from eam.core.paging import fetch_page
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import organisation_ref
from eam.users.models import User
from eam.users.schemas import UserRef, user_ref

Holder = aliased(User)
Granter = aliased(User)
#: Audit actions whose ``after`` is an assignment's state from then on.
STATE_ACTIONS = ("assignment.created", "assignment.changed")


class HolderOut(msgspec.Struct, frozen=True):
    assignment_id: uuid.UUID
    person: UserRef
    organisation: OrganisationRef
    application: str
    register: str
    #: The profile held at the moment asked about.
    profile: Profile
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    granted_at: dt.datetime
    #: Who approved the request or granted it directly (None: EAM itself, e.g. demo data).
    granted_by: UserRef | None
    #: The justification of the request it was approved on (None: granted directly).
    justification: str | None


def holders_statement(ctx: Context, register: str, as_of: dt.datetime) -> Select[Any]:
    stmt = (
        select(Assignment, Holder, Organisation, Granter, AccessRequest.justification)
        .join(Holder, Holder.id == Assignment.user_id)
        .join(Organisation, Organisation.id == Assignment.organisation_id)
        .outerjoin(Granter, Granter.id == Assignment.created_by)
        .outerjoin(AccessRequest, AccessRequest.id == Assignment.request_id)
        .where(
            Assignment.register_code == register,
            Assignment.created_at <= as_of,
            Assignment.valid_from <= as_of,
            or_(Assignment.valid_until.is_(None), Assignment.valid_until > as_of),
            or_(Assignment.revoked_at.is_(None), Assignment.revoked_at > as_of),
        )
    )
    organisations = ctx.readable_organisations("assignment")
    if organisations is not None:
        stmt = stmt.where(Assignment.organisation_id.in_(organisations))
    return stmt.order_by(Assignment.id)


async def holders(ctx: Context, register: str, as_of: dt.datetime | None, limit: int, cursor: str | None) -> tuple[list[HolderOut], str | None]:
    """Holders of ``register`` at ``as_of`` (default: now), a page at a time; access managers and
    auditors see their organisations', platform admins and platform-wide auditors everyone's."""
    if ctx.readable_organisations("assignment") == []:
        raise Forbidden("only access managers and auditors (their organisations) and platform admins see who holds a register")
    if await ctx.catalogue.find_register(ctx.session, register) is None:
        raise NotFound(f"no register {register!r}")
    moment = as_of or ctx.now
    rows, next_cursor = await fetch_page(ctx.session, holders_statement(ctx, register, moment), limit, cursor)
    profiles = await _profiles_at(ctx, [row[0].id for row in rows], moment)
    return [
        HolderOut(
            assignment_id=assignment.id,
            person=user_ref(holder),
            organisation=organisation_ref(org),
            application=assignment.application,
            register=assignment.register_code,
            profile=profiles.get(assignment.id, profile_of(assignment)),
            valid_from=assignment.valid_from,
            valid_until=assignment.valid_until,
            granted_at=assignment.created_at,
            granted_by=user_ref(granter) if granter is not None else None,
            justification=justification,
        )
        for assignment, holder, org, granter, justification in rows
    ], next_cursor


async def _profiles_at(ctx: Context, ids: list[uuid.UUID], moment: dt.datetime) -> dict[uuid.UUID, Profile]:
    """Each assignment's profile as its last recorded change up to ``moment`` left it."""
    if not ids:
        return {}
    events = await ctx.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "assignment",
            AuditEvent.target_id.in_([str(i) for i in ids]),
            AuditEvent.action.in_(STATE_ACTIONS),
            AuditEvent.occurred_at <= moment,
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    found: dict[uuid.UUID, Profile] = {}
    for event in events:  # later events overwrite earlier ones
        state = event.after or {}
        found[uuid.UUID(event.target_id)] = Profile(role=str(state.get("role")), data_level=state.get("data_level"), author_group=state.get("author_group"))
    return found

