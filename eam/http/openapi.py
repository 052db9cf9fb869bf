"""The error half of the API contract, added to the OpenAPI document Litestar generates.

Every operation lists each error response it can give, as ``application/problem+json``
(RFC 9457) with the ``Problem`` schema, or for the OAuth endpoints as ``application/json`` with
the ``OAuthError`` schema (RFC 6749 section 5.2). Which statuses an operation lists follows from
what it is, by these rules, plus what its handler declares (:class:`~eam.http.handler_options.HandlerOptions`):

- it authenticates the caller: 401 and 403; if it changes something, 409 (unless
  ``conflicts`` is False);
- it reads a JSON body: 400 (not JSON), 413 (too large), 415 (not sent as JSON), 422 (invalid); a body example comes
  from the body type's ``EXAMPLE``;
- it has path or query parameters: 422; path parameters: 404; any other operation too can
  answer 422 (a query parameter it does not read, a body where it reads none: ``eam.http.inputs``;
  413 if that body is too large), unless it reads an OAuth form (then that is ``invalid_request``);
- it is rate limited (``rate_limit``): 429 with ``Retry-After``;
- it reads an OAuth form (``form``, a msgspec Struct documenting the parameters): the
  form body, and 400/401/403 as OAuth errors.
Litestar's own default 400 response (a non-problem body EAM never sends) is replaced, and
204 responses are documented without content.
"""

from __future__ import annotations


from typing import Any, get_args

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.routes import HTTPRoute

from litestar._openapi.schema_generation import SchemaCreator
from litestar.openapi.spec import OpenAPIFormat
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from eam.core.times import DESCRIPTION as TIME_DESCRIPTION, is_instant
from eam.http.inputs import NOT_QUERY_PARAMETERS
from eam.http.problems import PROBLEM_MEDIA_TYPE
from eam.http.handler_options import options_of

OAUTH_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
#: Form parameters (names and values) must not contain NUL: EAM refuses them as invalid_request.
NO_NUL = "^[^\\u0000]*$"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

DESCRIPTIONS = {
    400: "The request is malformed (for example, the body is not JSON)",
    401: "No valid credentials: sign in, or send a valid bearer token",
    403: "Authenticated, but not allowed to do this",
    404: "No such resource (or not one the caller may see)",
    409: "Conflicts with the current state (for example, already decided by someone else)",
    413: "The body is larger than the service accepts",
    415: "The body's media type is not accepted",
    422: "The request is well-formed but not valid; `errors` lists each field",
    429: "Too many requests from this address; retry after `Retry-After` seconds",
    503: "A dependency (the database, a login provider, the signing key or the rate-limit store) is not available; retry after `Retry-After` seconds",
}

_text = Schema(type=OpenAPIType.STRING)
PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details. `type` is stable: `urn:eam:problem:<code>`.",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, examples=["urn:eam:problem:validation-error"]),
        "title": _text,
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": _text,
        "instance": _text,
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="One entry per invalid field (validation problems)",
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={"field": _text, "message": _text},
            ),
        ),
    },
)
OAUTH_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 6749 section 5.2 error, with the RFC 9457 members alongside.",
    required=["error", "type", "title", "status"],
    properties={
        "error": Schema(type=OpenAPIType.STRING, examples=["invalid_request"]),
        "error_description": _text,
        "type": _text,
        "title": _text,
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": _text,
        "instance": _text,
    },
)


