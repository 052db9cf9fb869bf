from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec


class AuditEventOut(msgspec.Struct, frozen=True):
    id: int
    occurred_at: dt.datetime
    actor_id: uuid.UUID | None
    actor: str
    action: str
    organisation_id: uuid.UUID | None
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    http_request_id: str | None
