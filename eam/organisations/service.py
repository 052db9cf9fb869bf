"""Organisations: created and disabled by platform admins, found by employees, never deleted."""

from __future__ import annotations

import uuid

from rapidfuzz import fuzz
from sqlalchemy import Select, exists, or_, select

from eam.authz.vocabulary import PLATFORM_DOMAIN, org_domain
from eam.core.errors import AlreadyExists, FieldError, NotFound, OrganisationDisabled, ValidationFailed
from eam.access_managers.models import AccessManager
from eam.organisations.models import Organisation
from eam.core.enums import OrganisationStatus
from eam.organisations.numbers import format_kbo, normalise_kbo, normalise_nihdi
from eam.organisations.search import query_keys, search_key
from eam.organisations.schemas import OrganisationCreate, OrganisationOut, OrganisationPatch, OrganisationRef
from eam.core.context import Context
from eam.core.paging import fetch_page


def organisation_out(org: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=org.id,
        name=org.name,
        nihdi=org.nihdi,
        kbo=org.kbo,
        kbo_formatted=format_kbo(org.kbo) if org.kbo else None,
        status=org.status,  # type: ignore[arg-type]
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


def organisation_ref(org: Organisation) -> OrganisationRef:
    return OrganisationRef(id=org.id, name=org.name, nihdi=org.nihdi, status=org.status)


def _checked_kbo(value: str) -> str:
    kbo = normalise_kbo(value)
    if kbo is None:
        raise ValidationFailed(
            "invalid enterprise number",
            [FieldError("$.kbo", "must be a Belgian enterprise number (10 digits, valid check digits), e.g. 0403.170.701")],
        )
    return kbo


async def create_organisation(ctx: Context, data: OrganisationCreate) -> Organisation:
    ctx.require(PLATFORM_DOMAIN, "organisation", "create")
    errors = []
    nihdi = normalise_nihdi(data.nihdi)
    if nihdi is None:
        errors.append(FieldError("$.nihdi", "must be an 8-digit NIHDI number"))
    kbo = None
    if data.kbo is not None:
        kbo = normalise_kbo(data.kbo)
        if kbo is None:
            errors.append(FieldError("$.kbo", "must be a Belgian enterprise number (10 digits, valid check digits)"))
    name = data.name.strip()
    if not name:
        errors.append(FieldError("$.name", "must not be blank"))
    if errors:
        raise ValidationFailed("invalid organisation", errors)
    await _refuse_duplicates(ctx, nihdi=nihdi, kbo=kbo)
    org = Organisation(nihdi=nihdi, kbo=kbo, status=OrganisationStatus.ACTIVE, created_at=ctx.now, updated_at=ctx.now)
    org.set_name(name)
    ctx.session.add(org)
    await ctx.session.flush()
    ctx.audit.record("organisation.created", target_type="organisation", target_id=org.id, organisation_id=org.id, after=org.snapshot())
    return org


async def _refuse_duplicates(ctx: Context, *, nihdi: str | None, kbo: str | None, exclude: uuid.UUID | None = None) -> None:
    for column, value in ((Organisation.nihdi, nihdi), (Organisation.kbo, kbo)):
        if value is None:
            continue
        existing = await ctx.session.scalar(select(Organisation).where(column == value))
        if existing is not None and existing.id != exclude:
            raise AlreadyExists(
                f"an organisation with {column.key.upper()} {value} exists already: {existing.name}",
                existing=f"/v1/organisations/{existing.id}",
            )


async def get_organisation(ctx: Context, organisation_id: uuid.UUID, *, for_update: bool = False) -> Organisation:
    ctx.require(org_domain(organisation_id), "organisation", "read")
    stmt = select(Organisation).where(Organisation.id == organisation_id)
    if for_update:
        stmt = stmt.with_for_update()
    org = await ctx.session.scalar(stmt)
    if org is None:
        raise NotFound(f"no organisation {organisation_id}")
    return org


async def require_active(ctx: Context, organisation_id: uuid.UUID) -> Organisation:
    return check_active(await get_organisation(ctx, organisation_id))


def check_active(org: Organisation) -> Organisation:
    """A disabled organisation accepts no requests and no decisions."""
    if org.status != OrganisationStatus.ACTIVE:
        raise OrganisationDisabled(f"{org.name} ({org.nihdi}) is disabled and accepts no requests")
    return org


async def require_active_reference(ctx: Context, organisation_id: uuid.UUID, field: str = "$.organisation_id") -> Organisation:
    """The active organisation a request body names; an unknown one is an invalid field (422), not a missing URL (404)."""
    try:
        return await require_active(ctx, organisation_id)
    except NotFound:
        raise ValidationFailed(
            "unknown organisation", [FieldError(field, "no such organisation; find it with GET /v1/organisations?q=")]
        ) from None


async def update_organisation(ctx: Context, organisation_id: uuid.UUID, data: OrganisationPatch) -> Organisation:
    ctx.require(org_domain(organisation_id), "organisation", "update")
    org = await get_organisation(ctx, organisation_id, for_update=True)
    before = org.snapshot()
    if data.name is not None:
        name = data.name.strip()
        if not name:
            raise ValidationFailed("invalid organisation", [FieldError("$.name", "must not be blank")])
        org.set_name(name)
    if data.kbo is not None:
        kbo = _checked_kbo(data.kbo)
        await _refuse_duplicates(ctx, nihdi=None, kbo=kbo, exclude=org.id)
        org.kbo = kbo
    status_change = data.status is not None and data.status != org.status
    if data.status is not None:
        org.status = data.status
    if org.snapshot() == before:
        return org
    org.updated_at = ctx.now
    await ctx.session.flush()
    action = "organisation.updated"
    if status_change:
        action = "organisation.disabled" if org.status == OrganisationStatus.DISABLED else "organisation.enabled"
    ctx.audit.record(action, target_type="organisation", target_id=org.id, organisation_id=org.id, before=before, after=org.snapshot())
    return org


async def search(
    ctx: Context, q: str | None, status: str | None, limit: int, cursor: str | None, *, without_access_manager: bool = False
) -> tuple[list[Organisation], str | None]:
    """Find organisations (anyone signed in may, to name the one they ask access at).

    ``without_access_manager``: only active organisations that have no access manager (which
    appointing and removing never leave, but a data migration or an import can): nobody there
    can decide a request, so platform admins are shown them to appoint one."""
    ctx.require(PLATFORM_DOMAIN, "organisation", "search")
    stmt = search_statement(q, status)
    if without_access_manager:
        stmt = stmt.where(Organisation.status == OrganisationStatus.ACTIVE, ~exists().where(AccessManager.organisation_id == Organisation.id))
    return await fetch_page(ctx.session, stmt, limit, cursor)


async def search_tolerant(ctx: Context, q: str, status: str | None, limit: int) -> tuple[list[Organisation], bool]:
    """Organisations for a person typing a name: exact matches (:func:`search_statement`) or,
    when there are none, the names closest to what was typed despite typos ("sint jna brugee").

    Returns the organisations and whether they are approximate. Candidates are names sharing a
    three-letter run with the query (a bounded read), ranked by RapidFuzz's partial ratio.
    """
    found, _ = await search(ctx, q, status, limit, None)
    if found:
        return found, False
    key = search_key(q)
    if len(key) < 4:
        return [], False
    trigrams = list(dict.fromkeys(key[index : index + 3] for index in range(len(key) - 2)))[:FUZZY_TRIGRAMS]
    stmt = select(Organisation).where(or_(*[Organisation.search_key.contains(trigram, autoescape=True) for trigram in trigrams]))
    if status:
        stmt = stmt.where(Organisation.status == status)
    candidates = list(await ctx.session.scalars(stmt.limit(FUZZY_CANDIDATES)))
    scored = [(fuzz.partial_ratio(key, org.search_key), org) for org in candidates]
    close = sorted((item for item in scored if item[0] >= FUZZY_CUTOFF), key=lambda item: (-item[0], item[1].search_name))
    return [org for _, org in close[:limit]], True


#: Typo-tolerant search: how many three-letter runs of the query are looked for, how many names
#: are ranked at most, and the least similarity (0-100) of a name shown.
FUZZY_TRIGRAMS = 24
FUZZY_CANDIDATES = 2000
FUZZY_CUTOFF = 75


def search_statement(q: str | None, status: str | None) -> Select[tuple[Organisation]]:
    """Match by NIHDI number, enterprise number (any spelling) or part of the name, the name
    ignoring case, accents, punctuation and spaces (:mod:`eam.organisations.search`). A query of
    punctuation only ("%") is looked for as written."""
    stmt = select(Organisation)
    if q:
        q = q.strip()
        keys = query_keys(q)
        conditions = [Organisation.search_key.contains(key, autoescape=True) for key in keys]
        if not keys:
            conditions.append(Organisation.search_name.contains(q.casefold(), autoescape=True))
        digits = "".join(ch for ch in q if ch.isdigit())
        if digits and len(digits) >= 3 and all(ch.isdigit() or ch in " ./-BEbe" for ch in q):
            conditions.append(Organisation.nihdi.startswith(digits, autoescape=True))
            conditions.append(Organisation.kbo.startswith(digits, autoescape=True))
            if len(digits) == 9:
                conditions.append(Organisation.kbo == "0" + digits)
        stmt = stmt.where(or_(*conditions))
    if status:
        stmt = stmt.where(Organisation.status == status)
    return stmt.order_by(Organisation.search_name, Organisation.id)
