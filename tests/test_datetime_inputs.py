"""Every datetime a client sends, in a JSON body or a query parameter, is an ``Instant``
(``eam.core.times``): naive times, times that overflow when converted to UTC and anything that is
not an RFC 3339 date-time are 422 naming the field; valid aware times work on both databases.

The inputs are found in the served OpenAPI document (every body member and query parameter of
``format: date-time``), not listed by hand, and checked with hypothesis against a live EAM.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from litestar import Litestar

from tests.conftest import Api, LiveServer, auth

INSTANT_MESSAGES = ("UTC offset", "out of range", "RFC 3339")


@dataclass(frozen=True)
class DateTimeInput:
    method: str
    path: str
    operation_id: str
    where: str  # "query" or "body"
    name: str  # the query parameter, or the body member's path below "$"
    example: Any  # the operation's documented body example (None for query parameters)
    siblings: tuple[str, ...] = ()  # the operation's other date-time members

    @property
    def field(self) -> str:
        return f"query.{self.name}" if self.where == "query" else f"$.{self.name}"


def _is_datetime(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "$ref" in schema:
        return _is_datetime(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    return schema.get("format") == "date-time" or any(_is_datetime(s, schemas) for s in schema.get("oneOf", []) + schema.get("anyOf", []))


def _members(schema: dict[str, Any], schemas: dict[str, Any], prefix: str = "") -> list[str]:
    """Paths (``a.b``) of the date-time members of an object schema, nested objects included."""
    if "$ref" in schema:
        return _members(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, prefix)
    found = [member for option in schema.get("oneOf", []) + schema.get("anyOf", []) for member in _members(option, schemas, prefix)]
    for name, member in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        if _is_datetime(member, schemas):
            found.append(path)
        else:
            for option in [member, *member.get("oneOf", []), *member.get("anyOf", [])]:
                if "$ref" in option or "properties" in option:
                    found.extend(_members(option, schemas, f"{path}."))
    return found


def datetime_inputs(app: Litestar) -> list[DateTimeInput]:
    document = app.openapi_schema.to_schema()
    schemas = document["components"]["schemas"]
    inputs = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and _is_datetime(parameter["schema"], schemas):
                    inputs.append(DateTimeInput(method.upper(), path, operation["operationId"], "query", parameter["name"], None))
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                assert "json" in media_type or not _members(content["schema"], schemas), "a date-time in a form body"
                example_body = next(iter((content.get("examples") or {"": {"value": {}}}).values()))["value"]
                members = _members(content["schema"], schemas)
                for member in members:
                    siblings = tuple(m for m in members if m != member)
                    inputs.append(DateTimeInput(method.upper(), path, operation["operationId"], "body", member, example_body, siblings))
    return inputs


# --- a world where each operation can succeed -------------------------------------------------


async def build_world(api: Api) -> dict[str, str]:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    pending = await api.request_access(org["id"], "dave")
    assert pending.status_code == 201, pending.text
    review = await api.post("/v1/access-reviews", "admin", json={"organisation_id": org["id"], "deadline": "2031-01-01T00:00:00Z", "default_decision": "keep"})
    assert review.status_code == 201, review.text
    return {
        "organisation_id": org["id"],
        "assignment_id": assignment["id"],
        "request_id": pending.json()["id"],
        "review_id": review.json()["id"],
        "user_id": await api.user_id("erin"),
        "audit_user": "admin",
    }


def _with(body: Any, path: str, value: Any) -> Any:
    body = dict(body)
    head, _, rest = path.partition(".")
    body[head] = _with(body.get(head) or {}, rest, value) if rest else value
    return body


def send(http: httpx.Client, target: DateTimeInput, world: dict[str, str], value: Any, *, alone: bool = False) -> httpx.Response:
    """The operation's documented example with ``value`` in the input (``alone``: the operation's
    other date-time members left out, so no rule between them refuses it)."""
    path = target.path
    for name in ("organisation_id", "assignment_id", "request_id", "user_id", "review_id"):
        path = path.replace(f"{{{name}}}", world[name])
    path = path.replace("{code}", "HDBP0147")
    # Who may call it: the approver, the holder of the world's assignment (carol), or an admin.
    user = {"approveAccessRequest": "alice", "askAssignmentChange": "carol"}.get(target.operation_id, "admin")
    if target.where == "query":
        return http.request(target.method, path, params={target.name: value}, headers=auth(user))
    body = {k: v for k, v in (target.example or {}).items() if not (alone and k in target.siblings)}
    for name in ("organisation_id", "user_id"):
        if name in body:
            body[name] = world[name]
    return http.request(target.method, path, json=_with(body, target.name, value), headers=auth(user))


def assert_refused(response: httpx.Response, target: DateTimeInput, value: Any) -> None:
    assert response.status_code == 422, (target, value, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:eam:problem:validation-error"
    assert target.field in [error["field"] for error in problem["errors"]], (target, value, problem)


def assert_accepted(response: httpx.Response, target: DateTimeInput, value: Any) -> None:
    """A valid instant is never a server error nor refused for its form (a rule of the domain,
    such as "the end must be after now", may still refuse it)."""
    assert response.status_code < 500, (target, value, response.text)
    if response.status_code == 422:
        for error in response.json().get("errors", []):
            if error["field"] == target.field:
                assert not any(m in error["message"] for m in INSTANT_MESSAGES), (target, value, error)


# --- what hypothesis sends --------------------------------------------------------------------

OFFSET_MINUTES = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1)
NEAR_THE_ENDS = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(1, 1, 2, 23, 59, 59)),
    st.datetimes(min_value=dt.datetime(9999, 12, 30), max_value=dt.datetime.max),
    st.datetimes(),
)


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def overflows(naive: dt.datetime, minutes: int) -> bool:
    try:
        naive.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes))).astimezone(dt.UTC)
    except OverflowError:
        return True
    return False


NOT_DATE_TIMES = st.one_of(
    st.sampled_from(["", "now", "2030-01-01", "2030-13-01T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:00:00+24:00",
                     "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "2030-01-01T00:00:60Z",
                     "9999-12-31T23:59:59.9999999-23:59", "1970-01-01T00:00:00+00:00\x00"]),
    st.text(max_size=40),
)


def _check(base_url: str, inputs: list[DateTimeInput], world: dict[str, str]) -> None:
    http = httpx.Client(base_url=base_url, timeout=30)
    bodies = [target for target in inputs if target.where == "body"]

    @given(target=st.sampled_from(inputs), naive=NEAR_THE_ENDS, minutes=OFFSET_MINUTES, aware=st.booleans())
    @example(target=inputs[0], naive=dt.datetime(1, 1, 1), minutes=60, aware=True)
    @example(target=inputs[0], naive=dt.datetime.max, minutes=-(24 * 60 - 1), aware=True)
    @example(target=inputs[0], naive=dt.datetime(2030, 1, 1), minutes=0, aware=False)
    @example(target=inputs[-1], naive=dt.datetime(9999, 12, 31, 23, 59, 59), minutes=0, aware=True)
    @example(target=inputs[-1], naive=dt.datetime(1, 1, 1), minutes=-(24 * 60 - 1), aware=True)
    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def date_times(target: DateTimeInput, naive: dt.datetime, minutes: int, aware: bool) -> None:
        value = naive.isoformat() + (offset_text(minutes) if aware else "")
        response = send(http, target, world, value)
        if not aware or overflows(naive, minutes):
            assert_refused(response, target, value)
        else:
            assert_accepted(response, target, value)

    @given(target=st.sampled_from(inputs), value=NOT_DATE_TIMES)
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def not_date_times(target: DateTimeInput, value: str) -> None:
        if target.where == "query" and value == "":
            return  # an empty query parameter is the parameter left out
        assert_refused(send(http, target, world, value), target, value)

    @given(target=st.sampled_from(bodies), value=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def not_text(target: DateTimeInput, value: Any) -> None:
        assert_refused(send(http, target, world, value), target, value)

    try:
        date_times()
        not_date_times()
        not_text()
    finally:
        http.close()


@pytest.fixture
def live(live_server_factory: Any) -> LiveServer:
    return live_server_factory()


def test_the_inputs_are_found_in_the_openapi_document(app: Litestar) -> None:
    found = {(target.operation_id, target.field) for target in datetime_inputs(app)}
    # The enumeration is what the property test covers; these are the ones there today.
    assert {
        ("submitAccessRequest", "$.valid_until"),
        ("approveAccessRequest", "$.valid_until"),
        ("createAssignment", "$.valid_from"),
        ("createAssignment", "$.valid_until"),
        ("changeAssignment", "$.valid_until"),
        ("listAuditEvents", "query.since"),
        ("listAuditEvents", "query.until"),
    } <= found


async def test_every_datetime_input_refuses_naive_overflowing_and_malformed_times_with_422(live: LiveServer) -> None:
    inputs = datetime_inputs(live.app)
    world = await build_world(live.api)
    await asyncio.to_thread(_check, live.base_url, inputs, world)


async def test_every_datetime_input_takes_an_aware_time_in_any_offset_as_the_same_instant(live: LiveServer) -> None:
    """Valid times keep working: each input, given a time with an odd offset, succeeds, and the
    extremes of the accepted range are stored and read back on both databases."""
    api = live.api
    inputs = datetime_inputs(live.app)
    far = "2031-03-04T10:20:30.123456+05:30"
    later = "2032-03-04T10:20:30.123456-03:30"
    world = await build_world(api)
    assignees = iter(["erin", "frank", "grace"])  # a new assignment each time createAssignment is tried
    # A review's change decision changes the world's assignment: last, so the holder's own change
    # request (askAssignmentChange) still asks for something new.
    for target in sorted(inputs, key=lambda target: target.operation_id == "decideAccessReviewItem"):
        if target.operation_id == "createAssignment":
            world["user_id"] = await api.user_id(next(assignees))
        # An extension must end later than the world's assignment, which changeAssignment ended at ``far``.
        value = later if target.operation_id == "extendAssignment" else far
        response = await asyncio.to_thread(_send_once, live.base_url, target, world, value)
        assert response.status_code in (200, 201), (target, response.text)
        body = response.json() if response.headers["content-type"].split(";")[0] == "application/json" else {}  # not JSON Lines
        if target.where == "body" and target.name in body and body[target.name] is not None:
            assert dt.datetime.fromisoformat(body[target.name]) == dt.datetime.fromisoformat(value).astimezone(dt.UTC), (target, body[target.name])
    # The latest instant there is, as an assignment's end, through the database and back.
    org = await api.managed_organisation(nihdi="71000535", name="AZ Groeninge")
    latest = "9999-12-31T23:59:59.999999Z"
    created = await api.post(
        "/v1/assignments", "admin",
        json={"organisation_id": org["id"], "user_id": await api.user_id("carol"), "application": "healthstat",
              "register": "HDBP0147", "profile": {"role": "data_provider", "data_level": "hospital"}, "valid_until": latest},
    )
    assert created.status_code == 201, created.text
    shown = await api.get(f"/v1/assignments/{created.json()['id']}", "admin")
    assert dt.datetime.fromisoformat(shown.json()["valid_until"]) == dt.datetime.max.replace(tzinfo=dt.UTC)
    grant = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert grant.status_code == 200, grant.text
    since = await api.get("/v1/audit-events", "admin", params={"since": "0001-01-01T00:00:00Z", "until": latest})
    assert since.status_code == 200 and since.json()["items"], since.text
    none_yet = await api.get("/v1/audit-events", "admin", params={"since": "9999-12-31T23:59:59+00:00"})
    assert none_yet.status_code == 200 and none_yet.json()["items"] == []
    assert uuid.UUID(created.json()["id"])


def _send_once(base_url: str, target: DateTimeInput, world: dict[str, str], value: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return send(http, target, world, value, alone=True)
