"""Keeping every worker's :class:`Authorizer` in step with ``casbin_rule``, change by change.

- **Catch-up**: read the change-log entries not seen yet (after the newest read, plus skipped
  and announced numbers: :mod:`eam.authz.changes`) in one indexed read, drop the cached
  register-access rows of the subjects they name and read the other rows of those subjects
  again. A worker that starts, falls more than ``BATCH_AFTER`` entries behind, or finds the
  bulk-change generation (``policy_version``) moved, loads every non-``p2`` row in one batch.
- **Wake-up**: on PostgreSQL a dedicated connection ``LISTEN``s on ``eam_policy`` (a trigger on
  the log sends ``NOTIFY`` with the entry's number at commit), with a slow poll as a safety
  net; on SQLite the log is polled. Either way another node's change is enforced within a second.
- **Own writes**: after a request that changed policies commits, its worker applies them at
  once (dropping cached rows needs no read; changed roles are read again).
- **Writes catch up first**: a state-changing request catches up inside its transaction before
  any decision, so a role removed on another node a moment ago is never used to change anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy import String, cast, func, literal, null, or_, select, union_all
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.authz.changes import RECENT, Change, LogPosition
from eam.authz.enforcer import Authorizer
from eam.authz.models import RULE_COLUMNS, CasbinRule, PolicyChange, PolicyVersion, rule_columns, rule_values
from eam.authz.policy_store import CHANNEL, LOG_KEPT, WRITTEN
from eam.authz.vocabulary import REGISTER_ACCESS, Rule
from eam.core.database import transaction

log = logging.getLogger("eam.authz")

#: Further behind than this, one batch load is cheaper than following the log (and pruning,
#: which keeps ``LOG_KEPT`` entries, more than this, never passes a worker unnoticed).
BATCH_AFTER = 5_000
assert LOG_KEPT > BATCH_AFTER
#: Marks the ``policy_version`` row among the log rows that :func:`catch_up` reads.
GENERATION = "generation"


async def load_batch(authz: Authorizer, session: AsyncSession) -> None:
    """Every permission and grouping row, read and built in one batch (``p2`` rows stay in the database).

    The position is read first: entries committed while the rows are read are read again from
    the log afterwards, which changes nothing if the rows already had them.
    """
    generation = await session.scalar(select(PolicyVersion.version).where(PolicyVersion.id == 1))
    newest = int(await session.scalar(select(func.max(PolicyChange.seq))) or 0)
    present = await session.scalars(select(PolicyChange.seq).where(PolicyChange.seq > newest - RECENT))
    position = LogPosition(newest, present, int(generation or 0))
    result = await session.execute(select(*rule_columns(CasbinRule)).where(CasbinRule.ptype != REGISTER_ACCESS).order_by(CasbinRule.id))
    stored: list[Rule] = [(row[0], rule_values(row[1:])) for row in result]
    await authz.replace(position, stored)


async def catch_up(authz: Authorizer, session: AsyncSession) -> None:
    """Apply what was committed since this worker last read the log (batch load when far behind)."""
    async with authz.sync_lock:
        position = authz.position
        if position is None:
            await load_batch(authz, session)
            return
        wanted = position.wanted()
        condition = PolicyChange.seq > position.newest
        if wanted:
            condition = or_(condition, PolicyChange.seq.in_(wanted))
        entries = select(PolicyChange.seq, PolicyChange.op, *rule_columns(PolicyChange)).where(condition)
        # The bulk-change generation rides along as one more row, so this is one round trip.
        generation = select(
            PolicyVersion.version.label("seq"), literal(GENERATION, String), literal("", String), *(cast(null(), String) for _ in RULE_COLUMNS)
        ).where(PolicyVersion.id == 1)
        rows = (await session.execute(union_all(generation, entries).order_by("seq").limit(BATCH_AFTER + 2))).all()
        changes = [Change(row[0], row[1], row[2], rule_values(row[3:])) for row in rows if row[1] != GENERATION]
        current = next((row[0] for row in rows if row[1] == GENERATION), None)
        # Pruning keeps LOG_KEPT > BATCH_AFTER entries, so a worker it passed is this far behind too.
        if len(changes) > BATCH_AFTER or current is None or int(current) != position.generation:
            log.info("policy change log: far behind or a bulk change; loading in one batch")
            await load_batch(authz, session)
            return
        await _apply(authz, session, changes)
        position.advance((change.seq for change in changes), wanted)


async def _apply(authz: Authorizer, session: AsyncSession, changes: list[Change]) -> None:
    subjects = authz.invalidate(changes)
    if not subjects:
        return
    rows: dict[str, list[Rule]] = {subject: [] for subject in subjects}
    result = await session.execute(
        select(*rule_columns(CasbinRule)).where(CasbinRule.ptype != REGISTER_ACCESS, CasbinRule.v0.in_(sorted(subjects)))
    )
    for row in result:
        rows[row[1]].append((row[0], rule_values(row[1:])))
    for subject, held in rows.items():
        authz.reset_subject(subject, held)


def expect_written(authz: Authorizer, session: AsyncSession) -> None:
    """Just before ``session`` commits: its log entries are this worker's own (see :func:`apply_written`)."""
    written: list[Change] = session.info.get(WRITTEN, [])
    if written and authz.position is not None:
        authz.position.own.update(change.seq for change in written)


