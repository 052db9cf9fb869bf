from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import msgspec

from eam.users.schemas import UserRef


class AuditorIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"user_id": "9b2e6f1a-4c3d-4e8f-a1b2-c3d4e5f60718"}

    user_id: uuid.UUID


class AuditorOut(msgspec.Struct, frozen=True):
    """An auditor of one organisation (``organisation_id``), or of every organisation (None)."""

    organisation_id: uuid.UUID | None
    user_id: uuid.UUID
    display_name: str
    email: str | None
    appointed_at: dt.datetime
    #: The access manager or platform admin who appointed them; None for EAM itself.
    appointed_by: UserRef | None
