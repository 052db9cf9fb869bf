"""Delivering one outbox row to its subscription: a Standard Webhooks POST or a pushed SET.

Standard Webhooks (https://www.standardwebhooks.com, the ``standardwebhooks`` library signs):
``webhook-id`` is the outbox row's id (the same on retries and replays, for the receiver's
idempotency), ``webhook-timestamp`` the moment of this attempt, ``webhook-signature``
``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body`` under the subscription's secret; any 2xx
is success. A security event (RFC 8935 section 2): the SET as the body with ``Content-Type:
application/secevent+jwt``; only 202 is success. Every attempt goes through the SSRF guard
(:mod:`eam.webhooks.guard`); any other answer, a redirect included, is a failed attempt, retried
by the outbox with backoff and dead-lettered after the configured attempts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import msgspec
from standardwebhooks import Webhook

from eam.core.context import Services
from eam.core.database import transaction
from eam.outbox.models import OutboxMessage
from eam.signing_keys.keyring import key_fernet
from eam.tokens.signer import sign_jwt
from eam.webhooks import guard
from eam.webhooks.events import CHANNELS, SECEVENT
from eam.webhooks.models import WebhookSubscription
from eam.webhooks.secevents import SET_MEDIA_TYPE, SET_TYP, set_claims


class DeliveryFailed(Exception):
    """The receiver did not accept the delivery (its status and the start of its answer)."""


@dataclass
class WebhookSender:
    services: Services

    async def __call__(self, row: OutboxMessage) -> None:
        settings = self.services.settings
        async with transaction(self.services.sessionmaker, read_only=True) as session:
            subscription = await session.get(WebhookSubscription, uuid.UUID(row.recipient))
            if subscription is None:
                raise LookupError(f"webhook subscription {row.recipient} no longer exists")
            if CHANNELS[subscription.format] != row.channel:
                raise LookupError(f"webhook subscription {row.recipient} no longer takes {row.channel} deliveries")
            now = self.services.clock()
            if subscription.format == SECEVENT:
                claims = set_claims(
                    row.payload, issuer=settings.issuer_url, audience=subscription.application or "", jti=str(row.id), now=now
                )
                body = (await sign_jwt(session, self.services.keyring, claims, typ=SET_TYP)).encode("ascii")
                headers = {"Content-Type": SET_MEDIA_TYPE, "Accept": "application/json"}
                accepted: tuple[int, ...] = (202,)
            else:
                secret = key_fernet(settings).decrypt(subscription.secret_encrypted.encode("ascii")).decode("ascii")
                body = msgspec.json.encode(row.payload)
                signature = Webhook(secret).sign(str(row.id), now, body.decode("utf-8"))
                headers = {
                    "Content-Type": "application/json",
                    "webhook-id": str(row.id),
                    "webhook-timestamp": str(int(now.astimezone(dt.UTC).timestamp())),
                    "webhook-signature": signature,
                }
                accepted = tuple(range(200, 300))
            url = subscription.url
        target = await guard.resolve(url, settings)
        status, answer = await guard.post(target, body, headers, settings.webhook_timeout_seconds)
        if status not in accepted:
            raise DeliveryFailed(f"HTTP {status}: {answer}")
