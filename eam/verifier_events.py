"""Verify a Security Event Token that EAM pushed to an application (RFC 8417, RFC 8935, CAEP).

Like :mod:`eam.verifier`, needs only joserfc and the standard library. Usage, in the endpoint
that receives ``POST`` with ``Content-Type: application/secevent+jwt``::

    from eam.verifier_events import SecurityEventVerifier, AccessLost

    events = SecurityEventVerifier(issuer="https://eam.example.org", audience="healthstat")
    lost = events.verify(request_body.decode())   # raises TokenRefused if not a valid SET
    drop_sessions(lost.user_id, lost.register)    # then answer 202 (RFC 8935 section 2.2)

Checks: the ``typ`` header is ``secevent+jwt`` (RFC 8417 section 2.3); the key from EAM's JWKS
by ``kid`` (the grant tokens' keys; key-naming headers refused); the signature; ``iss``; ``aud``
containing the audience; ``iat`` not in the future (leeway); ``jti`` present; no ``exp`` needed
(a SET is a statement of fact, section 2.2); exactly one event in ``events``, of the CAEP types
EAM sends. The result names the user (EAM's user id, the grant tokens' ``sub``), organisation,
register and application that lost or changed access (user and register are None when a whole
organisation was disabled: drop every session of that organisation). ``jti`` is the same on
every retry of one event: keep the ones seen to ignore duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from eam.verifier import (
    KEY_SOURCING_HEADERS,
    SUPPORTED_ALGORITHMS,
    Fetch,
    JWKSCache,
    TokenRefused,
    _fetch_url,
    _JWSRegistry,
    _refusal,
    _unverified_header,
)

__all__ = ["AccessLost", "SecurityEventVerifier", "SESSION_REVOKED", "TOKEN_CLAIMS_CHANGE"]

SET_TYPES = frozenset({"secevent+jwt", "application/secevent+jwt"})
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
SESSION_REVOKED = CAEP + "session-revoked"
TOKEN_CLAIMS_CHANGE = CAEP + "token-claims-change"


@dataclass(frozen=True)
class AccessLost:
    """What one SET says: ``event_type`` is :data:`SESSION_REVOKED` (access ended: revoked,
    expired, organisation disabled) or :data:`TOKEN_CLAIMS_CHANGE` (the profile changed, see
    ``claims``: grant tokens issued before carry the old one)."""

    event_type: str
    user_id: str | None
    organisation_id: str
    register: str | None
    application: str | None
    assignment_id: str | None
    reason: str
    claims: dict[str, Any] | None
    token_id: str
    issued_at: dt.datetime
    occurred_at: dt.datetime


class SecurityEventVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        *,
        leeway: float = 30,
        fetch: Fetch = _fetch_url,
        jwks_max_age: float = 300,
        jwks_min_refetch_interval: float = 5,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = JWKSCache(
            jwks_url or f"{issuer.rstrip('/')}/.well-known/jwks.json",
            max_age=jwks_max_age,
            min_refetch_interval=jwks_min_refetch_interval,
            fetch=fetch,
        )
        self._claims = JWTClaimsRegistry(
            now=time.time,  # type: ignore[arg-type]
            leeway=leeway,  # type: ignore[arg-type]
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            iat={"essential": True},
            jti={"essential": True},
        )

    def verify(self, token: str) -> AccessLost:
        header = _unverified_header(token)
        if str(header.get("typ", "")).lower() not in SET_TYPES:
            raise TokenRefused("not a security event token: the typ header must be secevent+jwt")
        named = [name for name in KEY_SOURCING_HEADERS if name in header]
        if named or "crit" in header:
            raise TokenRefused("the token names its own key or has critical header extensions")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in SUPPORTED_ALGORITHMS or not isinstance(kid, str):
            raise TokenRefused(f"algorithm {alg!r} or kid {kid!r} is not accepted")
        key = self.jwks.key(kid)
        if key is None or key.algorithm_name != alg:
            raise TokenRefused(f"key {kid!r} is not an EAM key for {alg}")
        try:
            signed = jws.deserialize_compact(token, key.jwk, registry=_JWSRegistry(algorithms=[alg], strict_check_header=False))
            claims = json.loads(signed.payload)
            if not isinstance(claims, dict):
                raise TokenRefused("Invalid payload string: must be a json object")
            self._claims.validate(claims)
        except (JoseError, ValueError, TypeError, RecursionError) as exc:
            raise TokenRefused(_refusal(exc)) from None
        return _access_lost(claims)


def _opaque_id(subject: dict[str, Any], member: str) -> str | None:
    value = subject.get(member)
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None


def _access_lost(claims: dict[str, Any]) -> AccessLost:
    try:
        events = claims["events"]
        if not isinstance(events, dict) or len(events) != 1:
            raise ValueError("a SET from EAM carries exactly one event")
        [(event_type, event)] = events.items()
        if event_type not in (SESSION_REVOKED, TOKEN_CLAIMS_CHANGE):
            raise ValueError(f"unknown event type {event_type!r}")
        subject = claims["sub_id"]
        organisation = _opaque_id(subject, "tenant")
        if subject.get("format") != "complex" or organisation is None:
            raise ValueError("the subject is not an EAM complex subject")
        assignment = event.get("eam_assignment") or {}
        return AccessLost(
            event_type=event_type,
            user_id=_opaque_id(subject, "user"),
            organisation_id=organisation,
            register=_opaque_id(subject, "group"),
            application=assignment.get("application"),
            assignment_id=assignment.get("id"),
            reason=str((event.get("reason_admin") or {}).get("en", "")),
            claims=event.get("claims"),
            token_id=str(claims["jti"]),
            issued_at=dt.datetime.fromtimestamp(claims["iat"], dt.UTC),
            occurred_at=dt.datetime.fromtimestamp(event["event_timestamp"], dt.UTC),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TokenRefused(f"malformed security event: {exc}") from None
