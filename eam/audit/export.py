"""Audit events as JSON Lines: the events the caller may read that match the list's filters
(:func:`eam.audit.service.readable`), oldest first, one event per line.

Each line is the event's hashed document (:func:`eam.core.audit_chain.document`: every stored
field and ``prev_hash``) plus its ``hash``, serialised canonically, so whoever holds the file can
check each event without EAM: drop ``hash``, serialise the rest canonically, SHA-256 it. Where
two lines have consecutive ids, the second's ``prev_hash`` is the first's ``hash``.

The slice is fixed when the export is asked for (events up to the newest one then); it is read
:data:`BATCH` events at a time (keyset ``id > last``), each batch in a short read-only
transaction of its own, so a million events stream with flat memory and no transaction stays
open while a slow client downloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.audit.models import AuditEvent
from eam.audit.service import AuditFilter, readable
from eam.core.audit_chain import document, encode
from eam.core.context import Context
from eam.core.database import transaction

BATCH = 1000
MEDIA_TYPE = "application/jsonl"
FILENAME = "audit-events.jsonl"


@dataclass(frozen=True)
class ExportSlice:
    """Which events an export holds: the caller's readable, filtered events up to ``last_id``."""

    conditions: list[ColumnElement[bool]]
    last_id: int


async def export_slice(ctx: Context, wanted: AuditFilter) -> ExportSlice:
    """Check the caller may read what is asked (as listing does) and fix the slice's end."""
    conditions = readable(ctx, wanted)
    last_id = await ctx.session.scalar(select(func.max(AuditEvent.id)))
    return ExportSlice(conditions=conditions, last_id=int(last_id or 0))


async def export_lines(sessionmaker: async_sessionmaker[AsyncSession], exported: ExportSlice, *, batch: int | None = None) -> AsyncIterator[bytes]:
    """The slice's lines (``\\n``-terminated UTF-8 JSON), one chunk per batch."""
    batch = batch or BATCH
    after = 0
    stmt = select(*AuditEvent.__table__.c).where(*exported.conditions, AuditEvent.id <= exported.last_id).order_by(AuditEvent.id).limit(batch)
    while True:
        async with transaction(sessionmaker, read_only=True) as session:
            rows = (await session.execute(stmt.where(AuditEvent.id > after))).all()
        if not rows:
            return
        yield b"".join(encode({**document(row._mapping, row.prev_hash), "hash": row.hash}) + b"\n" for row in rows)
        if len(rows) < batch:
            return
        after = rows[-1].id