def _error(status: int, media_type: str, schema_name: str) -> OpenAPIResponse:
    headers = None
    if status in (429, 503):
        headers = {"Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description="Seconds to wait")}
    if status == 415:
        headers = {
            name: OpenAPIHeader(schema=_text, description=f"The accepted media type ({methods})")
            for name, methods in (("Accept-Post", "POST, PUT"), ("Accept-Patch", "PATCH"))
        }
    return OpenAPIResponse(
        description=DESCRIPTIONS[status],
        headers=headers,
        content={media_type: OpenAPIMediaType(schema=Reference(ref=f"#/components/schemas/{schema_name}"))},
    )


def _statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> tuple[set[int], set[int]]:
    """(problem statuses, OAuth error statuses) the operation can answer with."""
    parameters = handler.parsed_fn_signature.parameters
    options = options_of(handler)
    problems: set[int] = set(options.problems)
    oauth: set[int] = set()
    if "ctx" in parameters:
        problems |= {401, 403}
        if handler.http_methods & UNSAFE_METHODS and options.conflicts:
            problems.add(409)  # a compare-and-set lost, or a uniqueness rule
    if "data" in parameters or options.csv_body:
        problems |= {400, 413, 415, 422}
    if route.path_parameters:
        problems.add(404)
    if set(parameters) - NOT_QUERY_PARAMETERS - set(route.path_parameters):
        problems.add(422)
    if options.form is None:
        problems.add(422)  # a query parameter it does not read, or a body where it reads none
        problems.add(413)  # ... and such a body beyond the size limit
    if options.rate_limit is not None:
        problems |= {429, 503}  # 503: the shared rate-limit store (Redis) cannot be reached
    if "ctx" in parameters or "db" in parameters:
        problems.add(503)  # the database cannot be reached (lost, refused, or every connection busy)
    if options.form is not None:
        oauth |= {400, 401, 403}
        problems |= {413}
    return problems - oauth, oauth


def _form_body(form: type[msgspec.Struct]) -> RequestBody:
    (schema,), components = msgspec.json.schema_components([form], ref_template="#/components/schemas/{name}")
    spec = components[form.__name__]
    required = set(spec.get("required", []))
    # RFC 6749 section 3.2: an optional parameter sent empty counts as omitted.
    properties = {
        name: Schema(type=OpenAPIType.STRING, min_length=1 if name in required else None, pattern=NO_NUL, description=prop.get("description"))
        for name, prop in spec["properties"].items()
    }
    # RFC 6749 section 3.2: unknown parameters are ignored, but none may be sent twice (so: strings only).
    body = Schema(
        type=OpenAPIType.OBJECT,
        required=sorted(spec.get("required", [])),
        properties=properties,
        additional_properties=Schema(type=OpenAPIType.STRING, pattern=NO_NUL),
        property_names=Schema(type=OpenAPIType.STRING, pattern=NO_NUL),
    )
    example = getattr(form, "EXAMPLE", None)
    return RequestBody(
        required=True,
        content={
            FORM_MEDIA_TYPE: OpenAPIMediaType(
                schema=body, examples={"example": Example(value=example)} if example else None
            )
        },
    )


CSV_EXAMPLE = (
    "first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup\r\n"
    "Jan,Peeters,jan.peeters@azsintjan.be,85073003328,71000436,hd4dp2,3,cardio team\r\n"
)


def _csv_body() -> RequestBody:
    """A CSV file (RFC 4180 ``text/csv``): what the operation reads is described in its summary
    and the README; the file is refused as a whole (400/413/415/422) or line by line (receipt)."""
    return RequestBody(
        required=True,
        description="A CSV file, UTF-8 (with or without BOM), comma- or semicolon-separated, with a header line",
        content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, min_length=1), examples={"accounts": Example(value=CSV_EXAMPLE)})},
    )


def _add_body_example(operation: Operation, handler: HTTPRouteHandler) -> None:
    data = handler.parsed_fn_signature.parameters.get("data")
    candidates = [data.annotation, *get_args(data.annotation)] if data is not None else []  # ``X | None``: X's
    example = next((found for kind in candidates if (found := getattr(kind, "EXAMPLE", None)) is not None), None)
    body = operation.request_body
    if example is None or not isinstance(body, RequestBody):
        return
    for media in body.content.values():
        media.examples = {"example": Example(summary="A typical request", value=example)}


def _strict_structs(annotation: Any) -> set[type[msgspec.Struct]]:
    """Struct types reachable from a request body type that refuse unknown fields."""
    found: set[type[msgspec.Struct]] = set()
    pending = [msgspec.inspect.type_info(annotation)]
    while pending:
        info = pending.pop()
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in found:
                continue
            if info.forbid_unknown_fields:
                found.add(info.cls)
            pending.extend(field.type for field in info.fields)
        elif isinstance(info, msgspec.inspect.UnionType):
            pending.extend(info.types)
        elif isinstance(info, msgspec.inspect.Metadata):  # Annotated[<struct>, Meta(...)]
            pending.append(info.type)
        elif isinstance(info, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType, msgspec.inspect.VarTupleType)):
            pending.append(info.item_type)
        elif isinstance(info, msgspec.inspect.DictType):
            pending.append(info.value_type)
    return found


