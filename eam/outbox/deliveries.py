"""The delivery log, for platform admins: what was sent, what waits, what was given up on; and
sending a dead message again.

Only the envelope is shown (channel, event, recipient, subject, attempts, times, the short last
error): never the body, which may hold a justification typed by someone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec
from sqlalchemy import select, update

from eam.core.context import Context
from eam.core.errors import Conflict, NotFound
from eam.core.paging import fetch_page
from eam.outbox.models import OutboxMessage
from eam.outbox.service import DEAD, PENDING

DeliveryStatus = Literal["pending", "delivered", "dead"]


class DeliveryOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    channel: str
    event: str
    recipient: str
    subject: str | None
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    last_error: str | None


def delivery_out(row: OutboxMessage) -> DeliveryOut:
    subject = row.payload.get("subject") if isinstance(row.payload, dict) else None
    return DeliveryOut(
        id=row.id,
        channel=row.channel,
        event=row.event,
        recipient=row.recipient,
        subject=subject if isinstance(subject, str) else None,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )


async def list_deliveries(ctx: Context, status: DeliveryStatus | None, limit: int, cursor: str | None) -> tuple[list[DeliveryOut], str | None]:
    """Newest first; platform admins only."""
    ctx.require_platform("outbox", "read")
    stmt = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return [delivery_out(row) for row in rows], next_cursor


async def send_again(ctx: Context, message_id: uuid.UUID) -> DeliveryOut:
    """A dead message is due again at once, with its attempts counted afresh (compare-and-set on
    ``dead``: two admins at once, one succeeds, the other gets 409). Audited."""
    ctx.require_platform("outbox", "retry")
    row = await ctx.session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"no message {message_id} in the outbox")
    result = await ctx.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=ctx.now, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"message {message_id} is {row.status}: only a dead message is sent again")
    ctx.audit.record("outbox.resent", target_type="outbox", target_id=message_id, after={"event": row.event, "channel": row.channel})
    await ctx.session.refresh(row)
    return delivery_out(row)
