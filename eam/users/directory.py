"""The people directory: find a person by name or e-mail address, to appoint or grant to them.

Who may look whom up (the same rule for the API and the pages): platform admins and auditors
with platform-wide reading find everyone; an access manager finds the people related to the
organisations they manage (holders of access there, people who asked for access there, its
access managers, its auditors and the people its access managers registered, signed in or not
yet), and an auditor those of the organisations they audit; others
find no one. Service accounts are not people and never listed.
The national number is never part of a search or an answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, or_, select, union

from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment
from eam.auditors.models import Auditor
from eam.core.context import Context
from eam.core.database import literal_like
from eam.core.errors import Forbidden
from eam.core.paging import fetch_page
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import organisation_ref
from eam.service_clients.tokens import SERVICE_CLIENT_ISSUER
from eam.users.models import PREPARED_ISSUER, Membership, User


class PersonOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    display_name: str
    email: str | None
    #: The organisations (among those the caller may see) the person holds access at, asked
    #: access at or manages.
    organisations: list[OrganisationRef]
    #: False for a person registered by an access manager who has not signed in yet: access
    #: prepared for them waits for their first sign-in.
    signed_in: bool = True


def _memberships(organisation_ids: list[uuid.UUID] | None) -> Select[tuple[uuid.UUID, uuid.UUID]]:
    """(person, organisation) pairs that relate a person to an organisation."""
    parts = [
        select(Assignment.user_id.label("user_id"), Assignment.organisation_id.label("organisation_id")),
        select(AccessRequest.requester_id.label("user_id"), AccessRequest.organisation_id.label("organisation_id")),
        select(AccessManager.user_id.label("user_id"), AccessManager.organisation_id.label("organisation_id")),
        select(Membership.user_id.label("user_id"), Membership.organisation_id.label("organisation_id")),
        select(Auditor.user_id.label("user_id"), Auditor.organisation_id.label("organisation_id")),
    ]
    if organisation_ids is not None:
        parts = [part.where(part.selected_columns.organisation_id.in_(organisation_ids)) for part in parts]
    related = union(*parts).subquery()
    return select(related.c.user_id, related.c.organisation_id)  # type: ignore[return-value]


async def related_pairs(session: Any, people: list[uuid.UUID], organisation_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(organisation, person) pairs among these that relate the person to the organisation."""
    related = _memberships(organisation_ids).subquery()
    rows = await session.execute(select(related.c.organisation_id, related.c.user_id).where(related.c.user_id.in_(people)))
    return {(organisation_id, user_id) for organisation_id, user_id in rows}


async def related_people(session: Any, organisation_id: uuid.UUID) -> list[User]:
    """Everyone related to the organisation (members, access managers, holders, requesters), by name."""
    related = _memberships([organisation_id]).subquery()
    people = await session.scalars(select(User).where(User.id.in_(select(related.c.user_id))).order_by(User.display_name, User.id))
    return list(people)


def _findable(ctx: Context) -> tuple[Select[tuple[User]], list[uuid.UUID] | None]:
    """The people the caller may find, and the organisations that limit them (None: all)."""
    organisation_ids = ctx.readable_organisations("person")
    if organisation_ids == []:
        raise Forbidden("only access managers, auditors and platform admins can look people up")
    stmt = select(User).where(User.issuer != SERVICE_CLIENT_ISSUER)
    if organisation_ids is not None:
        related = _memberships(organisation_ids).subquery()
        stmt = stmt.where(User.id.in_(select(related.c.user_id)))
    return stmt, organisation_ids


async def _people_out(ctx: Context, people: list[User], organisation_ids: list[uuid.UUID] | None) -> list[PersonOut]:
    organisations = await _organisations_of(ctx, [person.id for person in people], organisation_ids)
    return [
        PersonOut(
            id=person.id,
            display_name=person.display_name,
            email=person.email,
            organisations=organisations.get(person.id, []),
            signed_in=person.issuer != PREPARED_ISSUER,
        )
        for person in people
    ]


async def search_people(ctx: Context, q: str | None, limit: int, cursor: str | None) -> tuple[list[PersonOut], str | None]:
    """People whose name or e-mail address contains ``q`` (ignoring case), by name."""
    stmt, organisation_ids = _findable(ctx)
    if q and q.strip():
        needle = q.strip().casefold()
        stmt = stmt.where(or_(User.display_name.ilike(f"%{literal_like(needle)}%", escape="\\"), User.email.ilike(f"%{literal_like(needle)}%", escape="\\")))
    stmt = stmt.order_by(User.display_name, User.id)
    people, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return await _people_out(ctx, list(people), organisation_ids), next_cursor


async def find_person(ctx: Context, person_id: uuid.UUID) -> PersonOut | None:
    """One person by id, if the caller may find them (the same rule as :func:`search_people`)."""
    stmt, organisation_ids = _findable(ctx)
    person = await ctx.session.scalar(stmt.where(User.id == person_id))
    return (await _people_out(ctx, [person], organisation_ids))[0] if person is not None else None


async def _organisations_of(
    ctx: Context, people: list[uuid.UUID], organisation_ids: list[uuid.UUID] | None
) -> dict[uuid.UUID, list[OrganisationRef]]:
    if not people:
        return {}
    related = _memberships(organisation_ids).subquery()
    rows = await ctx.session.execute(
        select(related.c.user_id, Organisation)
        .join(Organisation, Organisation.id == related.c.organisation_id)
        .where(related.c.user_id.in_(people))
        .order_by(Organisation.search_name)
    )
    found: dict[uuid.UUID, list[OrganisationRef]] = {}
    for user_id, organisation in rows:
        found.setdefault(user_id, []).append(organisation_ref(organisation))
    return found
