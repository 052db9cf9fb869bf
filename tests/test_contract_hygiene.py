"""Contract hygiene, checked over every route of the app (SQLite and PostgreSQL):

- a query parameter the operation does not read is 422 ``unknown-query-parameter`` naming it
  (OAuth endpoints: ``invalid_request``; login-provider redirect pages ignore it);
- a body sent where the operation reads none is 422, never dropped;
- ``HEAD`` answers wherever ``GET`` does, with the GET's status and headers and no body;
- the API docs pages load only scripts and styles EAM serves itself;
- withdrawing takes an optional reason, recorded as the decision comment and audited.
"""

from __future__ import annotations

import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import select

from eam.http.docs import ASSETS, asset_url
from eam.http.handler_options import options_of
from tests.conftest import Api, assert_problem, auth

VOLATILE = {"x-request-id", "date", "ratelimit-remaining", "ratelimit-reset"}


def _filled(path: str) -> str:
    """A concrete path for a route template: a fresh UUID, a register code or a client id."""
    for template, value in (
        ("{organisation_id:uuid}", str(uuid.uuid4())),
        ("{user_id:uuid}", str(uuid.uuid4())),
        ("{request_id:uuid}", str(uuid.uuid4())),
        ("{assignment_id:uuid}", str(uuid.uuid4())),
        ("{import_id:uuid}", str(uuid.uuid4())),
        ("{message_id:uuid}", str(uuid.uuid4())),
        ("{review_id:uuid}", str(uuid.uuid4())),
        ("{webhook_id:uuid}", str(uuid.uuid4())),
        ("{delivery_id:uuid}", str(uuid.uuid4())),
        ("{code:str}", "HDBP0147"),
        ("{client_id:str}", "healthstat-prod"),
        ("{path:str}", "nothing-here"),
        ("{kit:str}/{name:str}", "swagger-ui/swagger-ui.css"),
    ):
        path = path.replace(template, value)
    assert "{" not in path, path
    return path


