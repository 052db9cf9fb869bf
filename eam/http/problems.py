"""One place that turns errors into RFC 9457 ``application/problem+json`` responses.

``type`` is stable per error kind (``urn:eam:problem:<code>``), ``status`` mirrors the HTTP
status (RFC 9457 section 3.1.4), and validation problems list every field's problem in
``errors`` rather than only the first.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, get_args, get_origin

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.utils.scope.state import ScopeState
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from eam.core.database import is_unique_violation
from eam.core.times import dec_hook
from eam.core.errors import PROBLEM_TYPE_PREFIX, EAMError, FieldError, OAuthError

logger = logging.getLogger("eam")

PROBLEM_MEDIA_TYPE = "application/problem+json"

HTTP_CODES = {
    400: ("bad-request", "Malformed request"),
    401: ("unauthenticated", "Valid credentials are required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "The request is not valid"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    title: str,
    detail: str | None,
    *,
    media_type: str = PROBLEM_MEDIA_TYPE,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_PREFIX + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    body.update({key: value for key, value in extensions.items() if value is not None})
    if headers is None and status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="eam"'}
    return Response(body, status_code=status, media_type=media_type, headers=headers)


def handle_eam_error(request: Request[Any, Any, Any], exc: EAMError) -> Response[dict[str, Any]]:
    if isinstance(exc, OAuthError):
        # RFC 6749 section 5.2 members first; invalid_client answers with a Basic challenge.
        headers = {"WWW-Authenticate": exc.challenge} if exc.challenge else None
        return problem_response(
            request,
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            media_type=exc.media_type,
            headers={**(headers or {}), "Cache-Control": "no-store"},
            error=exc.error,
            error_description=exc.detail,
            **exc.extensions,
        )
    headers = getattr(exc, "headers", None)
    return problem_response(request, exc.status, exc.code, exc.title, exc.detail, headers=headers, **exc.extensions)


def handle_validation_exception(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    body_errors: list[FieldError] = []
    body_type = _body_type(request)
    extras = [item for item in (exc.extra or []) if isinstance(item, dict)]
    if body_type is not None and any(item.get("source") == "body" for item in extras):
        body = ScopeState.from_scope(request.scope).body  # read and cached before validation
        if isinstance(body, bytes):
            try:
                body_errors = collect_errors(body_type, msgspec.json.decode(body))
            except msgspec.DecodeError:
                body_errors = []
    errors = list(body_errors)
    for item in extras:
        raw_source = item.get("source") or "body"
        source = str(getattr(raw_source, "value", raw_source))  # ParamType.QUERY -> "query"
        if source == "body" and body_errors:
            continue
        key = str(item.get("key") or "")
        field = f"$.{key}" if source == "body" else f"{source}.{key}"
        errors.append(FieldError(field, str(item.get("message", "invalid value"))))
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or exc.detail
    return problem_response(request, 422, "validation-error", "The request is not valid", detail, errors=errors)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    code, title = HTTP_CODES.get(status, ("server-error" if status >= 500 else "bad-request", exc.detail))
    detail = exc.detail if exc.detail and exc.detail != title else None
    headers = dict(exc.headers or {})  # e.g. Allow on 405, RateLimit-* on 429
    if status == 429:
        # RFC 9110 section 10.2.3: when to try again (the rate limiter's reset, in seconds).
        headers.setdefault("Retry-After", headers.get("RateLimit-Reset", "60"))
        detail = detail or "too many requests from this address; try again after Retry-After seconds"
    return problem_response(request, status, code, title, detail, headers=headers or None)


def handle_integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    """A uniqueness race lost at commit time: the state changed underneath, nothing was written.

    Only a unique violation is a race (409); a foreign key, NOT NULL or CHECK violation is a
    bug in EAM, answered and logged as one (500), not disguised as a conflict.
    """
    if not is_unique_violation(exc):
        return handle_server_error(request, exc)
    # Not the driver's message: PostgreSQL's DETAIL repeats the conflicting values (an e-mail, a digest).
    constraint = getattr(exc.orig, "constraint_name", None) or getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    logger.info("integrity conflict on %s: %s %s", request.url.path, type(exc.orig).__name__, constraint or "")
    return problem_response(
        request, 409, "conflict", "Conflict with the current state", "a concurrent change conflicts with this one"
    )


def _unavailable(request: Request[Any, Any, Any], detail: str, retry_after: int) -> Response[dict[str, Any]]:
    return problem_response(
        request,
        503,
        "service-unavailable",
        "The service cannot answer this now",
        detail,
        headers={"Retry-After": str(retry_after)},
    )


def handle_pool_timeout(request: Request[Any, Any, Any], exc: PoolTimeout) -> Response[dict[str, Any]]:
    """Every database connection of this worker stayed busy for the pool timeout: try again."""
    logger.warning("no database connection free for %s %s: %s", request.method, request.url.path, exc)
    return _unavailable(request, "the service is busy; try again shortly", 1)


#: SQLSTATE classes of a lost or refused connection (PostgreSQL appendix A): 08 connection
#: exception, 53 insufficient resources (too many connections), 57P operator intervention
#: (terminated by an administrator, shutting down, starting up).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
#: OS errors of files, not of a network: a programming or deployment error, not an outage.
_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database cannot be reached now (at connect, mid-request or at
    commit), as opposed to a statement the database refused."""
    seen = 0
    while exc is not None and seen < 5:  # the error, the driver's error beneath it, their causes
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, TimeoutError)):
            return True
        if isinstance(exc, OSError) and not isinstance(exc, _FILE_ERRORS):  # refused, reset, unreachable
            return True
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        exc = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not exc else exc.__cause__
        seen += 1
    return False


