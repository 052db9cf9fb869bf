"""The outbox delivery worker: every process with housekeeping runs one (see :mod:`eam.app`).

Each round claims due rows, delivers them and records the outcomes (:func:`deliver_due`); the
worker sleeps ``EAM_OUTBOX_POLL_SECONDS`` between rounds that found nothing and goes straight on
after a full one, or as soon as a commit in this process enqueued something
(:mod:`eam.outbox.wakeup`). Several processes and nodes share the rows (PostgreSQL ``SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import logging

from eam.core.context import Services
from eam.outbox import wakeup
from eam.outbox.service import Deliver, deliver_due

logger = logging.getLogger("eam.outbox")

#: Rows claimed per round (each delivered one after the other, within the lease).
BATCH = 20


async def run_outbox(services: Services, deliver: Deliver) -> None:
    wake = asyncio.Event()
    wakeup.register(wake)
    try:
        await _rounds(services, deliver, wake)
    finally:
        wakeup.unregister(wake)


async def _rounds(services: Services, deliver: Deliver, wake: asyncio.Event) -> None:
    settings = services.settings
    while True:
        wake.clear()
        try:
            counts = await deliver_due(services.sessionmaker, settings, services.clock, deliver, limit=BATCH)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("outbox round failed; it runs again after the poll interval")
            counts = {}
        if counts.get("dead"):
            logger.warning("outbox: %d message(s) dead-lettered after %d attempts", counts["dead"], settings.outbox_max_attempts)
        if sum(counts.values()) < BATCH:
            try:
                await asyncio.wait_for(wake.wait(), settings.outbox_poll_seconds)
            except TimeoutError:
                pass
