"""Domain errors with stable problem types.

Domain code raises these, never HTTP exceptions; ``eam.problems`` turns each into an
RFC 9457 ``application/problem+json`` response whose ``type`` is ``urn:eam:problem:<code>``.
The codes are part of the API contract: never rename one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

PROBLEM_TYPE_PREFIX = "urn:eam:problem:"


class EAMError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.code


class FieldError(dict):
    """One field's problem: ``{"field": "$.justification", "message": "..."}``."""

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(field=field, message=message, **extra)


class ValidationFailed(EAMError):
    status = 422
    code = "validation-error"
    title = "The request is not valid"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extensions: Any) -> None:
        super().__init__(detail, errors=errors or [], **extensions)


class ImportHasErrors(ValidationFailed):
    """An import applied all or nothing found lines in error: nothing was written. ``receipt``
    has every line's outcome and problems."""

    code = "import-has-errors"
    title = "Some lines of the file cannot be imported; nothing was imported"


class UnknownQueryParameter(ValidationFailed):
    """A query parameter the operation does not read: refused, never silently ignored (a filter
    misspelt or not offered would otherwise look applied). ``errors`` names each as ``query.<name>``."""

    code = "unknown-query-parameter"
    title = "The operation has no such query parameter"


class BadRequest(EAMError):
    status = 400
    code = "bad-request"
    title = "Malformed request"


class Unauthenticated(EAMError):
    status = 401
    code = "unauthenticated"
    title = "Valid credentials are required"


