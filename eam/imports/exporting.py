"""Writing CSV: an organisation's people and access in EAM's combined import format, and receipts.

The combined format is what the import reads back unchanged (every line ``unchanged``):

``person_id,name,email,ssin,org_nihdi,access_manager,app,register,role,authorgroup,valid_until``

- one line per person related to the organisation (its members, access managers and holders),
  with ``access_manager`` ``yes`` or ``no`` and no ``app``;
- one line per live assignment (active or scheduled), with ``app``, ``register``, the profile's
  CSV code as ``role``, the author group and the end date (RFC 3339; empty: open-ended).

``ssin`` stays empty: EAM keeps only a keyed hash of national numbers; ``person_id`` names the
person instead. Every cell a spreadsheet would run as a formula is neutralised
(:mod:`eam.imports.cells`).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable

from sqlalchemy import select

from eam.access_managers.models import AccessManager
from eam.assignments.models import Assignment, is_live
from eam.authz.vocabulary import org_domain
from eam.catalogue.service import Catalogue
from eam.core.context import Context
from eam.imports.cells import neutralise
from eam.imports.schemas import Receipt
from eam.organisations.service import get_organisation
from eam.users.directory import related_people
from eam.users.models import User

COMBINED_COLUMNS = ("person_id", "name", "email", "ssin", "org_nihdi", "access_manager", "app", "register", "role", "authorgroup", "valid_until")


def _csv(rows: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def profile_code(catalogue: Catalogue, application: str, role: str, data_level: str | None) -> str:
    spec = catalogue.file.applications.get(application)
    profile = next((p for p in spec.profiles if p.role == role and p.data_level == data_level), None) if spec else None
    if profile is not None and profile.csv_code:
        return profile.csv_code
    return f"{role}/{data_level}" if data_level else role


async def export_organisation(ctx: Context, organisation_id: uuid.UUID) -> tuple[str, str]:
    """The organisation's people and live access as combined-format CSV, and a file name."""
    org = await get_organisation(ctx, organisation_id)
    ctx.require(org_domain(org.id), "person", "read")
    ctx.require(org_domain(org.id), "assignment", "read")
    people = await related_people(ctx.session, org.id)
    managers = set(await ctx.session.scalars(select(AccessManager.user_id).where(AccessManager.organisation_id == org.id)))
    rows: list[list[str]] = [list(COMBINED_COLUMNS)]
    for person in people:
        rows.append([str(person.id), person.display_name, person.email or "", "", org.nihdi, "yes" if person.id in managers else "no", "", "", "", "", ""])
    held = await ctx.session.execute(
        select(Assignment, User)
        .join(User, User.id == Assignment.user_id)
        .where(Assignment.organisation_id == org.id, is_live(ctx.now))
        .order_by(User.display_name, User.id, Assignment.application, Assignment.register_code)
    )
    for assignment, person in held:
        rows.append([
            str(person.id), person.display_name, person.email or "", "", org.nihdi, "",
            assignment.application, assignment.register_code,
            profile_code(ctx.catalogue, assignment.application, assignment.role, assignment.data_level),
            assignment.author_group or "",
            assignment.valid_until.isoformat() if assignment.valid_until else "",
        ])
    ctx.audit.record("organisation.exported", target_type="organisation", target_id=org.id, organisation_id=org.id, after={"lines": len(rows) - 1})
    return _csv(rows), f"eam-{org.nihdi}-{ctx.now:%Y%m%d}.csv"


def receipt_csv(receipt: Receipt) -> str:
    """One line per problem (or per line without one): line, outcome, column, message."""
    rows: list[list[str]] = [["line", "outcome", "column", "message"]]
    for line in receipt.lines:
        if line.problems:
            rows.extend([str(line.line), line.outcome, problem.column, problem.message] for problem in line.problems)
        else:
            rows.append([str(line.line), line.outcome, "", "; ".join(line.notes)])
    return _csv(rows)
