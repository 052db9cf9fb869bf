from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.core.times import Instant
from eam.catalogue.schemas import ApplicationCode, Profile, RegisterCode
from eam.organisations.schemas import OrganisationRef
from eam.users.schemas import UserRef

Justification = Annotated[
    str,
    msgspec.Meta(
        min_length=10,
        max_length=2000,
        description="Why the access is needed (10–2,000 characters).",
        examples=["I register INTEGO data for our practice network."],
    ),
]
Comment = Annotated[str, msgspec.Meta(max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=2000, examples=["Not part of the study team."])]
#: A time a client sets (an end, a start): see :class:`eam.core.times.Instant`.
FutureTime = Instant
RequestStatus = Literal["pending", "approved", "rejected", "withdrawn", "expired"]


class AccessRequestCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "organisation_id": "3f0c1c4e-8d7a-4b8e-9d52-0b6a3c1f2e77",
        "application": "healthstat",
        "register": "HDBP0147",
        "profile": {"role": "data_provider", "data_level": "hospital"},
        "justification": "I report on our hospital's registrations for this register.",
    }

    organisation_id: uuid.UUID
    application: ApplicationCode
    register: RegisterCode
    profile: Profile
    justification: Justification
    valid_until: FutureTime | None = None


class ChangeRequestIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A holder asks for another profile and/or another end date of an assignment they hold.

    ``valid_until`` left out keeps the current end date; ``null`` asks for no end date."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "valid_until": "2031-06-30T22:00:00Z",
        "justification": "The study was extended by a year.",
    }

    justification: Justification
    profile: Profile | None = None
    valid_until: FutureTime | None | msgspec.UnsetType = msgspec.UNSET


class ApproveIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Approve as requested, or narrow the profile and/or set an end date."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "profile": {"role": "data_provider", "data_level": "individual"},
        "valid_until": "2030-12-31T23:00:00Z",
        "comment": "Individual level is enough for this study.",
    }

    profile: Profile | None = None
    valid_until: FutureTime | None = None
    comment: Comment | None = None


class RejectIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "Not part of the study team."}

    reason: Reason


class WithdrawIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Withdraw, optionally saying why: the reason is kept as the decision comment and audited."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "Asked for the wrong register."}

    reason: Reason | None = None


class AccessRequestOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: RequestStatus
    organisation: OrganisationRef
    requester: UserRef
    application: str
    register: str
    profile: Profile
    justification: str
    valid_until: dt.datetime | None
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: UserRef | None
    decision_comment: str | None
    assignment_id: uuid.UUID | None
    #: Set on a change request: the assignment it asks to change.
    changes_assignment_id: uuid.UUID | None = None
    #: A request pending too long is escalated: 1, re-sent to every access manager of the
    #: organisation; 2, to the platform admins too; 0 not escalated.
    escalation_level: int = 0
    #: When it reached ``escalation_level``.
    escalated_at: dt.datetime | None = None
