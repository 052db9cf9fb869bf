"""What a subscription can ask for, and what it receives.

Event types are the audit trail's action names (``assignment.revoked``…), or ``*`` for all. A
``standard-webhooks`` delivery's body is::

    {"type": "assignment.revoked", "timestamp": "2026-12-03T08:20:00.000000Z",
     "data": {"id": 42, "action": "assignment.revoked", "organisation_id": "…",
              "target_type": "assignment", "target_id": "…", "before": {…}, "after": {…},
              "occurred_at": "…", "actor": "Alice <alice>"}}

``data`` is the audit event as recorded (never a token, a secret or a national number: the trail
holds none). A ``secevent`` subscription receives, for the :data:`SECURITY_EVENTS`, a Security
Event Token (RFC 8417) built from the same document at delivery (:mod:`eam.webhooks.secevents`).
"""

from __future__ import annotations

from typing import Any

from eam.core.audit_chain import instant

ALL = "*"
STANDARD, SECEVENT = "standard-webhooks", "secevent"
#: Outbox channels: a subscription's format decides its deliveries' channel.
CHANNELS = {STANDARD: "webhook", SECEVENT: "secevent"}

#: Every action EAM audits that a subscription may name.
EVENT_TYPES = (
    "access_manager.appointed",
    "access_manager.removed",
    "access_request.approved",
    "access_request.escalated",
    "access_request.expired",
    "access_request.rejected",
    "access_request.submitted",
    "access_request.withdrawn",
    "access_review.closed",
    "access_review.decided",
    "access_review.started",
    "assignment.changed",
    "assignment.created",
    "assignment.expired",
    "assignment.extended",
    "assignment.renewed",
    "assignment.revoked",
    "auditor.appointed",
    "auditor.removed",
    "organisation.created",
    "organisation.disabled",
    "organisation.enabled",
    "organisation.updated",
    "person.left",
    "register.added",
    "register.end_set",
)
#: What ends or narrows access: the events a ``secevent`` subscription receives (its default).
SECURITY_EVENTS = ("assignment.changed", "assignment.expired", "assignment.revoked", "organisation.disabled")


def wanted(events: list[str], action: str) -> bool:
    return action in events or (ALL in events and action in EVENT_TYPES)


def application_of(event: dict[str, Any]) -> str | None:
    """The application an event is about (an assignment's, a request's), None if none."""
    for state in (event.get("after"), event.get("before")):
        if isinstance(state, dict) and isinstance(state.get("application"), str):
            return str(state["application"])
    return None


def message(event: dict[str, Any]) -> dict[str, Any]:
    """The delivery body of an audit event just written (see the module docstring)."""
    occurred = instant(event["occurred_at"])
    return {
        "type": event["action"],
        "timestamp": occurred,
        "data": {
            "id": event["id"],
            "action": event["action"],
            "organisation_id": None if event["organisation_id"] is None else str(event["organisation_id"]),
            "target_type": event["target_type"],
            "target_id": event["target_id"],
            "before": event["before"],
            "after": event["after"],
            "occurred_at": occurred,
            "actor": event["actor"],
        },
    }
