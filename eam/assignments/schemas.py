from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from eam.access_requests.schemas import Comment, FutureTime, Reason
from eam.catalogue.schemas import ApplicationCode, Profile, RegisterCode
from eam.organisations.schemas import OrganisationRef
from eam.users.schemas import UserRef

AssignmentStatus = Literal["active", "scheduled", "expired", "revoked"]


class AssignmentCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Direct creation by an access manager, for a user of their organisation."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID
    application: ApplicationCode
    register: RegisterCode
    profile: Profile
    valid_from: FutureTime | None = None
    valid_until: FutureTime | None = None
    comment: Comment | None = None


class AssignmentPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Change in place: no draft, no second approval. ``valid_until: null`` removes the end date."""

    profile: Profile | None = None
    valid_until: FutureTime | None | msgspec.UnsetType = msgspec.UNSET
    comment: Comment | None = None


class RevokeIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason


class AssignmentOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: AssignmentStatus
    user: UserRef
    organisation: OrganisationRef
    application: str
    register: str
    profile: Profile
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    request_id: uuid.UUID | None
    created_at: dt.datetime
    created_by: uuid.UUID | None
    updated_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: uuid.UUID | None
    revoke_reason: str | None