def _operations(app: Litestar) -> list[tuple[str, str, Any]]:
    """(method, concrete path, handler) for every route handler of the app but OPTIONS."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method != "OPTIONS" and not options_of(handler).page:  # pages: tests/ui
                found.append((method, _filled(route.path), handler))
    return sorted(found, key=lambda item: (item[1], item[0]))


def _get_paths(app: Litestar) -> list[str]:
    paths = [path for method, path, _ in _operations(app) if method == "GET"]
    asset_paths = [asset_url(kit, name) for kit, name in ASSETS]
    return paths + [path for path in asset_paths if path not in paths]


# --- unknown query parameters -----------------------------------------------------------------


async def test_every_operation_refuses_a_query_parameter_it_does_not_read(api: Api, app: Litestar) -> None:
    operations = _operations(app)
    assert len(operations) >= 50
    exempt = []
    for method, path, handler in operations:
        response = await api.call(method, f"{path}?colour=red&Limit=5", "admin")
        if options_of(handler).ignores_unknown_query:
            exempt.append(path)
            assert "unknown-query-parameter" not in response.text, (method, path)
        elif options_of(handler).form is not None:
            assert response.status_code == 400, (method, path, response.text)
            assert response.json()["error"] == "invalid_request"
            assert "colour" in response.json()["error_description"] and "Limit" in response.json()["error_description"]
        else:
            problem = assert_problem(response, 422, "unknown-query-parameter")
            assert [error["field"] for error in problem["errors"]] == ["query.Limit", "query.colour"], (method, path)
            assert "colour" in problem["detail"]
    # only the pages a login provider sends the browser back to (RFC 6749 section 4.1.2)
    assert sorted(exempt) == ["/auth/callback", "/auth/logged-out"]


async def test_the_refusal_says_which_parameters_the_operation_takes(api: Api) -> None:
    problem = assert_problem(await api.get("/v1/assignments?as_of=2020-01-01", "alice"), 422, "unknown-query-parameter")
    assert problem["errors"] == [
        {"field": "query.as_of", "message": "not a parameter of this operation; it takes application, cursor, limit, organisation_id, register, status, user_id"}
    ]
    problem = assert_problem(await api.get("/v1/me?verbose=1", "carol"), 422, "unknown-query-parameter")
    assert problem["errors"][0]["message"].endswith("it takes none")
    # before authentication: an anonymous caller learns the same, and nothing about data
    assert_problem(await api.get("/v1/assignments?as_of=2020-01-01", None), 422, "unknown-query-parameter")
    # known parameters, renamed ones (?state= on the callback) and an empty query are fine
    assert (await api.get("/v1/assignments?status=active&limit=5", "alice")).status_code == 200
    assert (await api.get("/v1/assignments?", "alice")).status_code == 200


async def test_many_unknown_parameters_are_listed_up_to_twenty(api: Api) -> None:
    query = "&".join(f"p{index:02d}=1" for index in range(30))
    problem = assert_problem(await api.get(f"/v1/me?{query}", "carol"), 422, "unknown-query-parameter")
    assert len(problem["errors"]) == 20
    assert "and 10 more" in problem["detail"]


async def test_an_oidc_provider_may_add_parameters_to_the_callback(api: Api) -> None:
    """``session_state`` (OIDC Session Management) and the like are ignored, not refused."""
    response = await api.get("/auth/callback?code=x&state=unknown&session_state=abc", None)
    assert response.status_code != 422 or "session_state" not in response.text, response.text


# --- bodies -------------------------------------------------------------------------------------


async def test_unknown_body_members_are_refused_on_every_json_operation(api: Api, app: Litestar) -> None:
    checked = 0
    for method, path, handler in _operations(app):
        if "data" not in handler.parsed_fn_signature.parameters:
            continue
        response = await api.call(method, path, "admin", json={"colour": "blue"})
        problem = assert_problem(response, 422, "validation-error")
        assert "$.colour" in {error["field"] for error in problem["errors"]}, (method, path, problem)
        checked += 1
    assert checked >= 12


async def test_a_body_is_refused_where_the_operation_reads_none(api: Api, app: Litestar) -> None:
    refused = []
    for method, path, handler in _operations(app):
        if "data" in handler.parsed_fn_signature.parameters or options_of(handler).form is not None or options_of(handler).csv_body:
            continue  # (a CSV upload's body is checked in tests/test_imports.py)
        if method == "GET" and path.startswith("/schema"):
            continue  # HTML and YAML pages: checked below for one
        response = await api.call(method, path, "admin", json={"reason": "dropped silently before"})
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"] == [{"field": "$", "message": "send no body"}], (method, path)
        refused.append(f"{method} {path.split('/')[1]}")
    assert "POST v1" in refused and "DELETE v1" in refused and "GET health" in refused
    assert_problem(await api.call("GET", "/schema/openapi.json", None, content=b"x"), 422, "validation-error")


# --- HEAD ---------------------------------------------------------------------------------------


async def test_head_answers_like_get_on_every_get_route_without_a_body(api: Api, app: Litestar) -> None:
    paths = _get_paths(app)
    assert len(paths) >= 35
    for path in paths:
        for user in ("admin", None):
            got = await api.get(path, user)
            head = await api.call("HEAD", path, user)
            assert head.status_code == got.status_code, (path, user, head.status_code, got.status_code)
            assert head.content == b"", path
            volatile = VOLATILE | ({"content-length"} if path == "/metrics" else set())  # counters move between the two
            same = {name: value for name, value in got.headers.items() if name not in volatile}
            assert {name: value for name, value in head.headers.items() if name not in volatile} == same, path
    assert (await api.call("HEAD", "/health/ready", None)).status_code == 200


async def test_methods_allowed_name_head_next_to_get(api: Api) -> None:
    refused = await api.call("DELETE", "/health/ready", None)
    assert_problem(refused, 405, "method-not-allowed")
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
    options = await api.call("OPTIONS", "/health/live", None)
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"
    # HEAD where there is no GET is refused like any other method
    no_get = await api.call("HEAD", "/oauth2/token", None)
    assert no_get.status_code == 405 and no_get.content == b""
    assert "HEAD" not in no_get.headers["allow"]


# --- API docs -----------------------------------------------------------------------------------


class _References(HTMLParser):
    """Every URL a page makes the browser load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "spec-url", "data", "action", "srcset"} and value:
                self.urls.append((tag, value))


