"""Checking the audit trail's hash chain (``eam audit verify``): every event, in id order.

The walk reads :data:`BATCH` events at a time, each batch in a short read-only transaction of
its own (keyset ``id > last``), so memory stays flat and no transaction stays open for the whole
walk; events appended meanwhile are checked too. For each event, in this order:

- **content changed**: its stored fields and ``prev_hash`` no longer give its ``hash`` (a field
  was edited, or the event was given another id);
- **missing event**: its ``prev_hash`` is not the hash of the event before it and ids are missing
  between them (or before the first event): events were deleted. A gap whose link holds is not a
  break: ids a database sequence skipped before the chain existed;
- **link broken**: its ``prev_hash`` is not the hash of the event just before it (that event was
  rewritten and re-hashed, or this link was edited).

The first break is reported; the events after it are not judged (their links depend on it).
Deleting the newest events leaves a shorter chain that is intact: record the head an intact
walk prints somewhere else, and pass it as ``expect_head`` later to catch that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.audit.models import AuditEvent
from eam.core.audit_chain import GENESIS, event_hash, instant
from eam.core.database import create_engine, make_sessionmaker, transaction

BATCH = 2000
CONTENT_CHANGED = "content changed"
MISSING_EVENT = "missing event"
LINK_BROKEN = "link broken"

_COLUMNS = AuditEvent.__table__.c


@dataclass(frozen=True)
class Break:
    """The first event where the chain does not hold."""

    id: int
    #: None when the event itself is gone (the chain ends before an expected head).
    action: str | None
    occurred_at: dt.datetime | None
    problem: str
    detail: str

    def line(self) -> str:
        about = f" ({self.action}, {instant(self.occurred_at)})" if self.action and self.occurred_at else ""
        return f"event {self.id}{about}: {self.problem}: {self.detail}"


@dataclass
class Verification:
    events: int = 0
    first_id: int | None = None
    head_id: int | None = None
    head_hash: str = GENESIS
    broken: Break | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def summary(self) -> str:
        if self.head_id is None:
            return "audit chain intact: no events yet"
        return f"audit chain intact: {self.events} events, ids {self.first_id} to {self.head_id}\nhead {self.head_id}:{self.head_hash}"


def _judge(row: Any, prev_id: int | None, prev_hash: str) -> Break | None:
    def broken(problem: str, detail: str) -> Break:
        return Break(row.id, row.action, row.occurred_at, problem, detail)

    if event_hash(row._mapping, row.prev_hash) != row.hash:
        return broken(CONTENT_CHANGED, "its stored fields no longer match its hash")
    if row.prev_hash == prev_hash:
        return None
    if prev_id is None:
        return broken(MISSING_EVENT, "it does not link to the start of the chain: the events before it were removed")
    if row.id != prev_id + 1:
        gap = f"event {prev_id + 1} is" if row.id == prev_id + 2 else f"events {prev_id + 1} to {row.id - 1} are"
        return broken(MISSING_EVENT, f"{gap} missing before it: its prev_hash is not the hash of event {prev_id}")
    return broken(LINK_BROKEN, f"its prev_hash is not the hash of event {prev_id} (that event was rewritten, or this link was)")


async def _batch(sessionmaker: async_sessionmaker[AsyncSession], after: int, size: int) -> list[Any]:
    async with transaction(sessionmaker, read_only=True) as session:
        stmt = select(*_COLUMNS).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(size)
        return list((await session.execute(stmt)).all())


async def verify_chain(
    sessionmaker: async_sessionmaker[AsyncSession], *, batch: int | None = None, expect_head: tuple[int, str] | None = None
) -> Verification:
    """Walk the whole chain; stop at the first break. ``expect_head``: an ``(id, hash)`` an
    earlier walk reported, which must still be in the chain (else events were cut off its end)."""
    result = Verification()
    prev_id: int | None = None
    prev_hash = GENESIS
    while rows := await _batch(sessionmaker, prev_id or 0, batch or BATCH):
        for row in rows:
            if (found := _judge(row, prev_id, prev_hash)) is not None:
                result.broken = found
                return result
            if expect_head is not None and row.id == expect_head[0] and row.hash != expect_head[1]:
                result.broken = Break(row.id, row.action, row.occurred_at, CONTENT_CHANGED, "its hash is not the expected head's")
                return result
            result.events += 1
            result.first_id = row.id if result.first_id is None else result.first_id
            prev_id, prev_hash = row.id, row.hash
    result.head_id, result.head_hash = prev_id, prev_hash
    if expect_head is not None and (prev_id or 0) < expect_head[0]:
        result.broken = Break(
            expect_head[0], None, None, MISSING_EVENT,
            f"the chain ends at event {prev_id or 0}: the events from {(prev_id or 0) + 1} to {expect_head[0]} were removed",
        )
    return result


def parse_head(text: str) -> tuple[int, str]:
    """``ID:HASH`` as :meth:`Verification.summary` prints a head."""
    head_id, _, head_hash = text.strip().partition(":")
    if not head_id.isdigit() or len(head_hash) != 64 or any(c not in "0123456789abcdef" for c in head_hash.lower()):
        raise ValueError("give ID:HASH as an earlier run printed it (a number, a colon, 64 hexadecimal digits)")
    return int(head_id), head_hash.lower()


async def verify_database(url: str, *, expect_head: tuple[int, str] | None = None) -> Verification:
    """:func:`verify_chain` on the database at ``url`` (one connection)."""
    engine = create_engine(url, pool_size=1)
    try:
        return await verify_chain(make_sessionmaker(engine), expect_head=expect_head)
    finally:
        await engine.dispose()
