from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import msgspec

from eam.users.schemas import UserRef


class AccessManagerIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"user_id": "9b2e6f1a-4c3d-4e8f-a1b2-c3d4e5f60718"}

    user_id: uuid.UUID


class AccessManagerOut(msgspec.Struct, frozen=True):
    organisation_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    email: str | None
    appointed_at: dt.datetime
    #: The platform admin or fellow access manager who appointed them; None for EAM itself.
    appointed_by: UserRef | None
