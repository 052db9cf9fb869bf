"""Importing a CSV file of people and access (dry run or applied), and reading imports back.

Rules: a dry run writes nothing and answers the receipt. Applying is all or nothing: one line in
error and nothing is written (422 with the receipt). Applying the same file again changes
nothing (every line ``unchanged``). Every applied import is stored with its receipt and audited
once per organisation it touched (``import.applied``: file digest, mode, that organisation's
counts), besides the events of each change it made.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter

import msgspec
from sqlalchemy import select

from eam.auth.identity import national_number_hash
from eam.authz.vocabulary import org_domain
from eam.core.context import Context
from eam.core.database import new_id
from eam.core.errors import FieldError, Forbidden, ImportHasErrors, NotFound
from eam.core.paging import fetch_page
from eam.core.texts import template_of
from eam.imports.apply import Progress, carry_out
from eam.imports.entries import read_entry
from eam.imports.models import Import
from eam.imports.plan import Mode, Plan, Planner
from eam.imports.reading import read_csv
from eam.imports.schemas import ImportOut, LineProblem, Receipt, ReceiptLine, Summary
from eam.imports.state import read_holdings


async def plan_file(ctx: Context, body: bytes, mode: Mode, register: str | None) -> Plan:
    if ctx.readable_organisations("person") == []:
        raise Forbidden("only access managers and platform admins import people and access")
    file = read_csv(body, max_bytes=ctx.settings.import_max_bytes, max_lines=ctx.settings.import_max_lines)
    known = await ctx.catalogue.registers(ctx.session)
    registers = {r.code: r.applications for r in known}
    ended = frozenset(r.code for r in known if r.ends_at is not None and r.ends_at <= ctx.now)
    entries = [read_entry(line, ctx.catalogue, registers, register.upper() if register else None, ended) for line in file.lines]
    held = await read_holdings(
        ctx.session,
        ctx.now,
        {entry.nihdi for entry in entries if entry.nihdi},
        {national_number_hash(ctx.settings.national_number_key, entry.national_number) for entry in entries if entry.national_number},
        {entry.person_id for entry in entries if entry.person_id},
    )
    return Planner(ctx, ctx.catalogue, held, mode).plan(entries)


def line_problem(problem: FieldError) -> LineProblem:
    template, values = template_of(problem)
    return LineProblem(column=problem["field"], message=problem["message"], template=template, values=values)


def receipt_lines(plan: Plan) -> list[ReceiptLine]:
    return [
        ReceiptLine(
            line=planned.entry.line,
            outcome=planned.outcome.value,
            problems=[line_problem(problem) for problem in planned.entry.problems],
            notes=planned.notes + planned.entry.notes,
        )
        for planned in plan.lines
    ]


def summary_of(lines: list[ReceiptLine]) -> Summary:
    counts = Counter(line.outcome for line in lines)
    return Summary(created=counts["created"], updated=counts["updated"], unchanged=counts["unchanged"], error=counts["error"])


async def run_import(
    ctx: Context, body: bytes, *, mode: Mode, dry_run: bool, register: str | None = None, file_name: str | None = None, progress: Progress | None = None
) -> Receipt:
    digest = hashlib.sha256(body).hexdigest()
    plan = await plan_file(ctx, body, mode, register)
    lines = receipt_lines(plan)
    summary = summary_of(lines)
    if dry_run:
        return Receipt(id=None, dry_run=True, mode=mode.value, file_digest=digest, summary=summary, lines=lines)
    if plan.has_errors:
        refused = Receipt(id=None, dry_run=False, mode=mode.value, file_digest=digest, summary=summary, lines=lines)
        raise ImportHasErrors(
            f"{summary.error} of {len(lines)} lines cannot be imported; nothing was imported",
            [FieldError("file", f"line {line.line}: {problem.column}: {problem.message}") for line in lines for problem in line.problems][:100],
            receipt=msgspec.to_builtins(refused),
        )
    import_id = new_id()
    await carry_out(ctx, plan, import_id, mode, progress)
    row = Import(
        id=import_id,
        created_at=ctx.now,
        created_by=ctx.actor_id,
        mode=mode.value,
        file_name=file_name,
        file_digest=digest,
        line_count=len(lines),
        organisation_ids=[str(org.id) for org in plan.organisations],
        summary=msgspec.to_builtins(summary),
        receipt=msgspec.to_builtins(lines),
    )
    ctx.session.add(row)
    for org in plan.organisations:
        counts = summary_of([line for line, planned in zip(lines, plan.lines) if planned.entry.nihdi == org.nihdi])
        ctx.audit.record(
            "import.applied",
            target_type="import",
            target_id=import_id,
            organisation_id=org.id,
            after={"file_digest": digest, "mode": mode.value, "file_name": file_name, **msgspec.to_builtins(counts)},
        )
    await ctx.session.flush()
    return Receipt(id=import_id, dry_run=False, mode=mode.value, file_digest=digest, summary=summary, lines=lines, created_at=ctx.now)


def _may_read(ctx: Context, row: Import) -> bool:
    if row.created_by == ctx.user.id or ctx.guard.allows_platform("audit_event", "read"):
        return True
    return any(ctx.allows(org_domain(uuid.UUID(org)), "audit_event", "read") for org in row.organisation_ids)


async def get_receipt(ctx: Context, import_id: uuid.UUID) -> Receipt:
    """An applied import's receipt, for whoever imported it and who may read its organisations' audit trail."""
    row = await ctx.session.get(Import, import_id)
    if row is None or not _may_read(ctx, row):
        raise NotFound(f"no import {import_id}")
    return Receipt(
        id=row.id,
        dry_run=False,
        mode=row.mode,
        file_digest=row.file_digest,
        summary=msgspec.convert(row.summary, Summary),
        lines=msgspec.convert(row.receipt, list[ReceiptLine]),
        created_at=row.created_at,
    )


async def list_imports(ctx: Context, limit: int, cursor: str | None) -> tuple[list[ImportOut], str | None]:
    """The caller's own imports, newest first (platform admins: everyone's)."""
    stmt = select(Import).order_by(Import.created_at.desc(), Import.id.desc())
    if not ctx.guard.allows_platform("audit_event", "read"):
        stmt = stmt.where(Import.created_by == ctx.user.id)
    rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return [
        ImportOut(
            id=row.id, created_at=row.created_at, mode=row.mode, file_name=row.file_name, file_digest=row.file_digest,
            line_count=row.line_count, summary=msgspec.convert(row.summary, Summary),
        )
        for row in rows
    ], next_cursor
