"""What the access review API takes and gives."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.access_requests.schemas import FutureTime, Reason
from eam.catalogue.schemas import ApplicationCode, Profile, RegisterCode
from eam.core.errors import ItemProblem
from eam.users.schemas import UserRef

DecisionName = Literal["keep", "change", "revoke"]
DefaultDecision = Literal["keep", "revoke"]
Recurrence = Literal["none", "monthly", "quarterly", "yearly"]
ReviewState = Literal["open", "closed"]
ItemState = Literal["pending", "decided"]


class ReviewCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Start a campaign over the live assignments of an organisation, an application, a register
    (or a combination). Without ``organisation_id`` the campaign spans every organisation: only
    platform admins may start one."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "organisation_id": "3f0c1c4e-8d7a-4b8e-9d52-0b6a3c1f2e77",
        "application": "healthstat",
        "deadline": "2030-03-31T22:00:00Z",
        "default_decision": "revoke",
        "recurrence": "quarterly",
    }

    deadline: FutureTime
    default_decision: DefaultDecision
    organisation_id: uuid.UUID | None = None
    application: ApplicationCode | None = None
    register: RegisterCode | None = None
    recurrence: Recurrence = "none"


class ReviewCounts(msgspec.Struct, frozen=True):
    pending: int = 0
    kept: int = 0
    changed: int = 0
    revoked: int = 0
    #: Decided by the campaign's default at its deadline (also counted as kept or revoked).
    defaulted: int = 0


class ReviewOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: ReviewState
    organisation_id: uuid.UUID | None
    application: str | None
    register: str | None
    deadline: dt.datetime
    default_decision: DefaultDecision
    recurrence: Recurrence
    #: Assignments under review (live when the campaign started).
    item_count: int
    created_at: dt.datetime
    #: Who started it; None when EAM started it (the next round of a recurring campaign).
    created_by: UserRef | None
    previous_id: uuid.UUID | None
    closed_at: dt.datetime | None


class ReviewItemOut(msgspec.Struct, frozen=True):
    #: The item's id within its campaign: the assignment's.
    assignment_id: uuid.UUID
    review_id: uuid.UUID
    organisation_id: uuid.UUID
    user: UserRef
    application: str
    register: str
    #: The profile and end as they stood when the campaign started.
    profile: Profile
    valid_until: dt.datetime | None
    status: ItemState
    decision: DecisionName | None
    defaulted: bool
    reason: str | None
    decided_at: dt.datetime | None
    decided_by: UserRef | None


class DecisionIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Keep, change (a new ``profile`` and/or ``valid_until``; ``null`` removes the end) or revoke
    the assignment, with a reason (kept with the decision, the change or the revocation)."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "decision": "change",
        "reason": "Now reports on individual patients only.",
        "profile": {"role": "data_provider", "data_level": "individual"},
    }

    decision: DecisionName
    reason: Reason
    profile: Profile | None = None
    valid_until: FutureTime | None | msgspec.UnsetType = msgspec.UNSET


#: Items one bulk call may decide.
MAX_DECISIONS = 100


class DecisionsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One decision (keep or revoke) with one reason for many items (named by assignment id),
    each decided on its own."""

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "assignment_ids": ["9b2e6f1a-4c3d-4e8f-a1b2-c3d4e5f60718", "a7e9c0d1-2b3c-4d5e-8f9a-0b1c2d3e4f5a"],
        "decision": "keep",
        "reason": "Still part of the study team.",
    }

    assignment_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_DECISIONS)]
    decision: DefaultDecision
    reason: Reason


class DecisionOutcome(msgspec.Struct, frozen=True):
    assignment_id: uuid.UUID
    outcome: Literal["decided", "failed"]
    item: ReviewItemOut | None = None
    problem: ItemProblem | None = None


class DecisionsOut(msgspec.Struct, frozen=True):
    items: list[DecisionOutcome]
    succeeded: int
    failed: int


class ReviewerCounts(msgspec.Struct, frozen=True):
    reviewer: UserRef
    kept: int
    changed: int
    revoked: int


class ReviewReport(msgspec.Struct, frozen=True):
    """The completion report: counts, and the decisions per reviewer (the items themselves are
    listed by ``GET /v1/access-reviews/{review_id}/items`` or downloaded as CSV)."""

    review: ReviewOut
    counts: ReviewCounts
    reviewers: list[ReviewerCounts]