async def apply_written(authz: Authorizer, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """After ``session`` committed: drop the cached rows it changed; read changed roles again.

    The change is committed whatever happens here: should the read fail, the background sync
    applies it a moment later, and the request still succeeds.
    """
    written: list[Change] = session.info.pop(WRITTEN, [])
    if written and authz.invalidate(written):
        try:
            async with transaction(sessionmaker, read_only=True) as fresh:
                await catch_up(authz, fresh)
        except Exception:  # noqa: BLE001 - see above
            log.warning("applying this worker's own policy change failed; the sync will", exc_info=True)


class PolicySync:
    """The background task that keeps a worker in step: LISTEN (PostgreSQL) or poll (SQLite)."""

    def __init__(
        self, authz: Authorizer, sessionmaker: async_sessionmaker[AsyncSession], database_url: str, *, poll_seconds: float
    ) -> None:
        self.authz = authz
        self.sessionmaker = sessionmaker
        self.url = make_url(database_url)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    @property
    def listens(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    async def run(self) -> None:
        while True:
            if self.listens and self._listener is None:
                await self._listen()
            # Listening, a notification wakes the loop; the timeout is only a safety net.
            timeout = self.poll_seconds * (10 if self._listener is not None else 1)
            # asyncio.timeout, not wait_for: before Python 3.12, wait_for can swallow a
            # cancellation that arrives as the event is set, and the task would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            try:
                async with transaction(self.sessionmaker, read_only=True) as session:
                    await catch_up(self.authz, session)
            except Exception:  # noqa: BLE001 - the next round retries; requests catch up themselves
                log.warning("policy sync failed; retrying", exc_info=True)

    async def _listen(self) -> None:
        dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
        except Exception:  # noqa: BLE001 - polling covers until the next attempt
            log.warning("cannot LISTEN for policy changes; polling every %ss", self.poll_seconds, exc_info=True)
            return
        try:
            await connection.add_listener(CHANNEL, self._notified)  # type: ignore[arg-type]
            connection.add_termination_listener(self._lost)
        except Exception:  # noqa: BLE001 - as above
            connection.terminate()
            log.warning("cannot LISTEN for policy changes; polling every %ss", self.poll_seconds, exc_info=True)
            return
        except BaseException:
            connection.terminate()
            raise
        self._listener = connection
        self._wake.set()  # catch up on what was committed before the LISTEN began

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        position = self.authz.position
        if payload.isdigit() and position is not None and not position.needs_read(int(payload)):
            return
        self._wake.set()

    def _lost(self, *_args: Any) -> None:
        self._listener = None
        self._wake.set()

    async def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
