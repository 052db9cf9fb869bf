"""What EAM accepts as input, checked before any handler or dependency runs.

- A query parameter is given once. Every EAM parameter is single-valued, and a repeated one is
  refused (422) rather than read as its last value, so a proxy or firewall that looks at
  the other one cannot be bypassed (HTTP parameter pollution). OAuth forms have the same rule
  (``eam.oauth.forms``).
- RFC 9110 section 15.5.16: a body sent as anything but ``application/json`` (or an
  ``application/*+json`` type, RFC 6839 section 3.1), or in a charset other than UTF-8, is
  refused with 415, listing what is accepted.
- RFC 8259 section 8.1: the body must be UTF-8 JSON. Anything that cannot be decoded (bad UTF-8,
  a lone surrogate escape, a number of thousands of digits or beyond a double, nesting deeper
  than the decoder allows, a member named twice in one object) is one problem,
  ``malformed-body`` (400), never a server error.
- An operation whose body is required refuses an empty one with ``malformed-body`` too.

The decoded value is cached on the request, so the handler's own validation reads it once more
from memory, not from the wire.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.enums import ParamType
from litestar.utils.scope.state import ScopeState

from eam.core.errors import FieldError, MalformedBody, UnsupportedMediaType, ValidationFailed
from eam.core.untrusted_json import decode_untrusted_json

JSON_MEDIA_TYPE = "application/json"
#: Handler parameters that are not read from the query string.
NOT_QUERY_PARAMETERS = frozenset({"self", "ctx", "data", "request", "state", "db"})


def is_json_media_type(content_type: str) -> bool:
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if not (media_type == JSON_MEDIA_TYPE or (media_type.startswith("application/") and media_type.endswith("+json"))):
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


async def check_request(request: Request[Any, Any, Any]) -> None:
    """Litestar ``before_request`` hook: refuse input no handler could read unambiguously."""
    declared = {
        getattr(field.kwarg_definition, "name", None) or name  # QueryParameter(name="...") renames it
        for name, field in request.route_handler.parsed_fn_signature.parameters.items()
        if name not in NOT_QUERY_PARAMETERS
        and name not in request.path_params
        and getattr(field.kwarg_definition, "param_type", ParamType.QUERY) == ParamType.QUERY
    }
    repeated = sorted(name for name in declared if len(request.query_params.getall(name, [])) > 1)
    if repeated:
        raise ValidationFailed(
            f"query parameters must be given once: {', '.join(repeated)}",
            [FieldError(f"query.{name}", "given more than once") for name in repeated],
        )
    await _check_json_body(request)


async def _check_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a body the handler's ``data`` could never come from."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return
    body = await request.body()  # 413 problem beyond EAM_MAX_BODY_BYTES
    if not body:
        if data.has_default:
            return
        raise MalformedBody("this operation needs a JSON object as its body")
    content_type = request.headers.get("content-type", "")
    if not is_json_media_type(content_type):
        sent = content_type.strip()[:100] or "no Content-Type"
        raise UnsupportedMediaType(
            f"send the body as {JSON_MEDIA_TYPE}, not {sent}", method=request.method, accepted=JSON_MEDIA_TYPE
        )
    try:
        decoded = decode_untrusted_json(body)
    except msgspec.DecodeError as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from None
    # Litestar's request.json() returns this cached value instead of decoding again.
    ScopeState.from_scope(request.scope).json = decoded
