"""A register closed by an end date ends access to it on that date.

Design: access to a register never outlasts the register. Every end an assignment is given
(grant, approval, change, extension) is capped at the register's end
(:meth:`eam.catalogue.service.Catalogue.capped_end`), and when a register's end is set or moved
earlier, the live assignments that would outlast it are cut back to it in the same transaction
(audited ``assignment.changed`` with the reason). From then on the end is an ordinary
``valid_until``: tokens, introspection, holder lists and the policy rows stop counting the
assignment at that moment like any other, and the expiry sweep records it as expired.

A register's end in the catalogue file changes with a deployment, not through the API, so the
expiry sweep (job ``expire-assignments``) first cuts back live assignments to file registers
that now have an end; until it runs, no new access is given past the end, but access granted
before the file changed keeps its own end.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from eam.assignments.models import Assignment, is_live
from eam.assignments.service import hold_register_access
from eam.authz.policy_store import PolicyStore
from eam.catalogue.schemas import RegisterOut, RegisterPatch
from eam.core.context import Context

#: The comment of an assignment cut back to its register's end.
REGISTER_ENDS = "the register ends"


async def set_register_end(ctx: Context, code: str, data: RegisterPatch) -> RegisterOut:
    """Set, move or remove a register's end (platform admins); live access is cut back to it."""
    ctx.require_platform("register", "create")
    register = await ctx.catalogue.set_end(ctx.session, ctx.audit, code, data.ends_on)
    if register.ends_at is not None:
        await cap_live_assignments(ctx, code, register.ends_at)
    return register


async def cap_live_assignments(ctx: Context, code: str, ends_at: dt.datetime) -> int:
    """Cut back the live assignments to ``code`` that end after ``ends_at`` (or never); how many.

    Each is a change of its end date like any other: the policy row is replaced and the change
    audited, in the caller's transaction."""
    stmt = (
        select(Assignment)
        .where(Assignment.register_code == code, is_live(ctx.now), or_(Assignment.valid_until.is_(None), Assignment.valid_until > ends_at))
        .order_by(Assignment.id)
        .with_for_update()
    )
    policies = PolicyStore(ctx.session)
    count = 0
    for assignment in (await ctx.session.scalars(stmt)).all():
        before = assignment.snapshot()
        assignment.valid_until = ends_at
        assignment.updated_at = ctx.now
        await ctx.session.flush()
        await hold_register_access(policies, assignment)
        after = {**assignment.snapshot(), "comment": REGISTER_ENDS}
        ctx.audit.record("assignment.changed", target_type="assignment", target_id=assignment.id, organisation_id=assignment.organisation_id, before=before, after=after)
        count += 1
    return count


async def cap_to_file_register_ends(ctx: Context) -> int:
    """Cut back live access to catalogue file registers that have an end (the sweep's first step)."""
    count = 0
    for code, spec in sorted(ctx.catalogue.file.registers.items()):
        if spec.ends_on is not None:
            register = await ctx.catalogue.find_register(ctx.session, code)
            if register is not None and register.ends_at is not None:
                count += await cap_live_assignments(ctx, code, register.ends_at)
    return count
