"""Write audit events through the request's own session, so they commit or roll back with it.

Events are held on the session until it commits and then inserted together, in the order they
were recorded: an operation that records several (an approval: the decision and the assignment
it creates) costs one INSERT, not one per event between its reads. A rollback drops them.

Before the INSERT the events are linked into the hash chain (:mod:`eam.core.audit_chain`): one
small query for the chain's head (on PostgreSQL after the chain's advisory lock). Releasing a
SAVEPOINT (``before_commit`` fires for it too) writes nothing: the events wait for the outermost
commit, so a transaction writes its events once, in one batch. Read-only transactions record
nothing and pay nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from eam.audit.models import AuditEvent
from eam.core.audit_chain import as_stored, head, link
from eam.observability.metrics import note_audit_action

#: How the audit trail names EAM's own actors: ``system:expiry``, ``system:keys``, ``system:cli:<operator>``.
SYSTEM_PREFIX = "system:"
#: The system actor that records expiries, in the sweep job or when a request comes across one.
EXPIRY = "expiry"
#: Session ``info`` key: the events recorded in the open transaction, written before it commits.
RECORDED = "eam.audit_events"

#: Called with the session and the events just written (ids and hashes set), inside the same
#: transaction, so what they add commits or rolls back with the events. Core knows no feature:
#: a feature that reacts to audited changes (webhooks fan them out to subscriptions) installs one
#: with :func:`on_events_written`.
EventsWritten = Callable[[Session, list[dict[str, Any]]], None]
_LISTENERS: list[EventsWritten] = []


def on_events_written(listener: EventsWritten) -> None:
    """Install ``listener`` once per process (installing it again changes nothing)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


@event.listens_for(Session, "before_commit")
def _write_recorded(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT is released: its events are written with the transaction's
    events = session.info.pop(RECORDED, None)
    if events:
        # The transaction's other writes first: once it holds the chain's lock it only inserts
        # the events and commits, so it never waits for a row lock while others queue behind it.
        session.flush()
        link(events, *head(session))
        # Core, not the ORM: nothing reads the rows back (no RETURNING of their ids).
        session.execute(insert(AuditEvent.__table__), events)
        for listener in _LISTENERS:
            listener(session, events)


@event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(RECORDED, None)


@dataclass
class Auditor:
    session: AsyncSession
    actor_id: uuid.UUID | None
    actor: str
    now: dt.datetime
    http_request_id: str | None = None

    @classmethod
    def system(cls, session: AsyncSession, actor: str, now: dt.datetime) -> Auditor:
        """Events by EAM itself (``system:<actor>``): jobs, imports, the CLI, and what a request
        does on the system's behalf (recording an expiry it came across), never in the name of
        whoever's request it was."""
        return cls(session=session, actor_id=None, actor=f"{SYSTEM_PREFIX}{actor}", now=now)

    def record(
        self,
        action: str,
        *,
        target_type: str,
        target_id: str | uuid.UUID,
        organisation_id: uuid.UUID | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Append one event: who (actor), when, what (action + target), before/after."""
        note_audit_action(self.session, action)
        self.session.info.setdefault(RECORDED, []).append(
            dict(
                occurred_at=self.now,
                actor_id=self.actor_id,
                actor=self.actor,
                action=action,
                organisation_id=organisation_id,
                target_type=target_type,
                target_id=str(target_id),
                before=as_stored(before),
                after=as_stored(after),
                http_request_id=self.http_request_id,
            )
        )
