"""Extension and renewal of an assignment, by an access manager directly or by approving the
holder's request (``POST /v1/access-requests/for-assignment/{id}``).

Business rules:
- An assignment is extended while it is live (active or scheduled), and *renewed* after it ran
  out (expired), up to ``EAM_RENEWAL_GRACE_DAYS`` after its end; later, new access is asked for
  (409 ``renewal-window-closed``). A revoked assignment is never renewed (409
  ``assignment-not-active``): its revocation was a decision, not the passing of time.
- Renewal reopens the same assignment rather than creating a new one linked to it: its id, its
  request and its history (``GET /v1/assignments/{id}/history``: created, expired, renewed) stay
  one record, and the audit trail keeps what it held between its end and its renewal. The
  reopening is a compare-and-set on the state read (``status`` and ``valid_until``), so an
  extension and a revocation or a second renewal racing it leave exactly one winner (409 for the
  other); the policy row is granted again through :mod:`eam.authz` in the same transaction.
- A renewal gives access again, so the separation of duties is checked against what the person
  holds now; and a second live assignment for the same access (granted meanwhile) refuses it.
- The new end must be later than the current one (or none at all), and never beyond the end of
  the register (``ends_on``): it is capped there, and a register that has ended is extended no
  more (409 ``register-closed``).
- Audited as ``assignment.extended`` (it was live) or ``assignment.renewed`` (it had ended).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, or_, update

from eam.assignments import duties
from eam.assignments.models import Assignment
from eam.assignments.schemas import AssignmentOut, ExtensionIn
from eam.assignments.service import ASSIGNMENT_ROWS, AssignmentRow, assignment_out, check_end_date, get_assignment, hold_register_access, live_assignment
from eam.authz.policy_store import PolicyStore
from eam.core.context import Context
from eam.core.enums import AssignmentStatus
from eam.core.errors import AlreadyAssigned, AssignmentNotActive, FieldError, RenewalWindowClosed, ValidationFailed


def renewable_until(assignment: Assignment | AssignmentOut, grace_days: int) -> dt.datetime | None:
    """The last moment the assignment may still be renewed: its end plus the grace period (None:
    it has no end, so it only ever needs extending)."""
    if assignment.valid_until is None:
        return None
    return assignment.valid_until + dt.timedelta(days=grace_days)


def check_renewable(ctx: Context, assignment: Assignment, asked_at: dt.datetime | None = None) -> None:
    """Refuse (409) extending a revoked assignment, or renewing one whose grace period is over
    when it was asked (``asked_at``: a holder's request, judged by when it was submitted, so an
    approval that takes a while does not close the window; default now)."""
    status = assignment.effective_status(ctx.now)
    if status == AssignmentStatus.REVOKED:
        raise AssignmentNotActive(f"assignment {assignment.id} was revoked; a revoked assignment is never renewed, ask for new access")
    if status == AssignmentStatus.EXPIRED:
        until = renewable_until(assignment, ctx.settings.renewal_grace_days)
        if until is not None and until <= (asked_at or ctx.now):
            raise RenewalWindowClosed(
                f"assignment {assignment.id} ended on {assignment.valid_until.isoformat()}; it could be renewed until {until.isoformat()}, ask for new access",  # type: ignore[union-attr]
                renewable_until=until.isoformat(),
            )


def is_ended(assignment: Assignment, now: dt.datetime) -> bool:
    return assignment.effective_status(now) == AssignmentStatus.EXPIRED


def in_grace(assignment: AssignmentOut, now: dt.datetime, grace_days: int) -> bool:
    """Ended (expired, not revoked) and still renewable: what the pages offer to extend."""
    until = renewable_until(assignment, grace_days)
    return assignment.status == AssignmentStatus.EXPIRED and until is not None and until > now


async def my_renewable(ctx: Context) -> list[AssignmentOut]:
    """The caller's assignments that ended within the grace period, latest end first (the
    holder's access page offers to ask for their renewal)."""
    since = ctx.now - dt.timedelta(days=ctx.settings.renewal_grace_days)
    ended = or_(Assignment.status == AssignmentStatus.EXPIRED, and_(Assignment.status == AssignmentStatus.ACTIVE, Assignment.valid_until <= ctx.now))
    stmt = ASSIGNMENT_ROWS.where(Assignment.user_id == ctx.user.id, ended, Assignment.valid_until > since).order_by(Assignment.valid_until.desc(), Assignment.id)
    return [assignment_out(row, ctx.now) for row in (await ctx.session.execute(stmt)).all()]


async def extend(ctx: Context, assignment_id: uuid.UUID, data: ExtensionIn) -> AssignmentRow:
    """An access manager extends a live assignment or renews one ended within the grace period."""
    row = await get_assignment(ctx, assignment_id, for_update=True)
    assignment = row[0]
    ctx.require_in(assignment.organisation_id, "assignment", "update", owner_id=assignment.user_id)
    await extend_to(ctx, assignment, data.valid_until, data.comment)
    return row


async def extend_to(ctx: Context, assignment: Assignment, valid_until: dt.datetime | None, comment: str | None, asked_at: dt.datetime | None = None) -> None:
    """Move the end of ``assignment`` (read for update, authorised by the caller) to ``valid_until``,
    reopening it if it had ended. ``valid_until`` is capped at the register's end."""
    check_renewable(ctx, assignment, asked_at)
    valid_until = await ctx.catalogue.capped_end(ctx.session, assignment.register_code, valid_until, ctx.now)
    check_end_date(valid_until, max(assignment.valid_from, ctx.now))
    if assignment.valid_until is None:
        raise ValidationFailed("the assignment has no end date to move", [FieldError("$.valid_until", "the assignment does not end; nothing to extend")])
    if valid_until is not None and valid_until <= assignment.valid_until:
        raise ValidationFailed("an extension moves the end date later", [FieldError("$.valid_until", f"must be after {assignment.valid_until.isoformat()}")])
    ended = is_ended(assignment, ctx.now)
    if ended:
        await _check_reopening(ctx, assignment)
    before = assignment.snapshot()
    result = await ctx.session.execute(
        update(Assignment)
        .where(
            Assignment.id == assignment.id,
            Assignment.status == assignment.status,
            Assignment.valid_until == assignment.valid_until,
        )
        .values(status=AssignmentStatus.ACTIVE, valid_until=valid_until, updated_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AssignmentNotActive(f"assignment {assignment.id} changed meanwhile; read it again")
    await ctx.session.refresh(assignment)
    # Expired: the row was dropped (or is inert, not yet swept): replace whatever is there.
    await hold_register_access(PolicyStore(ctx.session), assignment)
    after: dict[str, object] = assignment.snapshot()
    if comment:
        after["comment"] = comment
    action = "assignment.renewed" if ended else "assignment.extended"
    ctx.audit.record(action, target_type="assignment", target_id=assignment.id, organisation_id=assignment.organisation_id, before=before, after=after)


async def _check_reopening(ctx: Context, assignment: Assignment) -> None:
    """Reopening gives access again: no second live assignment for the access, no broken duty."""
    other = await live_assignment(ctx, assignment.user_id, assignment.organisation_id, assignment.application, assignment.register_code)
    if other is not None and other.id != assignment.id:
        raise AlreadyAssigned(
            f"the user holds {assignment.application}/{assignment.register_code} here again through another assignment; extend that one",
            existing=f"/v1/assignments/{other.id}",
        )
    await duties.check(
        ctx,
        user_id=assignment.user_id,
        organisation_id=assignment.organisation_id,
        application=assignment.application,
        register=assignment.register_code,
        role=assignment.role,
        data_level=assignment.data_level,
    )
