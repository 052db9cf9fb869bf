"""The states things are in. Stored as their string values; compare and assign members only.

``AssignmentStatus.SCHEDULED`` is never stored: it is how an ``active`` assignment whose
``valid_from`` lies ahead reads (like ``expired`` for one past ``valid_until`` not yet swept).
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class AssignmentStatus(StrEnum):
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    REVOKED = "revoked"


class OrganisationStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class ClientStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class KeyStatus(StrEnum):
    CURRENT = "current"
    PREVIOUS = "previous"
    RETIRED = "retired"


class ReviewStatus(StrEnum):
    """An access review campaign: ``open`` until its deadline is handled, then ``closed``."""

    OPEN = "open"
    CLOSED = "closed"


class ReviewDecision(StrEnum):
    KEEP = "keep"
    CHANGE = "change"
    REVOKE = "revoke"


class ReviewRecurrence(StrEnum):
    NONE = "none"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
