"""Assignments: created by approval or directly, changed in place, revoked with a reason.

Each live assignment has exactly one ``p2`` Casbin row, written and removed through the same
session as the assignment itself. The row is identified by user × organisation ×
application:register, so a change replaces it whatever the old profile was.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import aliased

from eam.assignments import duties
from eam.assignments.models import Assignment, is_active, is_live, new_id
from eam.core.enums import AssignmentStatus

from eam.assignments.schemas import AssignmentCreate, AssignmentOut, AssignmentPatch, RevokeIn
from eam.core.audit import EXPIRY, Auditor
from eam.authz.policy_store import PolicyStore
from eam.authz.vocabulary import profile_action
from eam.catalogue.loader import ProfileSpec
from eam.catalogue.schemas import profile_of
from eam.core.errors import AlreadyAssigned, AssignmentNotActive, FieldError, NotFound, ValidationFailed
from eam.organisations.models import Organisation
from eam.organisations.service import organisation_ref, require_active_reference
from eam.users.models import User
from eam.users.schemas import user_ref
from eam.core.context import Context

Holder = aliased(User)
Creator = aliased(User)
Revoker = aliased(User)
#: An assignment as :func:`assignment_out` shows it: with its holder, organisation, and the
#: people who created and revoked it (None for EAM itself, or not revoked).
AssignmentRow = tuple[Assignment, User, Organisation, User | None, User | None]


async def hold_register_access(policies: PolicyStore, assignment: Assignment, *, first: bool = False) -> None:
    """Ask authz to hold the assignment's register access as it now stands (``first``: no live
    assignment held this access before, so there is no older row to replace)."""
    await policies.grant_register_access(
        assignment.user_id,
        assignment.organisation_id,
        assignment.application,
        assignment.register_code,
        role=assignment.role,
        data_level=assignment.data_level,
        author_group=assignment.author_group,
        valid_from=assignment.valid_from,
        valid_until=assignment.valid_until,
        first=first,
    )


async def drop_register_access(policies: PolicyStore, assignment: Assignment) -> None:
    await policies.revoke_register_access(
        assignment.user_id, assignment.organisation_id, assignment.application, assignment.register_code
    )


def assignment_out(row: Sequence[Any], now: dt.datetime) -> AssignmentOut:
    assignment, user, org, creator, revoker = row
    return AssignmentOut(
        id=assignment.id,
        status=assignment.effective_status(now),  # type: ignore[arg-type]
        user=user_ref(user),
        organisation=organisation_ref(org),
        application=assignment.application,
        register=assignment.register_code,
        profile=profile_of(assignment),
        valid_from=assignment.valid_from,
        valid_until=assignment.valid_until,
        request_id=assignment.request_id,
        created_at=assignment.created_at,
        created_by=user_ref(creator) if creator is not None else None,
        updated_at=assignment.updated_at,
        revoked_at=assignment.revoked_at,
        revoked_by=user_ref(revoker) if revoker is not None else None,
        revoke_reason=assignment.revoke_reason,
    )


def check_end_date(valid_until: dt.datetime | None, after: dt.datetime, field: str = "$.valid_until") -> None:
    if valid_until is not None and valid_until <= after:
        raise ValidationFailed("the end date is in the past", [FieldError(field, f"must be after {after.isoformat()}")])


#: The active assignments (at most one) of a user for one access; built once, values bound per call.
_ACTIVE_FOR_ACCESS = select(Assignment).where(
    Assignment.user_id == bindparam("user_id"),
    Assignment.organisation_id == bindparam("organisation_id"),
    Assignment.application == bindparam("application"),
    Assignment.register_code == bindparam("register"),
    Assignment.status == AssignmentStatus.ACTIVE,
)


async def live_assignment(ctx: Context, user_id: uuid.UUID, organisation_id: uuid.UUID, application: str, register: str) -> Assignment | None:
    """The user's active assignment for this access, after retiring one that has run out.

    One read: the active row for this user × organisation × application × register; if its end
    date has passed, it is expired here (audited, policy row dropped) and there is none.
    """
    params = {"user_id": user_id, "organisation_id": organisation_id, "application": application, "register": register}
    held = (await ctx.session.scalars(_ACTIVE_FOR_ACCESS, params)).all()
    due = [assignment for assignment in held if assignment.valid_until is not None and assignment.valid_until <= ctx.now]
    await _expire(ctx.session, ctx.now, due)
    return next((assignment for assignment in held if assignment not in due), None)


async def grant(
    ctx: Context,
    *,
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    application: str,
    register: str,
    profile: ProfileSpec,
    author_group: str | None,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None,
    request_id: uuid.UUID | None,
    assignment_id: uuid.UUID | None = None,
    origin: dict[str, str] | None = None,
    known_unheld: bool = False,
) -> Assignment:
    """Create an assignment and its policy row; refuse a second live one for the same access,
    and a profile that breaks a separation of duties (:mod:`eam.assignments.duties`). Its end is
    capped at the register's end; a register that has ended gives none (409 ``register-closed``).

    ``assignment_id``: the id to give it, when the caller has already recorded it (an approval
    writes it into the decided request). ``origin``: recorded with the audit event (an import
    that pre-approved it). ``known_unheld``: the caller read in this transaction that no live
    assignment holds this access (an import's plan reads them all at once); the unique index on
    live assignments still refuses a second one, and the plan has checked the separation of
    duties against what is held and against the file's other lines.
    """
    valid_until = await ctx.catalogue.capped_end(ctx.session, register, valid_until, ctx.now)
    if valid_until is not None and valid_until <= valid_from:  # only when capped at the register's end
        raise ValidationFailed("the access would start after the register ends", [FieldError("$.valid_from", f"must be before {valid_until.isoformat()}")])
    existing = None if known_unheld else await live_assignment(ctx, user_id, organisation_id, application, register)
    if existing is not None:
        raise AlreadyAssigned(
            f"the user already holds {application}/{register} here as {profile_action(existing.role, existing.data_level, existing.author_group)}; change that assignment instead",
            existing=f"/v1/assignments/{existing.id}",
        )
    if not known_unheld:
        await duties.check(
            ctx, user_id=user_id, organisation_id=organisation_id, application=application, register=register, role=profile.role, data_level=profile.data_level
        )
    assignment = Assignment(
        id=assignment_id or new_id(),
        user_id=user_id,
        organisation_id=organisation_id,
        application=application,
        register_code=register,
        role=profile.role,
        data_level=profile.data_level,
        author_group=author_group,
        valid_from=valid_from,
        valid_until=valid_until,
        status=AssignmentStatus.ACTIVE,
        request_id=request_id,
        created_at=ctx.now,
        created_by=ctx.actor_id,
        updated_at=ctx.now,
    )
    ctx.session.add(assignment)
    await hold_register_access(PolicyStore(ctx.session), assignment, first=True)
    ctx.audit.record(
        "assignment.created",
        target_type="assignment",
        target_id=assignment.id,
        organisation_id=organisation_id,
        after={**assignment.snapshot(), **(origin or {})},
    )
    return assignment


async def create_direct(ctx: Context, data: AssignmentCreate) -> Assignment:
    org = await require_active_reference(ctx, data.organisation_id)
    ctx.require_in(org.id, "assignment", "create", owner_id=data.user_id)
    if await ctx.session.get(User, data.user_id) is None:
        raise ValidationFailed("unknown user", [FieldError("$.user_id", "no such user; they must sign in to EAM once first")])
    await ctx.catalogue.require_register_in(ctx.session, data.register, data.application)
    spec = ctx.catalogue.resolve_profile(data.application, data.profile)
    valid_from = data.valid_from or ctx.now
    check_end_date(data.valid_until, max(valid_from, ctx.now))
    return await grant(
        ctx,
        user_id=data.user_id,
        organisation_id=org.id,
        application=data.application,
        register=data.register,
        profile=spec,
        author_group=data.profile.author_group,
        valid_from=valid_from,
        valid_until=data.valid_until,
        request_id=None,
    )


#: Assignments with their holder, organisation, creator and revoker, in one query.
ASSIGNMENT_ROWS = (
    select(Assignment, Holder, Organisation, Creator, Revoker)
    .join(Holder, Holder.id == Assignment.user_id)
    .join(Organisation, Organisation.id == Assignment.organisation_id)
    .outerjoin(Creator, Creator.id == Assignment.created_by)
    .outerjoin(Revoker, Revoker.id == Assignment.revoked_by)
)


def visible_statement(ctx: Context, obj: str) -> Select[Any]:
    """Rows the caller may read: their own, their organisations' (access managers), or all (admins)."""
    stmt = ASSIGNMENT_ROWS
    org_ids = ctx.readable_organisations(obj)
    if org_ids is not None:
        stmt = stmt.where(or_(Assignment.user_id == ctx.user.id, Assignment.organisation_id.in_(org_ids)))
    return stmt


def filter_by_status(stmt: Select[Any], status: str | None, now: dt.datetime) -> Select[Any]:
    if status == "active":
        return stmt.where(is_active(now))
    if status == AssignmentStatus.SCHEDULED:
        return stmt.where(Assignment.status == AssignmentStatus.ACTIVE, Assignment.valid_from > now)
    if status == AssignmentStatus.EXPIRED:
        return stmt.where(
            or_(Assignment.status == AssignmentStatus.EXPIRED, and_(Assignment.status == AssignmentStatus.ACTIVE, Assignment.valid_until <= now))
        )
    if status == AssignmentStatus.REVOKED:
        return stmt.where(Assignment.status == AssignmentStatus.REVOKED)
    return stmt


async def get_assignment(ctx: Context, assignment_id: uuid.UUID, *, for_update: bool = False) -> AssignmentRow:
    stmt = visible_statement(ctx, "assignment").where(Assignment.id == assignment_id)
    if for_update:
        stmt = stmt.with_for_update(of=Assignment).execution_options(populate_existing=True)
    row = (await ctx.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no assignment {assignment_id}")
    assignment = row[0]
    ctx.require_in(assignment.organisation_id, "assignment", "read", owner_id=assignment.user_id)
    return assignment, row[1], row[2], row[3], row[4]


async def change(ctx: Context, assignment_id: uuid.UUID, data: AssignmentPatch) -> AssignmentRow:
    """Change the profile or end date in place: the user keeps access throughout. A new profile
    must not break a separation of duties."""
    row = await get_assignment(ctx, assignment_id, for_update=True)
    assignment = row[0]
    ctx.require_in(assignment.organisation_id, "assignment", "update", owner_id=assignment.user_id)
    if assignment.effective_status(ctx.now) not in (AssignmentStatus.ACTIVE, AssignmentStatus.SCHEDULED):
        raise AssignmentNotActive(f"assignment {assignment_id} is {assignment.effective_status(ctx.now)}")
    before = assignment.snapshot()
    if data.profile is not None:
        spec = ctx.catalogue.resolve_profile(assignment.application, data.profile)
        await duties.check(
            ctx,
            user_id=assignment.user_id,
            organisation_id=assignment.organisation_id,
            application=assignment.application,
            register=assignment.register_code,
            role=spec.role,
            data_level=spec.data_level,
        )
        assignment.role, assignment.data_level = spec.role, spec.data_level
        assignment.author_group = data.profile.author_group
    if data.valid_until is not msgspec.UNSET:
        check_end_date(data.valid_until, max(assignment.valid_from, ctx.now))  # type: ignore[arg-type]
        assignment.valid_until = await ctx.catalogue.capped_end(ctx.session, assignment.register_code, data.valid_until, ctx.now)  # type: ignore[arg-type]
    if assignment.snapshot() == before:
        return row
    assignment.updated_at = ctx.now
    await ctx.session.flush()
    await drop_register_access(PolicyStore(ctx.session), assignment)
    await hold_register_access(PolicyStore(ctx.session), assignment)
    after = assignment.snapshot()
    if data.comment:
        after["comment"] = data.comment
    ctx.audit.record("assignment.changed", target_type="assignment", target_id=assignment.id, organisation_id=assignment.organisation_id, before=before, after=after)
    return row


async def revoke(ctx: Context, assignment_id: uuid.UUID, data: RevokeIn) -> AssignmentRow:
    assignment, user, org, creator, _ = await get_assignment(ctx, assignment_id, for_update=True)
    ctx.require_in(assignment.organisation_id, "assignment", "revoke", owner_id=assignment.user_id)
    if not await end_revoked(ctx, assignment, data.reason):
        raise AssignmentNotActive(f"assignment {assignment_id} is {assignment.effective_status(ctx.now)}")
    return assignment, user, org, creator, ctx.user if ctx.actor_id is not None else None


async def end_revoked(ctx: Context, assignment: Assignment, reason: str) -> bool:
    """Compare-and-set a live assignment to ``revoked`` with the reason; the winner drops its
    policy row and audits. False if it was no longer live (revoked or expired meanwhile).
    Authorisation is the caller's."""
    before = assignment.snapshot()
    result = await ctx.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, is_live(ctx.now))
        .values(status=AssignmentStatus.REVOKED, revoked_at=ctx.now, revoked_by=ctx.actor_id, revoke_reason=reason, updated_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await ctx.session.refresh(assignment)
    await drop_register_access(PolicyStore(ctx.session), assignment)
    ctx.audit.record(
        "assignment.revoked",
        target_type="assignment",
        target_id=assignment.id,
        organisation_id=assignment.organisation_id,
        before=before,
        after={**assignment.snapshot(), "reason": reason},
    )
    return True


async def expire_due(ctx: Context) -> int:
    """Mark assignments past ``valid_until`` expired and drop their policy rows (already inert)."""
    stmt = select(Assignment).where(Assignment.status == AssignmentStatus.ACTIVE, Assignment.valid_until <= ctx.now)
    return await _expire(ctx.session, ctx.now, (await ctx.session.scalars(stmt)).all())


async def _expire(session: Any, now: dt.datetime, assignments: Sequence[Assignment]) -> int:
    """Compare-and-set each ``active`` → ``expired``; the winner drops the policy row and audits
    (as the system actor ``expiry``, whoever's operation came across the assignment)."""
    policies = PolicyStore(session)
    auditor = Auditor.system(session, EXPIRY, now)
    count = 0
    for assignment in assignments:
        result = await session.execute(
            update(Assignment)
            .where(Assignment.id == assignment.id, Assignment.status == AssignmentStatus.ACTIVE)
            .values(status=AssignmentStatus.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        before = assignment.snapshot()
        await session.refresh(assignment)
        await drop_register_access(policies, assignment)
        auditor.record("assignment.expired", target_type="assignment", target_id=assignment.id, organisation_id=assignment.organisation_id, before=before, after=assignment.snapshot())
        count += 1
    return count
