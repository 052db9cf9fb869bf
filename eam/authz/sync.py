"""Keeping every worker's :class:`Authorizer` in step with ``casbin_rule``, change by change.

- **Catch-up**: read the change log after the last applied ``seq`` (one indexed range read) and
  apply it. A worker that starts, or falls more than ``BATCH_AFTER`` changes behind, or finds
  the log pruned past its position, loads every non-``p2`` row in one batch instead.
- **Wake-up**: on PostgreSQL a dedicated connection ``LISTEN``s on ``eam_policy`` (a trigger on
  the log sends ``NOTIFY`` at commit), with a slow poll as a safety net; on SQLite the log is
  polled. Either way another node's change is enforced well within a second.
- **Own writes**: a request that changed policies applies its own log entries right after its
  commit (no read), so the same worker enforces them from its next request.
- **Writes catch up first**: a state-changing request catches up inside its transaction before
  any decision, so a role removed on another node a moment ago is never used to change anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy import String, cast, func, literal, null, select, union_all
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.authz.enforcer import Authorizer, Change
from eam.authz.models import CasbinRule, PolicyChange, PolicyVersion
from eam.authz.policy_store import COLUMNS, WRITTEN
from eam.authz.vocabulary import REGISTER_ACCESS, Rule
from eam.database import transaction

log = logging.getLogger("eam.authz")

#: Further behind than this, one batch load is cheaper than applying the changes one by one.
BATCH_AFTER = 5_000
#: Marks the ``policy_version`` row among the log rows that :func:`catch_up` reads.
HEAD = "version"
#: The ``LISTEN``/``NOTIFY`` channel of committed policy changes (see migration 0006).
CHANNEL = "eam_policy"


def _values(row: Any) -> list[str]:
    values = list(row)
    while values and values[-1] is None:
        values.pop()
    return [value or "" for value in values]


async def load_batch(authz: Authorizer, session: AsyncSession) -> None:
    """Every permission and grouping row, read and built in one batch (``p2`` rows stay in the database).

    The version and the row count are read in one statement (one snapshot); rows committed
    after it and read anyway are applied again from the log, which changes nothing.
    """
    position = await session.execute(
        select(
            select(PolicyVersion.version).where(PolicyVersion.id == 1).scalar_subquery(),
            select(func.count()).select_from(CasbinRule).scalar_subquery(),
        )
    )
    seq, count = position.one()
    result = await session.execute(
        select(CasbinRule.ptype, *(getattr(CasbinRule, column) for column in COLUMNS))
        .where(CasbinRule.ptype != REGISTER_ACCESS)
        .order_by(CasbinRule.id)
    )
    stored: list[Rule] = [(row[0], _values(row[1:])) for row in result]
    await authz.replace(int(seq or 0), stored, int(count or 0))


async def catch_up(authz: Authorizer, session: AsyncSession) -> None:
    """Apply what was committed since the last applied change (batch load when far behind).

    One statement reads the log after the worker's position together with ``policy_version``:
    a version beyond the last logged change means rows changed without a log entry (a bulk
    seed, a migration) or the log was pruned, and the worker loads in one batch.
    """
    if authz.version is None:
        await load_batch(authz, session)
        return
    log_rows = select(
        PolicyChange.seq, PolicyChange.op, PolicyChange.ptype, *(getattr(PolicyChange, column) for column in COLUMNS)
    ).where(PolicyChange.seq > authz.version)
    head = select(
        PolicyVersion.version, literal(HEAD, String), literal("", String), *(cast(null(), String) for _ in COLUMNS)
    ).where(PolicyVersion.id == 1, PolicyVersion.version > authz.version)
    result = await session.execute(union_all(log_rows, head).order_by("seq").limit(BATCH_AFTER + 2))
    rows = result.all()
    if not rows:
        return
    changes = [Change(row[0], row[1], row[2], _values(row[3:])) for row in rows if row[1] != HEAD]
    version = rows[-1][0] if rows[-1][1] == HEAD else None
    in_step = version is not None and (changes[-1].seq if changes else authz.version) == version
    if not in_step or len(changes) > BATCH_AFTER or not authz.apply(changes):
        log.info("policy change log: behind by more than %s changes, pruned, or bulk-changed after seq %s; loading in one batch", BATCH_AFTER, authz.version)
        await load_batch(authz, session)


async def apply_written(authz: Authorizer, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """After ``session`` committed: apply the changes it logged, reading the log only if others came between."""
    written: list[Change] = session.info.pop(WRITTEN, [])
    if written and not authz.apply(written):
        async with transaction(sessionmaker, read_only=True) as fresh:
            await catch_up(authz, fresh)


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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
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
            await connection.add_listener(CHANNEL, self._notified)
            connection.add_termination_listener(self._lost)
        except Exception:  # noqa: BLE001 - polling covers until the next attempt
            log.warning("cannot LISTEN for policy changes; polling every %ss", self.poll_seconds, exc_info=True)
            return
        self._listener = connection
        self._wake.set()  # catch up on what was committed before the LISTEN began

    def _notified(self, *_args: Any) -> None:
        self._wake.set()

    def _lost(self, *_args: Any) -> None:
        self._listener = None
        self._wake.set()

    async def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
