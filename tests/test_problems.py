"""RFC 9457 problem details on every error, and input handling at the edges."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select

from eam.access_requests.models import AccessRequest
from eam.audit.models import AuditEvent
from eam.core.settings import Settings
from tests.conftest import Api, auth


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The RFC 9457 shape: problem media type, ``type`` URN, ``title``, ``status`` = HTTP status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert body["type"].startswith("urn:eam:problem:"), body
    assert isinstance(body["title"], str) and body["title"], body
    assert body["status"] == status, body
    if code is not None:
        assert body["type"] == f"urn:eam:problem:{code}", body
    return body


async def row_counts(app: Litestar) -> tuple[int, int]:
    async with app.state.sessionmaker() as session:
        requests = await session.scalar(select(func.count()).select_from(AccessRequest))
        events = await session.scalar(select(func.count()).select_from(AuditEvent))
    return requests, events


def request_body(org_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "organisation_id": org_id,
        "application": "healthstat",
        "register": "HDBP0147",
        "profile": {"role": "data_provider", "data_level": "hospital"},
        "justification": "I report on our hospital's registrations.",
        **overrides,
    }


async def test_unknown_route_is_a_404_problem(api: Api) -> None:
    for user in ("admin", None):
        body = assert_problem(await api.get("/v1/no-such-thing", user), 404, "not-found")
        assert body["instance"] == "/v1/no-such-thing"
    assert_problem(await api.get("/v1/assignments/not-a-uuid"), 404)
    assert_problem(await api.get("/v1/assignments/00000000-0000-4000-8000-000000000000"), 404, "not-found")


async def test_wrong_method_is_a_405_problem(api: Api) -> None:
    assert_problem(await api.delete("/v1/organisations"), 405, "method-not-allowed")
    assert_problem(await api.call("PUT", "/v1/me", json={}), 405, "method-not-allowed")


async def test_other_errors_are_problems_too(api: Api) -> None:
    assert_problem(await api.get("/v1/me", None), 401, "unauthenticated")
    assert_problem(await api.post("/v1/organisations", "carol", json={"name": "X", "nihdi": "71000436"}), 403, "forbidden")
    org = await api.managed_organisation()
    duplicate = await api.post("/v1/organisations", json={"name": "Again", "nihdi": "71000436"})
    assert_problem(duplicate, 409, "already-exists")
    assert_problem(await api.request_access(org["id"], justification="short"), 422, "validation-error")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_the_limit_is_413_and_nothing_is_written(
    api: Api, app: Litestar, settings: Settings, chunked: bool
) -> None:
    org = await api.managed_organisation()
    counts = await row_counts(app)
    raw = json.dumps(request_body(org["id"], justification="x" * (settings.max_body_bytes + 1))).encode()
    assert len(raw) > settings.max_body_bytes
    headers = {**auth("carol"), "Content-Type": "application/json"}
    if chunked:

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(raw), 4096):
                yield raw[start : start + 4096]

        response = await api.client.post("/v1/access-requests", content=stream(), headers=headers)
    else:
        response = await api.client.post("/v1/access-requests", content=raw, headers=headers)
    assert_problem(response, 413, "payload-too-large")
    assert await row_counts(app) == counts
    assert (await api.get("/v1/access-requests", "carol")).json()["items"] == []
    # just under the limit is read (and then judged on its content)
    assert (await api.request_access(org["id"])).status_code == 201


async def test_malformed_json_is_400(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    counts = await row_counts(app)
    for raw in (b'{"organisation_id": ', b"{'single': 'quotes'}", b"not json at all", b'{"a": 1,}'):
        response = await api.post(
            "/v1/access-requests", "carol", content=raw, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400)
    assert await row_counts(app) == counts
    assert org


async def test_json_array_or_scalar_instead_of_an_object_is_422(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    counts = await row_counts(app)
    for body in ([request_body(org["id"])], "a string", 42, None):
        raw = json.dumps(body).encode()  # httpx sends no body at all for json=None
        response = await api.post("/v1/access-requests", "carol", content=raw, headers={"Content-Type": "application/json"})
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"], problem
    assert await row_counts(app) == counts


async def test_unknown_and_wrong_fields_are_422_listing_every_field(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    counts = await row_counts(app)
    response = await api.request_access(
        org["id"], application=7, register="lowercase", justification=None, colour="blue", size="XL"
    )
    problem = assert_problem(response, 422, "validation-error")
    fields = {error["field"] for error in problem["errors"]}
    assert {"$.application", "$.register", "$.justification", "$.colour", "$.size"} <= fields
    assert all(error["message"] for error in problem["errors"])

    missing = await api.post("/v1/access-requests", "carol", json={"profile": {"role": 5, "shade": "x"}})
    fields = {error["field"] for error in assert_problem(missing, 422)["errors"]}
    assert {"$.organisation_id", "$.application", "$.register", "$.justification", "$.profile.role", "$.profile.shade"} <= fields

    organisation = await api.post("/v1/organisations", json={"name": 5, "nihdi": [], "kbo": {}, "extra": True})
    fields = {error["field"] for error in assert_problem(organisation, 422)["errors"]}
    assert {"$.name", "$.nihdi", "$.kbo", "$.extra"} <= fields
    assert await row_counts(app) == counts


@pytest.mark.parametrize("path", ["/v1/access-requests", "/v1/assignments", "/v1/audit-events", "/v1/organisations"])
@pytest.mark.parametrize("limit", ["0", "-1", "201", "1000", "ten", ""])
async def test_out_of_range_limit_is_422_never_5xx(api: Api, path: str, limit: str) -> None:
    response = await api.get(path, "admin", params={"limit": limit})
    problem = assert_problem(response, 422, "validation-error")
    assert "query.limit" in {error["field"] for error in problem["errors"]}


async def test_limit_bounds_are_inclusive(api: Api) -> None:
    for limit in ("1", "200"):
        assert (await api.get("/v1/access-requests", params={"limit": limit})).status_code == 200


def _tampered(cursor: str) -> list[str]:
    """Cursors this API never issues: damaged encodings, and bookmarks that are not this listing's."""
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()

    def enc(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    return [
        cursor[: len(cursor) // 2],
        cursor + "x",
        "!!!not-base64!!!",
        "%00",
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        enc("garbage"),
        enc(">"),
        enc("?" + decoded[1:]),
        enc(decoded + "~"),
        enc(decoded + " "),
        enc(decoded + "~s:extra"),
        enc(decoded[:-3]),
        enc(">x:unknown-type"),
        enc(">i:1~i:2"),
        enc(">s:not-a-date~s:not-a-uuid"),
        enc(">s:not-a-number"),
        enc(">dt:not-a-date~uuid:not-a-uuid"),
        enc(">dt:2026-01-01 00:00:00~uuid:3f2a0b4e-5b6c-4d7e-8f90-a1b2c3d4e5f6"),
        enc(">dt:2026-01-01 00:00:00+00:00~i:1"),
        enc(">i:99999999999999999999"),
        enc(">i:99999999999999999999~i:1"),
        enc(">true~none"),
        enc(">none"),
    ]


@pytest.mark.parametrize("path", ["/v1/access-requests", "/v1/audit-events"])
async def test_tampered_cursor_is_422_never_5xx(api: Api, path: str) -> None:
    org = await api.managed_organisation()
    for user in ("carol", "dave", "erin"):
        await api.request_access(org["id"], user)
    page = await api.get(path, "admin", params={"limit": 1})
    assert page.status_code == 200, page.text
    cursor = page.json()["next_cursor"]
    assert cursor
    assert (await api.get(path, "admin", params={"limit": 1, "cursor": cursor})).status_code == 200
    for bad in _tampered(cursor):
        response = await api.get(path, "admin", params={"limit": 1, "cursor": bad})
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"][0]["field"] == "query.cursor", (bad, problem)


@pytest.mark.parametrize(
    "justification",
    [
        "Robert'); DROP TABLE access_requests;--",
        "' OR '1'='1' UNION SELECT * FROM users --",
        "50% of 100_000 rows \\ backslash \"quoted\" `ticks` ; /* comment */",
        "Zoë Ödön — ﬁnancial Ελληνικά 日本語の説明 😀🏥 עברית",
        "e\u0301 combining + zero\u200bwidth + right\u202eto-left",
        "line one\nline two\ttabbed\r\nwindows",
    ],
)
async def test_awkward_justifications_are_stored_and_returned_verbatim(api: Api, app: Litestar, justification: str) -> None:
    org = await api.managed_organisation()
    created = await api.request_access(org["id"], justification=justification)
    assert created.status_code == 201, created.text
    assert created.json()["justification"] == justification
    shown = await api.get(f"/v1/access-requests/{created.json()['id']}", "alice")
    assert shown.json()["justification"] == justification
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(AccessRequest.justification)) == justification
    # the tables the SQL-looking text names are untouched
    assert (await api.get("/v1/me", "carol")).status_code == 200
    assert len((await api.get("/v1/access-requests", "alice")).json()["items"]) == 1


@pytest.mark.parametrize(
    "where",
    ["justification", "organisation-name", "email", "reject-reason", "search-query", "audit-filter", "path"],
)
async def test_nul_characters_are_refused_with_422_never_5xx(api: Api, app: Litestar, where: str) -> None:
    """PostgreSQL text cannot hold U+0000 and SQLite can: both refuse it, so no backend stores it."""
    org = await api.managed_organisation()
    pending = (await api.request_access(org["id"], "dave")).json()
    counts = await row_counts(app)
    nul = "with a \u0000 NUL character"
    if where == "justification":
        response = await api.request_access(org["id"], justification=nul)
    elif where == "organisation-name":
        response = await api.post("/v1/organisations", json={"name": nul, "nihdi": "71000931"})
    elif where == "email":
        response = await api.patch("/v1/me", "carol", json={"email": "carol\u0000@azsintjan.be"})
    elif where == "reject-reason":
        response = await api.post(f"/v1/access-requests/{pending['id']}/reject", "alice", json={"reason": nul})
    elif where == "search-query":
        response = await api.get("/v1/organisations", params={"q": nul})
    elif where == "audit-filter":
        response = await api.get("/v1/audit-events", params={"action": nul})
    else:
        response = await api.get("/v1/registers/HDBP%00")
    assert_problem(response, 422, "validation-error")
    assert await row_counts(app) == counts
    assert (await api.get(f"/v1/access-requests/{pending['id']}", "alice")).json()["status"] == "pending"
    assert (await api.get("/v1/me", "carol")).json()["email"] is None


async def test_issued_cursors_walk_every_listing_to_the_end(api: Api) -> None:
    """The cursor checks refuse only what the API never issues: real cursors page through everything."""
    names = ['Zorg, "A" ~ B', "AZ ~~ Sint-Jan", "UZ, Leuven", "Ziekenhuis 'Oost'", "CHU Liège ~,\"'"]
    orgs = [await api.organisation(name=name, nihdi=f"7100{index:04d}") for index, name in enumerate(names)]
    await api.appoint(orgs[0]["id"], "alice")
    for user in ("carol", "dave", "erin"):
        await api.approved_assignment(orgs[0]["id"], user)
    for path in ("/v1/organisations", "/v1/access-requests", "/v1/assignments", "/v1/audit-events"):
        everything = (await api.get(path, params={"limit": 200})).json()["items"]
        assert len(everything) >= 3, path
        seen: list[Any] = []
        cursor = None
        for _ in range(len(everything)):
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            response = await api.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            page = response.json()
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [item["id"] for item in everything], path
