"""How many people hold access to a register now, per organisation: the figures of a register's
record of processing (GDPR Art. 30).

A person holds access to a register now when they have an assignment to it that is in force now
(:func:`eam.assignments.models.is_active`: not revoked, started, not ended), the people
``GET /v1/registers/{code}/holders`` lists without ``as_of``. Someone with access through two
applications, or with a scheduled assignment only, counts once, or not at all.

Counts are shown per organisation only for organisations whose assignments the caller may read
(access managers: theirs; platform admins and service clients with ``assignments:read``: all),
the rule of the holders list; anyone signed in reads the register's record itself. All counts
come from one grouped query on ``ix_assignments_register_status`` (register, status,
organisation, person), paged by organisation name, so a register held in thousands of
organisations by a million assignments is answered without loading them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, distinct, func, select

from eam.assignments.models import Assignment, is_active
from eam.catalogue.schemas import RegisterOut
from eam.catalogue.service import show_register
from eam.core.context import Context
from eam.core.errors import Forbidden, NotFound
from eam.core.paging import fetch_page
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import organisation_ref


class HolderTotals(msgspec.Struct, frozen=True):
    """The register's holders now, in the organisations the caller may read."""

    as_of: dt.datetime
    #: True: every organisation is counted; False: only those whose assignments you may read.
    all_organisations: bool
    #: People holding access now (each once, whatever the organisation or application).
    holders: int
    #: Organisations with at least one holder (listed at ``holder_counts``).
    organisations: int
    #: Where the count per organisation is, a page at a time.
    holder_counts: str


class RegisterDetail(RegisterOut, frozen=True):
    #: None when you may read no organisation's assignments.
    holders: HolderTotals | None = None


class OrganisationHolders(msgspec.Struct, frozen=True):
    organisation: OrganisationRef
    #: People holding access to the register now in this organisation.
    holders: int


def _holding(ctx: Context, register: str, organisations: list[uuid.UUID] | None) -> Select[Any]:
    """Assignments to ``register`` in force now, in ``organisations`` (None: all)."""
    stmt = select(Assignment.organisation_id, Assignment.user_id).where(Assignment.register_code == register, is_active(ctx.now))
    if organisations is not None:
        stmt = stmt.where(Assignment.organisation_id.in_(organisations))
    return stmt


async def register_detail(ctx: Context, code: str) -> RegisterDetail:
    """The register with its record, and its holders now where the caller may read them."""
    register = await show_register(ctx, code)
    totals: HolderTotals | None = None
    organisations = ctx.readable_organisations("assignment")
    if organisations != []:
        holding = _holding(ctx, code, organisations).subquery()
        people, places = (
            await ctx.session.execute(select(func.count(distinct(holding.c.user_id)), func.count(distinct(holding.c.organisation_id))))
        ).one()
        totals = HolderTotals(
            as_of=ctx.now,
            all_organisations=organisations is None,
            holders=people,
            organisations=places,
            holder_counts=f"/v1/registers/{code}/holder-counts",
        )
    return RegisterDetail(**msgspec.structs.asdict(register), holders=totals)


async def holder_counts(ctx: Context, code: str, limit: int, cursor: str | None) -> tuple[list[OrganisationHolders], str | None]:
    """Organisations holding access to register ``code`` now, by name, with how many people hold
    it in each; only organisations whose assignments the caller may read."""
    organisations = ctx.readable_organisations("assignment")
    if organisations == []:
        raise Forbidden("only access managers (their organisations) and platform admins see who holds a register")
    if await ctx.catalogue.find_register(ctx.session, code) is None:
        raise NotFound(f"no register {code!r}")
    holding = _holding(ctx, code, organisations).subquery()
    counts = (
        select(holding.c.organisation_id, func.count(distinct(holding.c.user_id)).label("holders"))
        .group_by(holding.c.organisation_id)
        .subquery()
    )
    stmt = (
        select(Organisation, counts.c.holders)
        .join(counts, counts.c.organisation_id == Organisation.id)
        .order_by(Organisation.search_name, Organisation.id)
    )
    rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return [OrganisationHolders(organisation=organisation_ref(org), holders=holders) for org, holders in rows], next_cursor

