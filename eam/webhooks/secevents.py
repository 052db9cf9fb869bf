"""Security Event Tokens for applications: access ended or narrowed (RFC 8417, OpenID CAEP).

When an assignment is revoked or expires, or its organisation is disabled, each ``secevent``
subscription receives a CAEP ``session-revoked`` event; when an assignment changes (narrowed or
otherwise) a CAEP ``token-claims-change`` event with the new profile. The SET (RFC 8417 section
2.2): ``iss`` EAM's issuer, ``aud`` the subscription's application, ``iat``, ``jti`` (the outbox
row's id: the same on every retry and replay, so the receiver can drop duplicates), ``txn`` the
audit event's id, and ``events`` with exactly one event. The subject follows the Shared Signals
Framework's subject identifiers (``sub_id``, format ``complex``): ``user`` (EAM's user id, as in
grant tokens' ``sub``), ``tenant`` (the organisation) and ``group`` (the register), each
``opaque``; an organisation disabled names only the tenant. ``eam_assignment`` adds the
assignment's id, application and register. Signed with the grant-token key (header ``typ``
``secevent+jwt``, section 2.3), verifiable with EAM's JWKS (:mod:`eam.verifier_events`), pushed
per RFC 8935 (``Content-Type: application/secevent+jwt``, success is 202).
"""

from __future__ import annotations

import math
import datetime as dt
from typing import Any

#: RFC 8417 section 2.3.
SET_TYP = "secevent+jwt"
SET_MEDIA_TYPE = "application/secevent+jwt"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
SESSION_REVOKED = CAEP + "session-revoked"
TOKEN_CLAIMS_CHANGE = CAEP + "token-claims-change"
#: The profile members that a ``token-claims-change`` reports.
PROFILE = ("role", "data_level", "author_group", "valid_from", "valid_until", "status")


def _opaque(value: object) -> dict[str, str]:
    return {"format": "opaque", "id": str(value)}


def _timestamp(text: str) -> int:
    return math.floor(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def set_claims(payload: dict[str, Any], *, issuer: str, audience: str, jti: str, now: dt.datetime) -> dict[str, Any]:
    """The SET for one delivery (``payload``: the webhook message of a security event)."""
    data = payload["data"]
    action = data["action"]
    state = data["after"] or data["before"] or {}
    subject: dict[str, Any] = {"format": "complex", "tenant": _opaque(data["organisation_id"])}
    event: dict[str, Any] = {
        "event_timestamp": _timestamp(data["occurred_at"]),
        "initiating_entity": "system" if str(data["actor"]).startswith("system:") else "admin",
        "reason_admin": {"en": action},
    }
    if data["target_type"] == "assignment":
        subject["user"] = _opaque(state["user_id"])
        subject["group"] = _opaque(state["register"])
        event["eam_assignment"] = {"id": data["target_id"], "application": state["application"], "register": state["register"]}
    if action == "assignment.changed":
        uri = TOKEN_CLAIMS_CHANGE
        event["claims"] = {name: state.get(name) for name in PROFILE}
    else:
        uri = SESSION_REVOKED
    return {
        "iss": issuer,
        "aud": audience,
        "iat": math.floor(now.timestamp()),
        "jti": jti,
        "txn": str(data["id"]),
        "sub_id": subject,
        "events": {uri: event},
    }
