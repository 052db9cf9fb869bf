"""Writing to the outbox, and delivering what is due: claim, deliver, then record the outcome.

Rows are added to the caller's session (:func:`enqueue`), so they commit or roll back with the
change that caused them; domain code never commits. Delivery (:func:`deliver_due`) runs in three
short steps, none of which holds a transaction while talking to the outside world:

1. **claim**, in its own transaction: due rows (pending, ``next_attempt_at`` passed, no live
   lease) are selected ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers on any
   node take disjoint rows; each claimed row gets a lease (``locked_until``) and one more
   attempt. SQLite has one writer and no row locks: the single process does the same without
   ``SKIP LOCKED``.
2. **deliver**, outside any transaction.
3. **record**, in its own transaction: delivered, or the next attempt after an exponential
   backoff with full jitter (tenacity's ``wait_random_exponential``), or ``dead`` once the
   configured number of attempts is spent.

At least once: a worker killed between 1 and 3 leaves the lease, which runs out; the row is then
due again and delivered again. A row whose last allowed attempt's lease ran out is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import RetryCallState, wait_random_exponential

from eam.core.database import Clock, transaction
from eam.core.settings import Settings
from eam.outbox.models import OutboxMessage
from eam.outbox.wakeup import note_enqueued

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATUSES = (PENDING, DELIVERED, DEAD)
#: How much of a failure is kept: enough to diagnose, too little to carry a message body.
ERROR_PREFIX = 200

Deliver = Callable[[OutboxMessage], Awaitable[None]]


def enqueue(session: AsyncSession, now: dt.datetime, *, channel: str, event: str, recipient: str, payload: dict[str, Any]) -> OutboxMessage:
    """Add a message to the open transaction; it is due at once once that transaction commits."""
    message = OutboxMessage(
        id=uuid.uuid4(),
        channel=channel,
        event=event,
        recipient=recipient,
        payload=payload,
        status=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    note_enqueued(session.sync_session)
    return message


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: a random wait up to
    ``base × 2^(attempts-1)``, at most ``EAM_OUTBOX_BACKOFF_MAX_SECONDS`` (full jitter, so
    workers retrying after one outage spread out)."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempts
    wait = wait_random_exponential(multiplier=settings.outbox_backoff_seconds, max=settings.outbox_backoff_max_seconds)
    return float(wait(state))


def short_error(exc: BaseException) -> str:
    """The exception's type and the start of its message (SMTP replies name no credentials)."""
    text = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ")
    return text[:ERROR_PREFIX]


def _due(now: dt.datetime) -> Any:
    return (
        OutboxMessage.status == PENDING,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
    )


async def claim(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, now: dt.datetime, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due rows to this worker (one short transaction); rows whose last
    attempt's lease ran out are dead-lettered instead."""
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(OutboxMessage)
            .where(*_due(now), OutboxMessage.attempts >= settings.outbox_max_attempts)
            .values(status=DEAD, locked_until=None, last_error="the last attempt's lease ran out (worker stopped)")
            .execution_options(synchronize_session=False)
        )
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .where(*_due(now))
                .order_by(OutboxMessage.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)  # SQLite: no row locks, the clause is left out
            )
        )
        lease = now + dt.timedelta(seconds=settings.outbox_lease_seconds)
        for row in rows:
            row.locked_until = lease
            row.attempts += 1
        await session.flush()
        session.expunge_all()
        return rows


async def record(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, row: OutboxMessage, error: BaseException | None) -> str:
    """Record one attempt's outcome for the lease this worker holds; the row's new status."""
    now = clock()
    if error is None:
        values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now, "locked_until": None}
    elif row.attempts >= settings.outbox_max_attempts:
        values = {"status": DEAD, "locked_until": None, "last_error": short_error(error)}
    else:
        retry_at = now + dt.timedelta(seconds=backoff_seconds(settings, row.attempts))
        values = {"status": PENDING, "locked_until": None, "next_attempt_at": retry_at, "last_error": short_error(error)}
    async with transaction(sessionmaker) as session:
        # Only while the lease is ours: a worker whose lease ran out (and whose row another worker
        # took) records nothing over the other's claim.
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.locked_until == row.locked_until, OutboxMessage.attempts == row.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return str(values["status"])


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, deliver: Deliver, *, limit: int = 20
) -> dict[str, int]:
    """One round: claim due rows, deliver each, record each outcome; counts by new status.

    An idle round only reads (one indexed query, no write lock): on SQLite a claim takes the
    database's write lock, which an idle worker polling every few seconds should not hold."""
    counts = dict.fromkeys(STATUSES, 0)
    now = clock()
    async with transaction(sessionmaker, read_only=True) as session:
        if await session.scalar(select(OutboxMessage.id).where(*_due(now)).limit(1)) is None:
            return counts
    for row in await claim(sessionmaker, settings, now, limit):
        try:
            await deliver(row)
        except Exception as exc:  # noqa: BLE001  any failure is this attempt's failure
            counts[await record(sessionmaker, settings, clock, row, exc)] += 1
        else:
            counts[await record(sessionmaker, settings, clock, row, None)] += 1
    return counts
