"""Issuing grant tokens: RFC 9068 JWT access tokens listing the caller's active assignments.

Business rules:
- only assignments that are active now (not scheduled, revoked or expired), in organisations
  that are not disabled, for the requested application; optionally narrowed to registers and
  organisations. None left: 403, and no token.
- the lifetime is the configured one, but never beyond the earliest ``valid_until`` among the
  assignments carried, so a token cannot outlive the access it states.
- ``sub`` is EAM's stable user id, never the national number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.assignments.models import Assignment, is_active
from eam.core.errors import FieldError, NoActiveAssignment, ValidationFailed
from eam.grant_tokens.schemas import GrantTokenOut, OrganisationClaim, RegisterAccess
from eam.core.enums import OrganisationStatus
from eam.organisations.models import Organisation
from eam.organisations.numbers import normalise_nihdi
from eam.core.settings import Settings
from eam.signing_keys.keyring import KeyRing
from eam.tokens.signer import access_token_claims, sign_access_token

#: An assignment ending within this is left out: ``exp`` has whole seconds and must not pass it.
MIN_REMAINING = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Selector:
    """One slice of the user's access: a register, an organisation (id or NIHDI), or both."""

    register: str | None = None
    organisation: str | None = None


def utc_text(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def register_access(assignment: Assignment, org: Organisation) -> RegisterAccess:
    return RegisterAccess(
        organisation=OrganisationClaim(id=str(org.id), nihdi=org.nihdi),
        register=assignment.register_code,
        role=assignment.role,
        data_level=assignment.data_level,
        author_group=assignment.author_group if not assignment.data_level else None,
        assignment_id=str(assignment.id),
        valid_until=utc_text(assignment.valid_until),
    )


def _organisation_condition(value: str, field: str) -> object:
    try:
        return Organisation.id == uuid.UUID(value.strip())
    except ValueError:
        pass
    nihdi = normalise_nihdi(value)
    if nihdi is None:
        raise ValidationFailed(
            "the organisation is neither an id nor a NIHDI number",
            [FieldError(field, "give the organisation's id (UUID) or its 8-digit NIHDI number")],
        )
    return Organisation.nihdi == nihdi


async def active_register_access(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    application: str,
    selectors: list[Selector],
    now: dt.datetime,
) -> list[tuple[Assignment, Organisation]]:
    stmt = (
        select(Assignment, Organisation)
        .join(Organisation, Organisation.id == Assignment.organisation_id)
        .where(
            Assignment.user_id == user_id,
            Assignment.application == application,
            is_active(now),
            or_(Assignment.valid_until.is_(None), Assignment.valid_until >= now + MIN_REMAINING),
            Organisation.status == OrganisationStatus.ACTIVE,
        )
        .order_by(Organisation.nihdi, Assignment.register_code, Assignment.id)
    )
    conditions = []
    for selector in selectors:
        parts = []
        if selector.register is not None:
            parts.append(Assignment.register_code == selector.register)
        if selector.organisation is not None:
            parts.append(_organisation_condition(selector.organisation, "$.organisation"))
        conditions.append(parts)
    if conditions and all(conditions):  # a selector without parts selects everything
        stmt = stmt.where(or_(*(and_(*parts) for parts in conditions)))
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def issue_grant_token(
    session: AsyncSession,
    keyring: KeyRing,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    application: str,
    selectors: list[Selector],
    client_id: str,
    now: dt.datetime,
) -> GrantTokenOut:
    rows = await active_register_access(
        session, user_id=user_id, application=application, selectors=selectors, now=now
    )
    if not rows:
        raise NoActiveAssignment(f"you hold no active assignment for {application} that matches this request")
    ends = [assignment.valid_until for assignment, _ in rows if assignment.valid_until is not None]
    claims = access_token_claims(
        issuer=settings.issuer_url,
        subject=str(user_id),
        audience=application,
        client_id=client_id,
        now=now,
        lifetime_seconds=settings.grant_token_ttl_seconds,
        not_after=min(ends) if ends else None,
    )
    details = [register_access(assignment, org) for assignment, org in rows]
    claims["authorization_details"] = msgspec.to_builtins(details)
    token = await sign_access_token(session, keyring, claims)
    expires_in = claims["exp"] - claims["iat"]
    return GrantTokenOut(access_token=token, expires_in=expires_in, grant_id=claims["jti"], authorization_details=details)