class Forbidden(EAMError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(EAMError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(EAMError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class DuplicateRequest(Conflict):
    code = "duplicate-request"
    title = "An identical request is already pending"


class AlreadyAssigned(Conflict):
    code = "already-assigned"
    title = "The user already holds this access"


class NotPending(Conflict):
    code = "request-not-pending"
    title = "The access request is no longer pending"


class AssignmentNotActive(Conflict):
    code = "assignment-not-active"
    title = "The assignment is no longer active"


class RenewalWindowClosed(Conflict):
    """An expired assignment is renewed only up to ``EAM_RENEWAL_GRACE_DAYS`` after its end;
    later, new access is asked for (``renewable_until`` says when the window closed)."""

    code = "renewal-window-closed"
    title = "The assignment ended too long ago to be renewed"


class RegisterClosed(Conflict):
    """The register's end date (``ends_on``) has passed: no new requests, grants or extensions."""

    code = "register-closed"
    title = "The register has ended"


class OrganisationDisabled(Conflict):
    code = "organisation-disabled"
    title = "The organisation is disabled"


class LastAccessManager(Conflict):
    code = "last-access-manager"
    title = "An active organisation needs at least one access manager"


class SeparationOfDuties(Conflict):
    """The access would give a person two profiles that a ``[[separation_of_duties]]`` rule of
    the catalogue declares incompatible. ``rule`` names the rule, ``conflicting_assignment`` the
    access already held (or, in an import, ``conflicting_line`` the line that asks for it)."""

    code = "separation-of-duties"
    title = "The access would break a separation of duties"


class PersonLeft(Conflict):
    code = "person-left"
    title = "The person has left the organisation already"


class AlreadyExists(Conflict):
    code = "already-exists"
    title = "It exists already"


class PayloadTooLarge(EAMError):
    """RFC 9110 section 15.5.14: the body is larger than the operation accepts (``limit``, in bytes)."""

    status = 413
    code = "payload-too-large"
    title = "The content is too large"


class MalformedBody(BadRequest):
    """The body cannot be read as JSON at all: not UTF-8, not JSON syntax, numbers out of range,
    nesting deeper than any EAM document, or empty where a JSON object is required."""

    code = "malformed-body"
    title = "The body is not valid JSON"


class UnsupportedMediaType(EAMError):
    """RFC 9110 section 15.5.16: JSON bodies must be sent as ``application/json``."""

    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"

    def __init__(self, detail: str, *, method: str, accepted: str) -> None:
        super().__init__(detail, accepted=[accepted])
        # RFC 5789 section 3.1 (Accept-Patch) and the W3C LDP Accept-Post header say what is accepted.
        self.headers = {"Accept-Patch" if method == "PATCH" else "Accept-Post": accepted}


class NoActiveAssignment(Forbidden):
    code = "no-active-assignment"
    title = "No active assignment grants this access"


class ServiceUnavailable(EAMError):
    status = 503
    code = "service-unavailable"
    title = "The service cannot answer this now"


class OAuthError(EAMError):
    """An OAuth 2.0 protocol error (RFC 6749 section 5.2).

    OAuth clients parse ``error``/``error_description`` from an ``application/json`` body, so
    these answers carry those members next to the problem details members, in that media type.
    """

    status = 400
    error: ClassVar[str] = "invalid_request"
    media_type: ClassVar[str] = "application/json"
    #: The ``WWW-Authenticate`` challenge sent with the error, if any.
    challenge: ClassVar[str | None] = None


class OAuthInvalidRequest(OAuthError):
    code = "oauth-invalid-request"
    title = "The OAuth request is not valid"
    error = "invalid_request"


class OAuthInvalidClient(OAuthError):
    """RFC 6749 section 5.2: client authentication failed; 401 with a ``WWW-Authenticate`` challenge."""

    status = 401
    code = "oauth-invalid-client"
    title = "Client authentication failed"
    error = "invalid_client"
    challenge = 'Basic realm="eam"'


class OAuthInvalidScope(OAuthError):
    """RFC 6749 section 5.2: a requested scope is unknown or not granted to the client."""

    code = "oauth-invalid-scope"
    title = "The requested scope is not granted"
    error = "invalid_scope"


class OAuthInvalidToken(OAuthError):
    """RFC 6750 section 3.1: the bearer token authorizing the call is invalid, expired or revoked."""

    status = 401
    code = "oauth-invalid-token"
    title = "The bearer token is not valid"
    error = "invalid_token"
    challenge = 'Bearer realm="eam", error="invalid_token"'


class OAuthInsufficientScope(OAuthError):
    """RFC 6750 section 3.1: the bearer token is valid but lacks the scope this call needs."""

    status = 403
    code = "oauth-insufficient-scope"
    title = "The token lacks the scope this call needs"
    error = "insufficient_scope"
    challenge = 'Bearer realm="eam", error="insufficient_scope"'


class OAuthUnsupportedGrantType(OAuthError):
    code = "oauth-unsupported-grant-type"
    title = "The grant type is not supported"
    error = "unsupported_grant_type"


class OAuthInvalidTarget(OAuthError):
    """RFC 8693 section 2.2.2 / RFC 8707: no token can be issued for the requested audience or resource."""

    code = "oauth-invalid-target"
    title = "No token can be issued for this target"
    error = "invalid_target"


class OAuthInvalidAuthorizationDetails(OAuthError):
    """RFC 9396 section 5: the ``authorization_details`` parameter is malformed or names an unknown type."""

    code = "oauth-invalid-authorization-details"
    title = "The authorization details are not valid"
    error = "invalid_authorization_details"


class OAuthUnauthorizedClient(OAuthError):
    code = "oauth-unauthorized-client"
    title = "The client may not do this"
    error = "unauthorized_client"


class ItemProblem(msgspec.Struct, frozen=True):
    """Why one item of a bulk call failed: its RFC 9457 problem, as the single call would answer."""

    type: str
    status: int
    title: str
    detail: str

    @classmethod
    def of(cls, exc: EAMError) -> ItemProblem:
        return cls(type=exc.type_uri, status=exc.status, title=exc.title, detail=exc.detail)

    @property
    def code(self) -> str:
        return self.type.removeprefix(PROBLEM_TYPE_PREFIX)


class ReviewOwnAssignment(Forbidden):
    """Four eyes: nobody reviews their own access, not even a platform admin."""

    code = "review-own-assignment"
    title = "Nobody may review their own access"


class ReviewClosed(Conflict):
    code = "review-closed"
    title = "The access review is closed (its deadline has passed)"


class ReviewItemDecided(Conflict):
    code = "review-item-decided"
    title = "This item of the access review has been decided already"