def _close_strict_bodies(openapi: OpenAPI, handlers: list[HTTPRouteHandler]) -> None:
    """``forbid_unknown_fields`` bodies answer 422 to unknown members: the schema says so too."""
    schemas = (openapi.components.schemas if openapi.components else None) or {}
    for handler in handlers:
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            continue
        for struct in _strict_structs(data.annotation):
            schema = schemas.get(struct.__name__)
            if isinstance(schema, Schema):
                schema.additional_properties = False
                _refuse_nul(schema)


def _refuse_nul(schema: Schema) -> None:
    """Text in a JSON body must not contain NUL (EAM answers 422; PostgreSQL cannot store it)."""
    if schema.type == OpenAPIType.STRING and schema.pattern is None and schema.format is None:
        schema.pattern = NO_NUL
    children = [*(schema.properties or {}).values(), *(schema.one_of or []), *(schema.any_of or []), *(schema.all_of or [])]
    if isinstance(schema.items, Schema):
        children.append(schema.items)
    for child in children:
        if isinstance(child, Schema):
            _refuse_nul(child)


def _describe_values(openapi: OpenAPI, applications: list[str], scopes: list[str]) -> None:
    """Application codes come from the catalogue and scopes from the policy file: every field or
    parameter holding one lists them as an enum. No parameter may contain NUL."""
    lists = {"audiences": applications, "applications": applications, "scopes": scopes}
    for schema in ((openapi.components.schemas if openapi.components else None) or {}).values():
        if not isinstance(schema, Schema):
            continue
        for name, prop in (schema.properties or {}).items():
            if name == "application" and isinstance(prop, Schema):
                _enumerate(prop, applications)
            elif name in lists and isinstance(prop, Schema):
                for arm in [prop, *(prop.one_of or [])]:
                    if isinstance(arm, Schema) and isinstance(arm.items, Schema):
                        _enumerate(arm.items, lists[name])
                        # a register lists each application once (audiences and scopes are de-duplicated)
                        arm.unique_items = True if name == "applications" else None
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(path_item, method, None)
            for parameter in (operation.parameters or []) if operation else []:
                if not isinstance(getattr(parameter, "schema", None), Schema):
                    continue
                _refuse_nul(parameter.schema)
                if parameter.name == "application":
                    _enumerate(parameter.schema, applications)


def _enumerate(schema: Schema, values: list[str]) -> None:
    """Add the enum to the string member of ``schema`` (itself, or the string arm of ``x | None``)."""
    if schema.type == OpenAPIType.STRING:
        schema.enum = list(values)
    for arm in schema.one_of or []:
        if isinstance(arm, Schema) and arm.type == OpenAPIType.STRING:
            arm.enum = list(values)


def document_errors(app: Litestar, applications: list[str], scopes: list[str]) -> None:
    """Add every error response (and form bodies, body examples) to the app's OpenAPI document."""
    openapi = app.openapi_schema
    assert openapi.components is not None
    openapi.components.schemas = {**(openapi.components.schemas or {}), "Problem": PROBLEM, "OAuthError": OAUTH_ERROR}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format or "/")
        if path_item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                operation = getattr(path_item, method.lower(), None)
                if operation is None:
                    continue
                problems, oauth = _statuses(route, handler)
                responses = {code: response for code, response in (operation.responses or {}).items() if code != "400"}
                if isinstance(no_content := responses.get("204"), OpenAPIResponse):
                    no_content.content = None  # RFC 9110 section 15.3.5: a 204 has no body
                for status in sorted(problems):
                    responses[str(status)] = _error(status, PROBLEM_MEDIA_TYPE, "Problem")
                for status in sorted(oauth):
                    responses[str(status)] = _error(status, OAUTH_MEDIA_TYPE, "OAuthError")
                operation.responses = dict(sorted(responses.items()))
                if (form := options_of(handler).form) is not None:
                    operation.request_body = _form_body(form)
                if options_of(handler).csv_body:
                    operation.request_body = _csv_body()
                _add_body_example(operation, handler)
                data = handler.parsed_fn_signature.parameters.get("data")
                if data is not None and data.has_default and isinstance(operation.request_body, RequestBody):
                    operation.request_body.required = False  # e.g. approving as requested: no body
    handlers = [handler for route in app.routes if isinstance(route, HTTPRoute) for handler in route.route_handlers]
    _close_strict_bodies(openapi, handlers)
    _describe_values(openapi, applications, scopes)


class InstantSchema(OpenAPISchemaPlugin):
    """Documents :class:`eam.core.times.Instant` as what it is on the wire: an RFC 3339 date-time."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return is_instant(value)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME, description=TIME_DESCRIPTION)
