"""Fan every audited change out to the subscriptions that want it, in the change's transaction.

Installed into the audit writer (:func:`eam.core.audit.on_events_written`): when a transaction
commits its audit events, one outbox row is added per (event, subscription that wants it), in
the same transaction, so a rolled-back change pushes nothing and a committed one is always
pushed (at least once). The cost when nobody subscribes is one query on a table of a
few rows (no index needed) per writing transaction (read-only transactions write no events and pay nothing); no
per-process cache, so a subscription made by another worker or node takes effect at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from eam.outbox.models import OutboxMessage
from eam.outbox.service import PENDING
from eam.outbox.wakeup import note_enqueued
from eam.webhooks.events import CHANNELS, SECEVENT, SECURITY_EVENTS, application_of, message, wanted
from eam.webhooks.models import WebhookSubscription

_ACTIVE = select(
    WebhookSubscription.id, WebhookSubscription.events, WebhookSubscription.format, WebhookSubscription.application
).where(WebhookSubscription.paused.is_(False))


def fan_out(session: Session, events: list[dict[str, Any]]) -> None:
    subscriptions = session.execute(_ACTIVE).all()
    if not subscriptions:
        return
    rows = []
    for event in events:
        action, application = event["action"], application_of(event)
        for sub_id, sub_events, sub_format, sub_application in subscriptions:
            if not wanted(sub_events, action):
                continue
            if sub_format == SECEVENT and action not in SECURITY_EVENTS:
                continue
            if sub_application is not None and application is not None and application != sub_application:
                continue
            rows.append(
                dict(
                    id=uuid.uuid4(),
                    channel=CHANNELS[sub_format],
                    event=action,
                    recipient=str(sub_id),
                    payload=message(event),
                    status=PENDING,
                    attempts=0,
                    created_at=event["occurred_at"],
                    next_attempt_at=event["occurred_at"],
                )
            )
    if rows:
        session.execute(insert(OutboxMessage.__table__), rows)
        note_enqueued(session)
