"""Waking the delivery worker of this process when a transaction that wrote to the outbox commits.

Without it a message waits up to ``EAM_OUTBOX_POLL_SECONDS`` for the next round; with it the
worker starts a round as soon as the commit is done (a revocation's security event leaves within
milliseconds, ``bench/set_push_latency.py``). Writers mark the session (:func:`note_enqueued`);
an ``after_commit`` listener wakes every worker of the process; a rollback wakes no one. Workers of
other processes still find the rows at their next poll.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

#: Session ``info`` key: the open transaction wrote outbox rows.
ENQUEUED = "eam.outbox_enqueued"
_WAITERS: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}


def note_enqueued(session: Session) -> None:
    session.info[ENQUEUED] = True


def register(wake: asyncio.Event) -> None:
    """Wake ``wake`` (on the running loop) after every commit that enqueued something."""
    _WAITERS[wake] = asyncio.get_running_loop()


def unregister(wake: asyncio.Event) -> None:
    _WAITERS.pop(wake, None)


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if not session.info.pop(ENQUEUED, False):
        return
    for wake, loop in list(_WAITERS.items()):
        if loop.is_closed():
            continue
        loop.call_soon_threadsafe(wake.set)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(ENQUEUED, None)
