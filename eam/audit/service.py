"""Reading the audit trail: access managers their organisations' events, platform admins all.

Read-only by design: nothing here (or anywhere) updates or deletes an event, and the database
refuses to.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from eam.audit.models import AuditEvent
from eam.audit.schemas import AuditEventOut
from eam.authz.vocabulary import org_domain
from eam.core.context import Context
from eam.core.errors import Forbidden
from eam.core.paging import fetch_page
from eam.organisations.models import Organisation
from eam.organisations.service import organisation_ref
from eam.users.models import User
from eam.users.schemas import UserRef, user_ref

#: Where an event's ``after`` names the person it is about: the requester of an access
#: request, the holder of an assignment, the person appointed access manager.
PERSON_KEYS = ("requester_id", "user_id")


@dataclass(frozen=True)
class AuditFilter:
    """Which events: each given field narrows the list (``since`` inclusive, ``until`` exclusive).

    ``person_id``: events by the person or about them (as requester, holder of access, access
    manager, or the person changed). ``register``: events about a register or about access to it.
    """

    organisation_id: uuid.UUID | None = None
    action: str | None = None
    target_id: str | None = None
    actor_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    register: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _about_person(person_id: uuid.UUID) -> ColumnElement[bool]:
    person = str(person_id)
    return or_(
        AuditEvent.actor_id == person_id,
        and_(AuditEvent.target_type == "user", AuditEvent.target_id == person),
        *[AuditEvent.after[key].as_string() == person for key in PERSON_KEYS],
    )


def _about_register(code: str) -> ColumnElement[bool]:
    return or_(
        and_(AuditEvent.target_type == "register", AuditEvent.target_id == code),
        AuditEvent.after["register"].as_string() == code,
    )


def readable(ctx: Context, wanted: AuditFilter) -> list[ColumnElement[bool]]:
    """The conditions selecting the events the caller may read that match ``wanted``: with an
    organisation, the caller must read that organisation's events; without one, access managers
    (and service clients, auditors) get their organisations', platform admins every event."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.organisation_id is not None:
        ctx.require(org_domain(wanted.organisation_id), "audit_event", "read")
        conditions.append(AuditEvent.organisation_id == wanted.organisation_id)
    elif (org_ids := ctx.readable_organisations("audit_event")) is not None:
        if not org_ids:
            raise Forbidden("only access managers, auditors and platform admins read audit events")
        conditions.append(AuditEvent.organisation_id.in_(org_ids))
    if wanted.action is not None:
        conditions.append(AuditEvent.action == wanted.action)
    if wanted.target_id is not None:
        conditions.append(AuditEvent.target_id == wanted.target_id)
    if wanted.actor_id is not None:
        conditions.append(AuditEvent.actor_id == wanted.actor_id)
    if wanted.person_id is not None:
        conditions.append(_about_person(wanted.person_id))
    if wanted.register is not None:
        conditions.append(_about_register(wanted.register))
    if wanted.since is not None:
        conditions.append(AuditEvent.occurred_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(AuditEvent.occurred_at < wanted.until)
    return conditions


async def list_events(ctx: Context, wanted: AuditFilter, limit: int, cursor: str | None) -> tuple[list[AuditEventOut], str | None]:
    """Events the caller may read that match ``wanted`` (:func:`readable`), newest first, each
    with its organisation (joined in the same query) and the person it is about (one query per page)."""
    stmt = select(AuditEvent, Organisation).outerjoin(Organisation, Organisation.id == AuditEvent.organisation_id)
    stmt = stmt.where(*readable(ctx, wanted))
    rows, next_cursor = await fetch_page(ctx.session, stmt.order_by(AuditEvent.id.desc()), limit, cursor)
    people = await _people(ctx, {person for event, _ in rows if (person := subject_id(event)) is not None})
    return [event_out(event, organisation, people.get(subject_id(event))) for event, organisation in rows], next_cursor


def subject_id(event: AuditEvent) -> uuid.UUID | None:
    """The person an event is about, when it is about one."""
    raw: Any = event.target_id if event.target_type == "user" else None
    if raw is None:
        snapshots = [snapshot for snapshot in (event.after, event.before) if snapshot]
        raw = next((snapshot[key] for snapshot in snapshots for key in PERSON_KEYS if snapshot.get(key)), None)
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


async def _people(ctx: Context, ids: set[uuid.UUID]) -> dict[uuid.UUID, UserRef]:
    if not ids:
        return {}
    return {user.id: user_ref(user) for user in await ctx.session.scalars(select(User).where(User.id.in_(ids)))}


def event_out(event: AuditEvent, organisation: Organisation | None = None, subject: UserRef | None = None) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor=event.actor,
        action=event.action,
        organisation_id=event.organisation_id,
        organisation=organisation_ref(organisation) if organisation is not None else None,
        target_type=event.target_type,
        target_id=event.target_id,
        subject=subject,
        before=event.before,
        after=event.after,
        http_request_id=event.http_request_id,
    )
