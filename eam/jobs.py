"""Scheduled work: the jobs of every feature (``eam/<feature>/jobs.py``), run by one runner.

Each job is a domain operation on a :class:`~eam.core.context.Context`; the runner gives it a
transaction of its own as a system actor (:func:`~eam.core.context.system_context`), so what it
changes is audited as ``system:<actor>`` and commits or rolls back on its own. A job that fails
is logged and tried again at the next round; the others still run.

Expiry never waits for these jobs: a pending request past its expiry and an assignment past
``valid_until`` read as expired at once everywhere. The sweep only writes the state change and
its audit event, and drops the inert policy row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from eam.access_requests.jobs import escalate_overdue_requests, expire_overdue_requests
from eam.assignments.jobs import expire_ended_assignments
from eam.auth.jobs import forget_ended_sign_ins
from eam.authz.jobs import prune_policy_change_log
from eam.core.audit import EXPIRY
from eam.core.context import Context, Services, system_context
from eam.core.errors import Conflict
from eam.grant_tokens.jobs import forget_spent_revocations
from eam.notifications.jobs import mail_unmanaged, send_digests, send_ending_reminders
from eam.reviews.jobs import close_due_reviews, remind_reviewers
from eam.signing_keys.jobs import retire_spent_keys, rotate_key_if_due

logger = logging.getLogger("eam.jobs")

#: The system actor that maintains signing keys.
KEYS = "keys"


@dataclass(frozen=True)
class Job:
    name: str
    #: The system actor it runs as (``system:<actor>`` in the audit trail).
    actor: str
    run: Callable[[Context], Awaitable[int]]


EXPIRE_REQUESTS = Job("expire-requests", EXPIRY, expire_overdue_requests)
EXPIRE_ASSIGNMENTS = Job("expire-assignments", EXPIRY, expire_ended_assignments)
FORGET_REVOCATIONS = Job("forget-revocations", KEYS, forget_spent_revocations)
RETIRE_KEYS = Job("retire-keys", KEYS, retire_spent_keys)
ROTATE_KEY = Job("rotate-key", KEYS, rotate_key_if_due)
FORGET_SIGN_INS = Job("forget-sign-ins", "sign-in", forget_ended_sign_ins)
PRUNE_POLICY_LOG = Job("prune-policy-log", "policy", prune_policy_change_log)
REMIND_ENDING = Job("remind-ending-assignments", "reminders", send_ending_reminders)
CLOSE_REVIEWS = Job("close-due-reviews", "reviews", close_due_reviews)
REMIND_REVIEWERS = Job("remind-reviewers", "reviews", remind_reviewers)
ESCALATE_REQUESTS = Job("escalate-stale-requests", "escalation", escalate_overdue_requests)
SEND_DIGESTS = Job("send-request-digests", "digests", send_digests)
MAIL_UNMANAGED = Job("mail-unmanaged-organisations", "lifecycle", mail_unmanaged)

#: Every round, in this order.
JOBS = (
    EXPIRE_REQUESTS,
    EXPIRE_ASSIGNMENTS,
    FORGET_REVOCATIONS,
    RETIRE_KEYS,
    ROTATE_KEY,
    FORGET_SIGN_INS,
    PRUNE_POLICY_LOG,
    REMIND_ENDING,
    CLOSE_REVIEWS,
    REMIND_REVIEWERS,
    ESCALATE_REQUESTS,
    SEND_DIGESTS,
    MAIL_UNMANAGED,
)


async def run_job(services: Services, job: Job) -> int:
    """Run one job in a transaction of its own, as its system actor; what it counted."""
    async with system_context(services, job.actor) as ctx:
        return await job.run(ctx)


async def ensure_signing_key(services: Services) -> None:
    """A current key of the configured algorithm and age; a worker that loses the race to
    rotate (another worker rotated at the same moment) simply uses the winner's key."""
    try:
        if await run_job(services, ROTATE_KEY):
            logger.info("new grant-token signing key")
    except (Conflict, IntegrityError):
        logger.info("another worker rotated the signing key at the same time")


async def run_all(services: Services) -> dict[str, int]:
    """One round of every job; a failing job is logged and the round goes on."""
    done: dict[str, int] = {}
    for job in JOBS:
        try:
            if job is ROTATE_KEY:
                await ensure_signing_key(services)
                continue
            done[job.name] = await run_job(services, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("job %s failed; it runs again in the next round", job.name)
    if done.get(EXPIRE_REQUESTS.name) or done.get(EXPIRE_ASSIGNMENTS.name):
        logger.info("expired %d requests and %d assignments", done.get(EXPIRE_REQUESTS.name, 0), done.get(EXPIRE_ASSIGNMENTS.name, 0))
    return done


async def run_periodically(services: Services, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await run_all(services)
