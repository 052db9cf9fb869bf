from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from eam.organisations.schemas import OrganisationRef
from eam.users.schemas import UserRef


class AuditEventOut(msgspec.Struct, frozen=True):
    id: int
    occurred_at: dt.datetime
    actor_id: uuid.UUID | None
    actor: str
    action: str
    organisation_id: uuid.UUID | None
    #: The organisation's name and NIHDI number (absent for platform-wide events).
    organisation: OrganisationRef | None
    target_type: str
    target_id: str
    #: The person the event is about (requester, holder of access, access manager, the person
    #: changed), when it is about one who is known to EAM.
    subject: UserRef | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    http_request_id: str | None
