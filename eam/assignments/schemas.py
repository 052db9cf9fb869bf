from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar, Literal

import msgspec

from eam.access_requests.schemas import Comment, FutureTime, Reason
from eam.catalogue.schemas import ApplicationCode, Profile, RegisterCode
from eam.organisations.schemas import OrganisationRef
from eam.users.schemas import UserRef

AssignmentStatus = Literal["active", "scheduled", "expired", "revoked"]


class AssignmentCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Direct creation by an access manager, for a user of their organisation."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "user_id": "9b2e6f1a-4c3d-4e8f-a1b2-c3d4e5f60718",
        "organisation_id": "3f0c1c4e-8d7a-4b8e-9d52-0b6a3c1f2e77",
        "application": "hd4dp2",
        "register": "HDBP0147",
        "profile": {"role": "local_study_lead"},
        "valid_until": "2030-12-31T23:00:00Z",
        "comment": "Leads the study locally from January.",
    }

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

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "profile": {"role": "data_provider", "data_level": "individual"},
        "valid_until": None,
        "comment": "Now reports on individual patients as well.",
    }

    profile: Profile | None = None
    valid_until: FutureTime | None | msgspec.UnsetType = msgspec.UNSET
    comment: Comment | None = None


class ExtensionIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Extend a live assignment, or renew one that ended within ``EAM_RENEWAL_GRACE_DAYS``:
    ``valid_until`` later than the current end (``null``: no end), capped at the register's end."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"valid_until": "2031-06-30T22:00:00Z", "comment": "The study runs a year longer."}

    valid_until: FutureTime | None
    comment: Comment | None = None


class RevokeIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "Left the organisation."}

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
    #: Who created it (the approver, or the access manager who granted it); None for EAM itself.
    created_by: UserRef | None
    updated_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: UserRef | None
    revoke_reason: str | None
