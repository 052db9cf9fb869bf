"""What EAM accepts as input, checked before any handler or dependency runs.

- A query parameter is one the operation reads (its handler's or its dependencies' parameters,
  as Litestar resolved them): any other is refused (422 ``unknown-query-parameter``, one
  ``query.<name>`` error each), so ``?as_of=…`` on a listing that has no such filter is not
  answered with everything. Pages a login provider redirects the browser to are exempt
  (``HandlerOptions(ignores_unknown_query=True)``): RFC 6749 section 4.1.2 tells the client to ignore
  response parameters it does not recognise, and providers add some (``session_state``).
  OAuth endpoints read form bodies, whose unknown parameters RFC 6749 section 3.2 says to
  ignore; a query string there is refused as ``invalid_request`` (their URIs take none, and
  section 2.3.1 forbids client credentials in the URI).
- A query parameter is given once, and holds no NUL (U+0000). Every EAM parameter is single-valued, and a repeated one is
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
- An operation that reads no body refuses one (422, field ``$``) rather than dropping it.
- A CSV upload (``text/csv``, the imports) is read only up to ``EAM_IMPORT_MAX_BYTES`` (413 past it).

The decoded value is cached on the request, so the handler's own validation reads it once more
from memory, not from the wire.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.utils.scope.state import ScopeState

from eam.core.errors import (
    FieldError,
    MalformedBody,
    OAuthInvalidRequest,
    PayloadTooLarge,
    UnknownQueryParameter,
    UnsupportedMediaType,
    ValidationFailed,
)
from eam.core.untrusted_json import decode_untrusted_json
from eam.http.handler_options import options_of

JSON_MEDIA_TYPE = "application/json"
#: Handler parameters that are not read from the query string.
NOT_QUERY_PARAMETERS = frozenset({"self", "ctx", "data", "request", "state", "db"})
#: Handler option: the query string is written by someone else (a login provider's redirect),
#: so parameters the handler does not read are ignored rather than refused.
#: At most this many unknown parameters are listed (the rest are counted).
MAX_LISTED = 20

_TABLE = "accepted_query_parameters"  # in the app's state: handler -> the names it reads


def accepted_query_parameters(app: Litestar, handler: HTTPRouteHandler) -> frozenset[str]:
    """The query parameters ``handler`` reads, directly or through its dependencies (with
    ``QueryParameter(name=...)`` renames), from the models Litestar built for the app's routes."""
    table: dict[HTTPRouteHandler, frozenset[str]] | None = app.state.get(_TABLE)
    if table is None:
        table = {
            known: frozenset(parameter.field_alias for parameter in kwargs_model.expected_query_params)
            for route in app.routes
            if isinstance(route, HTTPRoute)
            for known, kwargs_model in route.route_handler_map.values()
        }
        app.state[_TABLE] = table
    return table.get(handler, frozenset())


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
    handler = request.route_handler
    accepted = accepted_query_parameters(request.app, handler)
    given = request.query_params
    _refuse_unknown_query(handler, accepted, sorted(set(given) - accepted))
    repeated = sorted(name for name in accepted if len(given.getall(name, [])) > 1)
    if repeated:
        raise ValidationFailed(
            f"query parameters must be given once: {', '.join(repeated)}",
            [FieldError(f"query.{name}", "given more than once") for name in repeated],
        )
    with_nul = sorted(name for name in accepted if "\x00" in given.get(name, ""))
    if with_nul:  # PostgreSQL cannot store it, and a search would otherwise drop it silently
        raise ValidationFailed(
            "query parameters must not contain NUL (U+0000)",
            [FieldError(f"query.{name}", "contains a NUL (U+0000) character") for name in with_nul],
        )
    await _check_json_body(request)


def _refuse_unknown_query(handler: HTTPRouteHandler, accepted: frozenset[str], unknown: list[str]) -> None:
    if not unknown or options_of(handler).ignores_unknown_query:
        return
    listed = [name[:64] for name in unknown[:MAX_LISTED]]
    more = f" and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else ""
    if options_of(handler).form is not None:
        raise OAuthInvalidRequest(
            f"send every parameter in the form body, none in the URI (RFC 6749 section 3.2): {', '.join(listed)}{more}"
        )
    takes = f"it takes {', '.join(sorted(accepted))}" if accepted else "it takes none"
    raise UnknownQueryParameter(
        f"unknown query parameters: {', '.join(listed)}{more} ({takes})",
        [FieldError(f"query.{name}", f"not a parameter of this operation; {takes}") for name in listed],
    )


async def _check_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a body the handler's ``data`` could never come from."""
    if options_of(request.route_handler).page:
        await _check_form_body(request)
        return
    if options_of(request.route_handler).csv_body:
        await _check_csv_body(request)
        return
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        if options_of(request.route_handler).form is None and await request.body():
            raise ValidationFailed("this operation takes no body", [FieldError("$", "send no body")])
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


CSV_MEDIA_TYPE = "text/csv"


async def _check_csv_body(request: Request[Any, Any, Any]) -> None:
    """A CSV upload is ``text/csv`` (RFC 4180; the file itself says whether it is UTF-8), of at
    most ``EAM_IMPORT_MAX_BYTES``: refused (413) from its declared ``Content-Length`` before a byte
    is read, or as soon as a body sent without one (chunked) grows past the limit; the server
    never holds more than the configured limit of it."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != CSV_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"send the file as {CSV_MEDIA_TYPE}, not {media_type[:100] or 'no Content-Type'}", method=request.method, accepted=CSV_MEDIA_TYPE
        )
    if not await _body_within(request, request.app.state.settings.import_max_bytes):
        raise MalformedBody("this operation needs a CSV file as its body")


async def _body_within(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The body, read as it streams in and given up on past ``limit`` bytes (413); cached where
    Litestar's ``request.body()`` finds it for the handler."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the file has {int(declared)} bytes; at most {limit} are accepted", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the file has more than {limit} bytes; at most {limit} are accepted", limit=limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    ScopeState.from_scope(request.scope).body = body
    return body


#: What web pages accept as a body: HTML forms (WHATWG HTML, form submission).
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _check_form_body(request: Request[Any, Any, Any]) -> None:
    """A page's body is an HTML form, whatever the handler reads of it."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return  # streamed into a form already (the CSRF check): its body cannot be read again
    if not await request.body():
        return
    if media_type not in FORM_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"send a form ({' or '.join(FORM_MEDIA_TYPES)}), not {media_type[:100] or 'no Content-Type'}",
            method=request.method,
            accepted=", ".join(FORM_MEDIA_TYPES),
        )
