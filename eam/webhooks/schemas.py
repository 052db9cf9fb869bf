from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.webhooks.events import ALL, EVENT_TYPES

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2000, examples=["https://healthstat.example.org/eam/events"])]
#: An audit action a subscription may name, or ``*`` for all of them.
EventType = Literal[(ALL, *EVENT_TYPES)]  # type: ignore[valid-type]
Format = Literal["standard-webhooks", "secevent"]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``events``: audit actions (``assignment.revoked``…) or ``*`` for all; absent: ``*`` (for
    ``secevent``, the security events). ``secevent`` needs ``application``: the SETs' audience."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "url": "https://healthstat.example.org/eam/events",
        "events": ["assignment.revoked", "assignment.changed"],
        "format": "standard-webhooks",
        "application": "healthstat",
    }

    url: Url
    events: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=64)] | None = None
    format: Format = "standard-webhooks"
    application: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class WebhookUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Pause (nothing is enqueued for a paused subscription) or resume."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"paused": True}

    paused: bool


class WebhookOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    url: str
    events: list[str]
    format: Format
    application: str | None
    paused: bool
    owner_client_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(msgspec.Struct, kw_only=True):
    """Returned once, when the subscription is made: the ``secret`` (``whsec_…``) verifies the
    ``webhook-signature`` of each delivery (Standard Webhooks); it is never shown again."""

    webhook: WebhookOut
    secret: str
