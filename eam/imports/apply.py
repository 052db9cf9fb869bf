"""Carrying out a plan: each step through the domain operation that owns it.

A step goes through the same operation as its one-by-one twin in the API (preparing a person,
adding a member, appointing an access manager, granting, changing, submitting a request), so an
import obeys the same rules, writes the same policy rows and records the same audit events. All
steps share the caller's one transaction: any failure (a race with another change since the
plan) rolls the whole file back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from eam.access_managers.service import appoint
from eam.access_requests.workflow import submit_for
from eam.assignments.schemas import AssignmentPatch
from eam.assignments.service import change, grant
from eam.catalogue.schemas import Profile
from eam.core.context import Context
from eam.imports.entries import UNSET, AccessAsked
from eam.imports.plan import Mode, Plan, Step, StepKind
from eam.users.people import add_member, prepare_person, update_prepared


def _profile(access: AccessAsked) -> Profile:
    return Profile(role=access.profile.role, data_level=access.profile.data_level, author_group=access.author_group)


#: Steps between two progress reports.
PROGRESS_EVERY = 200
#: ``progress(line, lines)``: the line of the file the import has reached, of how many.
Progress = Callable[[int, int], None]


async def carry_out(ctx: Context, plan: Plan, import_id: uuid.UUID, mode: Mode, progress: Progress | None = None) -> None:
    """New people first (written in one flush, before the rows that name them), then every other
    step in line order."""
    lines = plan.lines[-1].entry.line if plan.lines else 0
    for step in plan.steps:
        if step.kind == StepKind.PREPARE:
            await _carry_out(ctx, step, import_id, mode)
    await ctx.session.flush()
    for done, step in enumerate((step for step in plan.steps if step.kind != StepKind.PREPARE), start=1):
        await _carry_out(ctx, step, import_id, mode)
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(step.line, lines)


async def _carry_out(ctx: Context, step: Step, import_id: uuid.UUID, mode: Mode) -> None:
    person = step.person
    if step.kind == StepKind.PREPARE:
        assert person.digest is not None and person.name is not None
        person.user = prepare_person(ctx, person.digest, person.name, person.email)
        return
    assert person.user is not None
    if step.kind == StepKind.UPDATE_PERSON:
        assert person.name is not None
        update_prepared(ctx, person.user, person.name, person.email)
    elif step.kind == StepKind.ADD_MEMBER:
        await add_member(ctx, step.organisation.id, person.user, known_new=True)
    elif step.kind == StepKind.APPOINT:
        await appoint(ctx, step.organisation.id, person.user.id)
    else:
        await _access(ctx, step, import_id, mode)


async def _access(ctx: Context, step: Step, import_id: uuid.UUID, mode: Mode) -> None:
    access, person, org = step.access, step.person.user, step.organisation
    assert access is not None and person is not None
    note = f"import {import_id} ({mode.value.replace('_', ' ')}), line {step.line}"
    if step.kind == StepKind.GRANT:
        await grant(
            ctx,
            user_id=person.id,
            organisation_id=org.id,
            application=access.application,
            register=access.register,
            profile=access.profile,
            author_group=access.author_group,
            valid_from=ctx.now,
            valid_until=None if access.valid_until == UNSET else access.valid_until,  # type: ignore[arg-type]
            request_id=None,
            origin={"import_id": str(import_id), "import_mode": mode.value},
            known_unheld=True,
        )
    elif step.kind == StepKind.CHANGE:
        assert step.assignment_id is not None
        patch = AssignmentPatch(profile=_profile(access), valid_until=access.valid_until, comment=f"Changed by {note}")  # type: ignore[arg-type]
        await change(ctx, step.assignment_id, patch)
    else:
        await submit_for(
            ctx,
            person.id,
            org,
            access.application,
            access.register,
            _profile(access),
            f"Submitted by {ctx.user.display_name} with {note}",
            None if access.valid_until == UNSET else access.valid_until,  # type: ignore[arg-type]
            changes=step.assignment_id,
        )
