"""Write audit events through the request's own session, so they commit or roll back with it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from eam.audit.models import AuditEvent
from eam.observability.metrics import note_audit_action


@dataclass
class Auditor:
    session: AsyncSession
    actor_id: uuid.UUID | None
    actor: str
    now: dt.datetime
    http_request_id: str | None = None

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
        self.session.add(
            AuditEvent(
                occurred_at=self.now,
                actor_id=self.actor_id,
                actor=self.actor,
                action=action,
                organisation_id=organisation_id,
                target_type=target_type,
                target_id=str(target_id),
                before=before,
                after=after,
                http_request_id=self.http_request_id,
            )
        )
