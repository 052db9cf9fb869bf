from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import msgspec

from eam.access_requests.schemas import Reason


class DepartureIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Why the person left; kept with every revocation and withdrawal it causes, and audited."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "Left the hospital on 30 November."}

    reason: Reason


class DepartureOut(msgspec.Struct, frozen=True):
    """What ending the person's membership ended with it."""

    organisation_id: uuid.UUID
    user_id: uuid.UUID
    left_at: dt.datetime
    reason: str
    assignments_revoked: int
    requests_withdrawn: int
    access_manager_removed: bool
    auditor_removed: bool
