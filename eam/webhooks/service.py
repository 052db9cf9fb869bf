"""Webhook subscriptions: made by a platform admin, or by a service client holding the
``webhooks:write`` scope for itself (it sees and changes only its own); listed, paused, resumed
and deleted; their deliveries (the outbox rows naming them) listed and sent again. Every change
is audited (never with the secret)."""

from __future__ import annotations

import base64
import secrets
import uuid

from sqlalchemy import delete, select, update

from eam.core.context import Context
from eam.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from eam.core.paging import fetch_page
from eam.outbox.deliveries import DeliveryOut, delivery_out
from eam.outbox.models import OutboxMessage
from eam.outbox.service import PENDING
from eam.signing_keys.keyring import key_fernet
from eam.webhooks import guard
from eam.webhooks.events import ALL, CHANNELS, SECEVENT, SECURITY_EVENTS
from eam.webhooks.models import WebhookSubscription
from eam.webhooks.schemas import WebhookCreate, WebhookOut, WebhookUpdate

#: Standard Webhooks secrets: ``whsec_`` and base64 of 24-64 random bytes (32 here).
SECRET_PREFIX = "whsec_"


def webhook_out(row: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        url=row.url,
        events=list(row.events),
        format=row.format,  # type: ignore[arg-type]
        application=row.application,
        paused=row.paused,
        owner_client_id=row.owner_client_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _events(data: WebhookCreate) -> list[str]:
    """The events asked for (their names are checked by the schema); a ``secevent``
    subscription takes only the security events (a rule across fields: named as ``$.events``)."""
    if data.events is None:
        return list(SECURITY_EVENTS) if data.format == SECEVENT else [ALL]
    if data.format == SECEVENT and not set(data.events) <= set(SECURITY_EVENTS):
        others = sorted(set(data.events) - set(SECURITY_EVENTS))
        message = f"a secevent subscription takes only {', '.join(SECURITY_EVENTS)}, not {', '.join(others)}"
        raise ValidationFailed(message, [FieldError("$.events", message, allowed=list(SECURITY_EVENTS))])
    return sorted(set(data.events))


async def create(ctx: Context, data: WebhookCreate) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (returned once)."""
    ctx.require_platform("webhook", "create")
    events = _events(data)
    if data.application is not None:
        ctx.catalogue.require_application(data.application)
    elif data.format == SECEVENT:
        raise ValidationFailed("a secevent subscription names its application (the SETs' audience)", [FieldError("$.application", "required for format secevent")])
    await guard.resolve(data.url, ctx.settings)
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    row = WebhookSubscription(
        id=uuid.uuid4(),
        url=data.url,
        events=events,
        format=data.format,
        application=data.application,
        secret_encrypted=key_fernet(ctx.settings).encrypt(secret.encode("ascii")).decode("ascii"),
        paused=False,
        owner_client_id=ctx.client_id,
        created_by=ctx.actor_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    ctx.audit.record("webhook.created", target_type="webhook", target_id=row.id, after=row.snapshot())
    return row, secret


async def get_subscription(ctx: Context, webhook_id: uuid.UUID, action: str = "read", *, for_update: bool = False) -> WebhookSubscription:
    """The subscription, if the caller may see it: a service client only its own (else 404)."""
    ctx.require_platform("webhook", action)
    stmt = select(WebhookSubscription).where(WebhookSubscription.id == webhook_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = await ctx.session.scalar(stmt)
    if row is None or (ctx.client_id is not None and row.owner_client_id != ctx.client_id):
        raise NotFound(f"no webhook subscription {webhook_id}")
    return row


async def list_subscriptions(ctx: Context, limit: int, cursor: str | None) -> tuple[list[WebhookSubscription], str | None]:
    ctx.require_platform("webhook", "read")
    stmt = select(WebhookSubscription).order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id.desc())
    if ctx.client_id is not None:
        stmt = stmt.where(WebhookSubscription.owner_client_id == ctx.client_id)
    return await fetch_page(ctx.session, stmt, limit, cursor)


async def change(ctx: Context, webhook_id: uuid.UUID, data: WebhookUpdate) -> WebhookSubscription:
    """Pause or resume; asking for the state it is in changes nothing and records nothing."""
    row = await get_subscription(ctx, webhook_id, "update", for_update=True)
    if row.paused == data.paused:
        return row
    before = row.snapshot()
    row.paused, row.updated_at = data.paused, ctx.now
    await ctx.session.flush()
    action = "webhook.paused" if data.paused else "webhook.resumed"
    ctx.audit.record(action, target_type="webhook", target_id=row.id, before=before, after=row.snapshot())
    return row


async def remove(ctx: Context, webhook_id: uuid.UUID) -> None:
    """Delete the subscription and its deliveries (sent or waiting): nothing more goes out."""
    row = await get_subscription(ctx, webhook_id, "delete", for_update=True)
    before = row.snapshot()
    await ctx.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.recipient == str(row.id), OutboxMessage.channel.in_(set(CHANNELS.values())))
        .execution_options(synchronize_session=False)
    )
    await ctx.session.delete(row)
    await ctx.session.flush()
    ctx.audit.record("webhook.deleted", target_type="webhook", target_id=webhook_id, before=before)


async def deliveries(ctx: Context, webhook_id: uuid.UUID, limit: int, cursor: str | None) -> tuple[list[DeliveryOut], str | None]:
    """The subscription's deliveries, newest first (the envelope: never the body)."""
    row = await get_subscription(ctx, webhook_id)
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.recipient == str(row.id), OutboxMessage.channel == CHANNELS[row.format])
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    rows, next_cursor = await fetch_page(ctx.session, stmt, limit, cursor)
    return [delivery_out(message) for message in rows], next_cursor


async def replay(ctx: Context, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryOut:
    """Send a delivered or dead delivery again, at once, with the same ``webhook-id`` (or SET
    ``jti``), attempts counted afresh. Compare-and-set: one that is still waiting is 409."""
    subscription = await get_subscription(ctx, webhook_id, "replay")
    message = await ctx.session.get(OutboxMessage, delivery_id)
    if message is None or message.recipient != str(subscription.id) or message.channel != CHANNELS[subscription.format]:
        raise NotFound(f"no delivery {delivery_id} of webhook subscription {webhook_id}")
    result = await ctx.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == delivery_id, OutboxMessage.status != PENDING)
        .values(status=PENDING, attempts=0, next_attempt_at=ctx.now, locked_until=None, delivered_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"delivery {delivery_id} is still waiting to be sent")
    ctx.audit.record(
        "webhook.replayed", target_type="webhook", target_id=webhook_id, after={"delivery_id": str(delivery_id), "event": message.event}
    )
    await ctx.session.refresh(message)
    return delivery_out(message)
