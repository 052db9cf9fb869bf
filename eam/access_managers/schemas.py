from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class AccessManagerIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    user_id: uuid.UUID


class AccessManagerOut(msgspec.Struct, frozen=True):
    organisation_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    email: str | None
    appointed_at: dt.datetime
    appointed_by: uuid.UUID | None
