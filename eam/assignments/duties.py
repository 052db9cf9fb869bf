"""Separation of duties: profiles that one person may not hold at the same time.

The rules are ``[[separation_of_duties]]`` tables of the catalogue (see
``eam/policies/catalogue.toml``): any two of a rule's ``application:profile`` entries conflict
when one person holds both, for the same register, at the same organisation
(``scope = "organisation_register"``) or at any organisations (``scope = "register"``).

Business rules:
- Only live assignments count (active or scheduled): revoked and expired access conflicts with
  nothing. A pending request is not access; its approval is what is checked.
- The access being granted or changed replaces what the person holds for the same
  organisation × application × register, so that assignment never conflicts with it.
- Every path that gives access (approval, direct grant, change, import) calls :func:`check`
  (or, for an import's plan, :func:`conflict` with the file's other lines) and is refused with
  :class:`~eam.core.errors.SeparationOfDuties` (409) naming the rule.
- :func:`violations` lists the people who hold conflicting profiles now (from before a rule was
  added, or granted outside EAM's checks): access managers see those touching their
  organisations, platform admins all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from eam.assignments.models import Assignment, is_live
from eam.catalogue.loader import DutySeparationSpec
from eam.catalogue.schemas import Profile, profile_of
from eam.core.context import Context
from eam.core.enums import AssignmentStatus
from eam.core.errors import Forbidden, SeparationOfDuties
from eam.core.paging import page_of_sorted
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import organisation_ref
from eam.users.models import User
from eam.users.schemas import UserRef, user_ref


@dataclass(frozen=True)
class Held:
    """An access as the rules see it; ``ref`` says where it comes from (an assignment id, or an
    import's line number)."""

    organisation_id: uuid.UUID
    application: str
    register: str
    profile: str
    ref: Any = None

    @property
    def written(self) -> str:
        return f"{self.application}:{self.profile}"


def profile_key(role: str, data_level: str | None) -> str:
    return f"{role}/{data_level}" if data_level else role


def held_of(assignment: Assignment) -> Held:
    return Held(assignment.organisation_id, assignment.application, assignment.register_code, profile_key(assignment.role, assignment.data_level), assignment.id)


def conflict(rules: Sequence[DutySeparationSpec], wanted: Held, held: Iterable[Held]) -> tuple[DutySeparationSpec, Held] | None:
    """The first rule (in catalogue order) that ``wanted`` would break next to ``held``, with the
    access it conflicts with; None when it breaks none. Pure: the table tests drive it."""
    others = list(held)
    for rule in rules:
        if wanted.written not in rule.profiles:
            continue
        for other in others:
            if other.register != wanted.register or other.written == wanted.written or other.written not in rule.profiles:
                continue
            if (other.organisation_id, other.application) == (wanted.organisation_id, wanted.application):
                continue  # the same access: the new profile replaces it
            if rule.scope == "organisation_register" and other.organisation_id != wanted.organisation_id:
                continue
            return rule, other
    return None


def refusal_text(rule: DutySeparationSpec, wanted: Held, other: Held, source: str) -> str:
    """Why ``wanted`` is refused: the rule, both profiles, where the other comes from (``source``:
    "held at <organisation>", "asked for on line 3") and the rule's reason."""
    return f"rule {rule.name!r}: {wanted.written} of register {wanted.register} cannot go with {other.written} {source}. {rule.description}"


def refusal(rule: DutySeparationSpec, wanted: Held, other: Held, source: str, **extensions: Any) -> SeparationOfDuties:
    """The 409 for ``wanted`` breaking ``rule`` next to ``other``."""
    return SeparationOfDuties(
        refusal_text(rule, wanted, other, source),
        rule=rule.name,
        **extensions,
    )


async def check(ctx: Context, *, user_id: uuid.UUID, organisation_id: uuid.UUID, application: str, register: str, role: str, data_level: str | None) -> None:
    """Refuse (409) giving ``user_id`` this profile if it breaks a rule next to their live access."""
    rules = ctx.catalogue.file.separation_of_duties
    if not rules:
        return
    # Two grants to one person in concurrent transactions (a sponsor here, a data provider there)
    # would each pass alone: on PostgreSQL the person's row is locked first, so they take turns.
    await ctx.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    rows = (
        await ctx.session.execute(
            select(Assignment, Organisation)
            .join(Organisation, Organisation.id == Assignment.organisation_id)
            .where(Assignment.user_id == user_id, Assignment.register_code == register, is_live(ctx.now))
            .order_by(Assignment.created_at, Assignment.id)
        )
    ).all()
    wanted = Held(organisation_id, application, register, profile_key(role, data_level))
    found = conflict(rules, wanted, [held_of(assignment) for assignment, _ in rows])
    if found is None:
        return
    rule, other = found
    assignment, org = next((a, o) for a, o in rows if a.id == other.ref)
    raise refusal(
        rule,
        wanted,
        other,
        f"held at {org.name}",
        conflicting_assignment={
            "id": str(assignment.id),
            "href": f"/v1/assignments/{assignment.id}",
            "organisation_id": str(org.id),
            "application": assignment.application,
            "register": assignment.register_code,
            "profile": other.profile,
        },
    )


class HeldAccess(msgspec.Struct, frozen=True):
    """One of the two conflicting assignments."""

    assignment_id: uuid.UUID
    organisation: OrganisationRef
    application: str
    register: str
    profile: Profile


class Violation(msgspec.Struct, frozen=True):
    """A person who holds two profiles that ``rule`` declares incompatible, now."""

    rule: str
    description: str
    user: UserRef
    assignments: list[HeldAccess]


def _matches(row: Any, written: str) -> Any:
    application, _, key = written.partition(":")
    role, _, data_level = key.partition("/")
    return and_(row.application == application, row.role == role, row.data_level == data_level if data_level else row.data_level.is_(None))


async def violations(ctx: Context, limit: int, cursor: str | None) -> tuple[list[Violation], str | None]:
    """Every live pair of assignments breaking a rule, ordered by rule and assignment ids.

    Access managers see the pairs with at least one assignment at an organisation where they
    manage access (the other one too: that is the conflict); platform admins see all."""
    organisations = ctx.organisations_allowing("assignment", "update")
    if organisations is not None and not organisations:
        raise Forbidden("only access managers and platform admins see separation-of-duties violations")
    first, second = aliased(Assignment), aliased(Assignment)
    first_org, second_org = aliased(Organisation), aliased(Organisation)
    found: list[tuple[str, Violation]] = []
    for rule in ctx.catalogue.file.separation_of_duties:
        for a, b in combinations(sorted(rule.profiles), 2):
            stmt = (
                select(first, second, User, first_org, second_org)
                .join(second, and_(second.user_id == first.user_id, second.register_code == first.register_code, second.id != first.id))
                .join(User, User.id == first.user_id)
                .join(first_org, first_org.id == first.organisation_id)
                .join(second_org, second_org.id == second.organisation_id)
                .where(_matches(first, a), _matches(second, b), _live(first, ctx), _live(second, ctx))
            )
            if rule.scope == "organisation_register":
                stmt = stmt.where(first.organisation_id == second.organisation_id)
            if organisations is not None:
                stmt = stmt.where(or_(first.organisation_id.in_(organisations), second.organisation_id.in_(organisations)))
            for one, two, user, one_org, two_org in (await ctx.session.execute(stmt)).all():
                violation = Violation(
                    rule=rule.name,
                    description=rule.description,
                    user=user_ref(user),
                    assignments=[_access(one, one_org), _access(two, two_org)],
                )
                found.append((f"{rule.name}|{one.id}|{two.id}", violation))
    found.sort(key=lambda item: item[0])
    page, next_cursor = page_of_sorted(found, lambda item: item[0], limit, cursor)
    return [violation for _, violation in page], next_cursor


def _live(row: Any, ctx: Context) -> Any:
    """:func:`is_live` for an aliased assignment."""
    return and_(row.status == AssignmentStatus.ACTIVE, or_(row.valid_until.is_(None), row.valid_until > ctx.now))


def _access(assignment: Assignment, org: Organisation) -> HeldAccess:
    return HeldAccess(
        assignment_id=assignment.id,
        organisation=organisation_ref(org),
        application=assignment.application,
        register=assignment.register_code,
        profile=profile_of(assignment),
    )
