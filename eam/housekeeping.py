"""Periodic housekeeping: record expiries that are already in effect, maintain signing keys,
and drop expired sign-in state.

Expiry never waits for this task: a pending request past its expiry and an assignment past
``valid_until`` read as expired at once everywhere. This sweep only writes the state change and
its audit event, and drops the inert policy row.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.access_requests.workflow import expire_due as expire_requests
from eam.assignments.service import expire_due as expire_assignments
from eam.core.audit import Auditor
from eam.auth.sessions import forget_expired_sign_ins
from eam.authz.policy_store import prune_change_log
from eam.core.database import Clock, transaction
from eam.core.errors import Conflict
from eam.grant_tokens.introspection import forget_expired_revocations
from eam.core.settings import Settings
from eam.signing_keys.keyring import retire_due, rotate_if_due

logger = logging.getLogger("eam.housekeeping")

SYSTEM_ACTOR = "system:expiry"
KEYS_ACTOR = "system:keys"


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> tuple[int, int]:
    async with transaction(sessionmaker) as session:
        auditor = Auditor(session=session, actor_id=None, actor=SYSTEM_ACTOR, now=clock())
        requests = await expire_requests(session, auditor, auditor.now)
        assignments = await expire_assignments(session, auditor, auditor.now)
    return requests, assignments


async def prune_policy_log(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessionmaker) as session:
        return await prune_change_log(session)


async def forget_sign_ins(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> tuple[int, int]:
    async with transaction(sessionmaker) as session:
        return await forget_expired_sign_ins(session, clock())


async def maintain_keys(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock) -> int:
    """Rotate the signing key when it is due, retire keys whose tokens have all expired, and
    forget revocations of tokens that have expired. Returns the number of keys retired."""
    async with transaction(sessionmaker) as session:
        auditor = Auditor(session=session, actor_id=None, actor=KEYS_ACTOR, now=clock())
        await forget_expired_revocations(session, auditor.now)
        retired = await retire_due(session, auditor)
    await ensure_signing_key(sessionmaker, settings, clock)
    return retired


async def ensure_signing_key(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock) -> None:
    """A current key of the configured algorithm and age; a worker that loses the race to
    rotate (another worker rotated at the same moment) simply uses the winner's key."""
    try:
        async with transaction(sessionmaker) as session:
            auditor = Auditor(session=session, actor_id=None, actor=KEYS_ACTOR, now=clock())
            key = await rotate_if_due(session, settings, auditor)
        if key is not None:
            logger.info("new grant-token signing key %s (%s)", key.kid, key.alg)
    except (Conflict, IntegrityError):
        logger.info("another worker rotated the signing key at the same time")


async def run_periodically(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, interval: float
) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            expired = await sweep(sessionmaker, clock)
            if any(expired):
                logger.info("expired %d requests and %d assignments", *expired)
            await maintain_keys(sessionmaker, settings, clock)
            await forget_sign_ins(sessionmaker, clock)
            await prune_policy_log(sessionmaker)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("expiry sweep failed; retrying in %.0f s", interval)
