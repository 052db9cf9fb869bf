"""What EAM holds now for the people and organisations an import names, read in a few batches.

A plan for 10,000 lines must not cost queries per line: organisations, people, how people are
related to organisations (memberships, access, requests, roles), access managers, live
assignments and pending requests are each read with ``IN`` lists of at most :data:`BATCH` values,
whatever the file's size.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment, is_live
from eam.core.enums import RequestStatus
from eam.organisations.models import Organisation
from eam.users.directory import related_pairs
from eam.users.models import User
from eam.users.people import SIGNED_IN_FIRST

BATCH = 1000
#: (organisation, person, application, register): one access.
AccessKey = tuple[uuid.UUID, uuid.UUID, str, str]


def batches(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


@dataclass
class Holdings:
    organisations: dict[str, Organisation] = field(default_factory=dict)
    by_number: dict[str, User] = field(default_factory=dict)
    by_id: dict[uuid.UUID, User] = field(default_factory=dict)
    related: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    managers: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    live: dict[AccessKey, Assignment] = field(default_factory=dict)
    pending: dict[AccessKey, AccessRequest] = field(default_factory=dict)


async def read_holdings(session: Any, now: dt.datetime, nihdis: set[str], digests: set[str], person_ids: set[uuid.UUID]) -> Holdings:
    held = Holdings()
    for chunk in batches(nihdis):
        held.organisations.update((org.nihdi, org) for org in await session.scalars(select(Organisation).where(Organisation.nihdi.in_(chunk))))
    for chunk in batches(digests):
        rows = await session.scalars(select(User).where(User.national_number_hash.in_(chunk)).order_by(*SIGNED_IN_FIRST))
        for user in rows:
            held.by_number.setdefault(user.national_number_hash, user)  # type: ignore[arg-type]
    for chunk in batches(person_ids):
        held.by_id.update((user.id, user) for user in await session.scalars(select(User).where(User.id.in_(chunk))))
    users = {user.id for user in (*held.by_number.values(), *held.by_id.values())}
    organisations = [org.id for org in held.organisations.values()]
    if not users or not organisations:
        return held
    for chunk in batches(users):
        held.related |= await related_pairs(session, chunk, organisations)
        managers = await session.execute(select(AccessManager.organisation_id, AccessManager.user_id).where(AccessManager.user_id.in_(chunk)))
        held.managers |= {(organisation_id, user_id) for organisation_id, user_id in managers}
        for assignment in await session.scalars(select(Assignment).where(Assignment.user_id.in_(chunk), is_live(now))):
            held.live[_key(assignment.organisation_id, assignment.user_id, assignment)] = assignment
        pending = select(AccessRequest).where(
            AccessRequest.requester_id.in_(chunk), AccessRequest.status == RequestStatus.PENDING, AccessRequest.expires_at > now
        )
        for request in await session.scalars(pending):
            held.pending[_key(request.organisation_id, request.requester_id, request)] = request
    return held


def _key(organisation_id: uuid.UUID, user_id: uuid.UUID, row: Any) -> AccessKey:
    return (organisation_id, user_id, row.application, row.register_code)


def profile_tuple(row: Any) -> tuple[str, str | None, str | None]:
    return (row.role, row.data_level, row.author_group)