def handle_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Database lost or unreachable: 503 with ``Retry-After`` (RFC 9110 section 15.6.4); the pool
    replaces invalidated connections at the next checkout. Anything else is a server error."""
    if not database_unavailable(exc):
        return handle_server_error(request, exc)
    cause = (exc.orig.__cause__ or exc.orig) if isinstance(exc, DBAPIError) else exc
    # The type and SQLSTATE only: a driver's message may quote the statement or its values.
    logger.warning(
        "database unavailable for %s %s: %s %s",
        request.method,
        request.url.path,
        type(cause).__name__,
        getattr(cause, "sqlstate", None) or "",
    )
    return _unavailable(request, "the database cannot be reached; try again shortly", 5)


def handle_redis_error(request: Request[Any, Any, Any], exc: RedisError) -> Response[dict[str, Any]]:
    """The shared rate-limit store (``EAM_REDIS_URL``) cannot be reached: refuse rather than let
    requests through uncounted."""
    logger.warning("redis unavailable for %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return _unavailable(request, "the rate-limit store cannot be reached; try again shortly", 5)


def handle_server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, DBAPIError):
        # The statement and where it failed, not the driver's message: that may quote a value
        # ("invalid input syntax for type uuid: ...") which hide_parameters cannot hide.
        logger.error(
            "unhandled database error on %s %s: %s (SQLSTATE %s) in %s\nTraceback (most recent call last):\n%s",
            request.method,
            request.url.path,
            type(exc.orig.__cause__ or exc.orig).__name__,  # the driver's own error class
            getattr(exc.orig, "sqlstate", None) or "-",
            exc.statement,
            "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
        )
    else:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "server-error", "Internal server error", None)


EXCEPTION_HANDLERS = {
    EAMError: handle_eam_error,
    ValidationException: handle_validation_exception,
    HTTPException: handle_http_exception,
    IntegrityError: handle_integrity_error,
    PoolTimeout: handle_pool_timeout,
    DBAPIError: handle_database_error,
    DisconnectionError: handle_database_error,
    OSError: handle_database_error,
    RedisError: handle_redis_error,
    Exception: handle_server_error,
}


def _body_type(request: Request[Any, Any, Any]) -> type[msgspec.Struct] | None:
    try:
        parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    except AttributeError:
        return None
    if parameter is None:
        return None
    return _struct_in(parameter.annotation)  # an optional body (``ApproveIn | None``) too


def _described_format(field_type: Any) -> str | None:
    """The ``description`` of the pattern-constrained type (or ``type | None``) of a field."""
    candidates = [field_type, *getattr(field_type, "__args__", ())]
    for candidate in candidates:
        for meta in getattr(candidate, "__metadata__", ()):
            if isinstance(meta, msgspec.Meta) and meta.pattern and meta.description:
                return meta.description
    return None


def collect_errors(struct_type: type[msgspec.Struct], raw: Any, path: str = "$") -> list[FieldError]:
    """Every problem in ``raw`` against ``struct_type``: unknown, missing and invalid fields.

    msgspec stops at the first error; clients deserve the whole list in one answer.
    """
    if not isinstance(raw, dict):
        return [FieldError(path, "must be a JSON object")]
    errors: list[FieldError] = []
    fields = {field.encode_name: field for field in msgspec.structs.fields(struct_type)}
    for name in raw:
        if name not in fields:
            errors.append(FieldError(f"{path}.{name}", "unknown field"))
    for name, field in fields.items():
        field_path = f"{path}.{name}"
        if name not in raw:
            if field.required:
                errors.append(FieldError(field_path, "required"))
            continue
        nested = _struct_in(field.type)
        if nested is not None and isinstance(raw[name], dict):
            errors.extend(collect_errors(nested, raw[name], field_path))
            continue
        try:
            msgspec.convert(raw[name], field.type, strict=False, dec_hook=dec_hook)
        except msgspec.ValidationError as exc:
            message = str(exc)
            suffix = message.rfind(" - at `$")
            message = message[:suffix] if suffix > 0 else message
            if "matching regex" in message and (described := _described_format(field.type)):
                message = f"must be {described}"  # the rule in words, not the regular expression
            errors.append(FieldError(field_path, message))
    if not errors:
        try:
            msgspec.convert(raw, struct_type, strict=False, dec_hook=dec_hook)
        except msgspec.ValidationError as exc:
            errors.append(FieldError(path, str(exc)))
    return errors


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            found = _struct_in(arg)
            if found is not None:
                return found
    return None