DOC_PAGES = ["/schema", "/schema/redoc", "/schema/swagger", "/schema/rapidoc", "/schema/oauth2-redirect.html"]
EXPECTED_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/vnd.oai.openapi+json"}


async def test_docs_pages_load_only_assets_eam_serves(api: Api) -> None:
    loaded = set()
    for page in DOC_PAGES:
        response = await api.get(page, None)
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        parser = _References()
        parser.feed(response.text)
        for tag, url in parser.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, (page, tag, url)
            assert url.startswith("/schema/"), (page, url)
            loaded.add(url)
        for host in ("cdn.", "unpkg", "jsdelivr", "googleapis", "redoc.ly"):
            assert host not in response.text.split("Redoc.init(")[0].split("spec: ")[0], (page, host)
    assert {asset_url(kit, name) for kit, name in ASSETS} <= loaded | {asset_url("swagger-ui", "favicon-32x32.png")}
    for url in sorted(loaded):
        response = await api.get(url, None)
        assert response.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert response.headers["content-type"].split(";")[0] == EXPECTED_TYPES[suffix], (url, response.headers)
        assert len(response.content) > 100, url


async def test_docs_assets_are_only_the_listed_files(api: Api) -> None:
    for path in ("/schema/assets/redoc/index.html", "/schema/assets/swagger-ui/redoc.standalone.js", "/schema/assets/swagger-ui/swagger-ui.js", "/schema/assets/x/y.js"):
        assert (await api.get(path, None)).status_code == 404, path
    assert (await api.get("/schema/elements", None)).status_code == 404  # no self-hosted Stoplight Elements


async def test_docs_work_on_a_real_server(live_server_factory: Any) -> None:
    """Through uvicorn: the pages and their assets, and HEAD without a body on the wire."""
    server = live_server_factory()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get("/schema/swagger")
        assert page.status_code == 200
        asset = await http.head(asset_url("swagger-ui", "swagger-ui-bundle.js"))
        assert asset.status_code == 200 and asset.content == b""
        assert int(asset.headers["content-length"]) > 100_000


# --- withdraw with a reason -----------------------------------------------------------------------


async def test_withdrawing_keeps_the_reason_as_comment_and_in_the_audit_event(api: Api, app: Litestar) -> None:
    from eam.audit.models import AuditEvent

    org = await api.managed_organisation()
    submitted = (await api.request_access(org["id"], "carol")).json()
    path = f"/v1/access-requests/{submitted['id']}/withdraw"
    assert_problem(await api.post(path, "carol", json={"reason": "   "}), 422, "validation-error")
    assert_problem(await api.post(path, "carol", json={"reason": "x"}), 422, "validation-error")  # at least 3 characters
    assert_problem(await api.post(path, "carol", json={"why": "Asked for the wrong register."}), 422, "validation-error")
    withdrawn = await api.post(path, "carol", json={"reason": "Asked for the wrong register."})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["decision_comment"] == "Asked for the wrong register."
    assert (await api.get(f"/v1/access-requests/{submitted['id']}", "alice")).json()["decision_comment"] == "Asked for the wrong register."
    async with app.state.sessionmaker() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "access_request.withdrawn"))
    assert event is not None and event.after["decision_comment"] == "Asked for the wrong register."
    # without a body, or with an empty one, as before
    second = (await api.request_access(org["id"], "dave")).json()
    plain = await api.post(f"/v1/access-requests/{second['id']}/withdraw", "dave")
    assert plain.status_code == 200 and plain.json()["decision_comment"] is None
    third = (await api.request_access(org["id"], "erin")).json()
    empty = await api.post(f"/v1/access-requests/{third['id']}/withdraw", "erin", json={})
    assert empty.status_code == 200 and empty.json()["decision_comment"] is None
