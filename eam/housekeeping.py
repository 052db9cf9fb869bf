"""Periodic housekeeping: record expiries that are already in effect.

Expiry never waits for this task: a pending request past its expiry and an assignment past
``valid_until`` read as expired at once everywhere. This sweep only writes the state change and
its audit event, and drops the inert policy row.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.access_requests.workflow import expire_due as expire_requests
from eam.assignments.service import expire_due as expire_assignments
from eam.audit.recorder import Auditor
from eam.database import Clock, transaction

logger = logging.getLogger("eam.housekeeping")

SYSTEM_ACTOR = "system:expiry"


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> tuple[int, int]:
    async with transaction(sessionmaker) as session:
        auditor = Auditor(session=session, actor_id=None, actor=SYSTEM_ACTOR, now=clock())
        requests = await expire_requests(session, auditor, auditor.now)
        assignments = await expire_assignments(session, auditor, auditor.now)
    return requests, assignments


async def run_periodically(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            expired = await sweep(sessionmaker, clock)
            if any(expired):
                logger.info("expired %d requests and %d assignments", *expired)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("expiry sweep failed; retrying in %.0f s", interval)
