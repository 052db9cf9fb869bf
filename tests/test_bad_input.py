"""A bounded fuzz of bad input beyond what the schema can state (SQLite and PostgreSQL).

Every operation that reads a JSON body, as listed in the committed OpenAPI document, gets the
same table of bodies no JSON schema describes: bytes that are not UTF-8, nesting thousands deep,
numbers no JSON reader can hold, duplicate member names, the wrong media type, nothing at all,
more than the size limit. Each answer must be the documented 4xx problem with its stable type,
and afterwards every table must hold exactly what it held before. Listing operations get page
sizes far out of range. Names, justifications and reasons made of arbitrary Unicode and
SQL-looking text (hypothesis) are stored and returned verbatim.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from litestar import Litestar
from sqlalchemy import func, select, text

from eam.core.settings import Settings
from tests.conftest import TABLES, Api, LiveServer, assert_problem, auth

OPENAPI = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text(encoding="utf-8"))
DEEP = 5000  # far beyond the interpreter's recursion limit, far below the 64 KiB body limit


def _json_body_operations() -> list[tuple[str, str, bool]]:
    """(method, path with placeholders filled, body required) for each JSON-body operation."""
    found = []
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body and "application/json" in body["content"]:
                filled = path
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path":
                        value = str(uuid.uuid4()) if parameter["schema"].get("format") == "uuid" else "healthstat-prod"
                        filled = filled.replace("{" + parameter["name"] + "}", value)
                found.append((method.upper(), filled, body.get("required", False)))
    return found


JSON_BODY_OPERATIONS = _json_body_operations()
LISTINGS = sorted(
    path
    for path, item in OPENAPI["paths"].items()
    if any(parameter["name"] == "limit" for parameter in item.get("get", {}).get("parameters", []))
)

#: name -> (body, Content-Type or None, status, problem code)
BAD_BODIES: dict[str, tuple[bytes, str | None, int, str]] = {
    "not UTF-8": (b'{"name": "\xff\xfe caf\xe9"}', "application/json", 400, "malformed-body"),
    "UTF-16": ('{"name": "x"}'.encode("utf-16"), "application/json", 400, "malformed-body"),
    "lone surrogate escape": (b'{"name": "\\ud800"}', "application/json", 400, "malformed-body"),
    "byte order mark": (b'\xef\xbb\xbf{"name": "x"}', "application/json", 400, "malformed-body"),
    "arrays nested deep": (b"[" * DEEP + b"]" * DEEP, "application/json", 400, "malformed-body"),
    "objects nested deep": (b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json", 400, "malformed-body"),
    "deep inside a member": (b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}", "application/json", 400, "malformed-body"),
    "integer of 5000 digits": (b'{"name": 1' + b"0" * 5000 + b"}", "application/json", 400, "malformed-body"),
    "number beyond a double": (b'{"name": 1e999}', "application/json", 400, "malformed-body"),
    "NaN": (b'{"name": NaN}', "application/json", 400, "malformed-body"),
    "duplicate member names": (b'{"reason": "a", "reason": "b", "name": "x"}', "application/json", 400, "malformed-body"),
    "two documents": (b"{} {}", "application/json", 400, "malformed-body"),
    "truncated": (b'{"name": "x', "application/json", 400, "malformed-body"),
    "plain text": (b'{"name": "x"}', "text/plain", 415, "unsupported-media-type"),
    "XML": (b"<organisation><name>x</name></organisation>", "application/xml", 415, "unsupported-media-type"),
    "form encoded": (b"name=x&nihdi=71000436", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
    "multipart": (b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n', "multipart/form-data; boundary=b", 415, "unsupported-media-type"),
    "no Content-Type": (b'{"name": "x"}', None, 415, "unsupported-media-type"),
    "JSON in Latin-1": ('{"name": "Zoë"}'.encode("latin-1"), "application/json; charset=iso-8859-1", 415, "unsupported-media-type"),
    "integer beyond 64 bits": (b'{"name": 1' + b"0" * 400 + b"}", "application/json", 422, "validation-error"),
    "JSON array": (b'[{"name": "x"}]', "application/json", 422, "validation-error"),
    "JSON string": (b'"x"', "application/json", 422, "validation-error"),
    "JSON null": (b"null", "application/json", 422, "validation-error"),  # where a body is required
    "unicode member names": ('{"naïve 😀": 1, "Ελληνικά": [], "日本": {}}'.encode(), "application/json", 422, "validation-error"),
}


async def table_counts(app: Litestar) -> dict[str, int]:
    """Rows per table (and the policy version): 'nothing half-written' means none of these moved."""
    async with app.state.sessionmaker() as session:
        counts = {table: await session.scalar(select(func.count()).select_from(text(table))) for table in TABLES}
        counts["policy_version"] = await session.scalar(text("SELECT version FROM policy_version"))
    return counts


async def _seeded(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"], "dave", "alice")
    assert (await api.request_access(org["id"], "carol")).status_code == 201


def test_the_table_covers_every_json_body_operation() -> None:
    assert len(JSON_BODY_OPERATIONS) >= 12
    assert {method for method, _, _ in JSON_BODY_OPERATIONS} == {"POST", "PATCH", "PUT"}
    assert len(LISTINGS) >= 6


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_every_json_operation_refuses_a_bad_body_with_its_problem_and_writes_nothing(
    api: Api, app: Litestar, case: str
) -> None:
    body, content_type, status, code = BAD_BODIES[case]
    await _seeded(api)
    before = await table_counts(app)
    for method, path, required in JSON_BODY_OPERATIONS:
        if case == "JSON null" and not required:
            continue  # null is "no body": approving as requested
        headers = auth("admin") | ({"Content-Type": content_type} if content_type else {})
        response = await api.client.request(method, path, content=body, headers=headers)
        problem = assert_problem(response, status, code)
        assert problem["instance"] == path, (method, path)
        if status == 415:
            accept = "Accept-Patch" if method == "PATCH" else "Accept-Post"
            assert response.headers[accept] == "application/json", (method, path, response.headers)
            assert problem["accepted"] == ["application/json"]
    assert await table_counts(app) == before


async def test_an_empty_body_is_malformed_where_one_is_required_and_writes_nothing(api: Api, app: Litestar) -> None:
    await _seeded(api)
    before = await table_counts(app)
    required = [(method, path) for method, path, needed in JSON_BODY_OPERATIONS if needed]
    assert len(required) == len(JSON_BODY_OPERATIONS) - 2  # approving and withdrawing take an optional body
    for method, path in required:
        for headers in ({"Content-Type": "application/json"}, {}):
            response = await api.client.request(method, path, content=b"", headers=auth("admin") | headers)
            assert_problem(response, 400, "malformed-body")
    assert await table_counts(app) == before


async def test_a_body_over_the_limit_is_413_on_every_json_operation(api: Api, app: Litestar, settings: Settings) -> None:
    await _seeded(api)
    before = await table_counts(app)
    oversized = b'{"name": "' + b"x" * settings.max_body_bytes + b'"}'
    for method, path, _ in JSON_BODY_OPERATIONS:
        headers = auth("admin") | {"Content-Type": "application/json"}
        assert_problem(await api.client.request(method, path, content=oversized, headers=headers), 413, "payload-too-large")
    assert await table_counts(app) == before


async def test_json_media_types_with_parameters_and_suffixes_are_accepted(api: Api) -> None:
    accepted = ("application/json; charset=utf-8", 'application/json;charset="UTF-8"', "APPLICATION/JSON", "application/merge-patch+json")
    for index, content_type in enumerate(accepted):
        body = json.dumps({"name": f"Kliniek {index}", "nihdi": f"7100{index:04d}"}).encode()
        response = await api.client.post("/v1/organisations", content=body, headers=auth("admin") | {"Content-Type": content_type})
        assert response.status_code == 201, (content_type, response.text)


@pytest.mark.parametrize("limit", ["201", "1" + "0" * 30, "-1", "0", "1.5", "1e3", "ten", "", "１０", "0x10"])
async def test_every_listing_refuses_a_page_size_out_of_range(api: Api, limit: str) -> None:
    for path in LISTINGS:
        filled = re.sub(r"\{\w+_id\}", lambda _: str(uuid.uuid4()), path)  # {organisation_id}, {webhook_id}
        problem = assert_problem(await api.get(filled, "admin", params={"limit": limit}), 422, "validation-error")
        assert [error["field"] for error in problem["errors"]] == ["query.limit"], (path, problem)


def _query_parameters() -> list[tuple[str, str]]:
    """(path, name) for every query parameter of every GET operation in the committed document."""
    return sorted(
        (path, parameter["name"])
        for path, item in OPENAPI["paths"].items()
        for parameter in item.get("get", {}).get("parameters", [])
        if parameter["in"] == "query"
    )


async def test_every_query_parameter_given_twice_is_refused_naming_it(api: Api) -> None:
    """HTTP parameter pollution: ``?limit=500&limit=5`` is not read as one of them."""
    parameters = _query_parameters()
    assert len(parameters) >= 25
    for path, name in parameters:
        if "{" in path:
            path = re.sub(r"\{\w+_id\}", lambda _: str(uuid.uuid4()), path)
        response = await api.get(f"{path}?{name}=1&{name}=2", "admin")
        problem = assert_problem(response, 422, "validation-error")
        assert [error["field"] for error in problem["errors"]] == [f"query.{name}"], (path, problem)
    # once is fine; a parameter the operation does not read is refused, repeated or not
    assert (await api.get("/v1/organisations?limit=5", "admin")).status_code == 200
    response = await api.get("/v1/organisations?limit=5&unrelated=1&unrelated=2", "admin")
    problem = assert_problem(response, 422, "unknown-query-parameter")
    assert [error["field"] for error in problem["errors"]] == ["query.unrelated"]


@pytest.mark.parametrize(
    "where", ["authorization_details deep", "authorization_details duplicate names", "form not UTF-8", "form as JSON"]
)
async def test_oauth_forms_refuse_bad_input_as_oauth_errors(api: Api, where: str) -> None:
    exchange = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": auth("carol")["Authorization"].removeprefix("Bearer "),
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "audience": "healthstat",
    }
    if where == "authorization_details deep":
        response = await api.client.post("/oauth2/token", data=exchange | {"authorization_details": "[" * DEEP + "]" * DEEP})
        expected = "invalid_authorization_details"
    elif where == "authorization_details duplicate names":
        details = '[{"type": "eam_register_access", "register": "HDBP0147", "register": "HDBP0031"}]'
        response = await api.client.post("/oauth2/token", data=exchange | {"authorization_details": details})
        expected = "invalid_authorization_details"
    elif where == "form not UTF-8":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        response = await api.client.post("/oauth2/token", content=b"grant_type=%ff%fe&audience=\xff", headers=headers)
        expected = "invalid_request"
    else:
        response = await api.client.post("/oauth2/token", json=exchange)
        expected = "invalid_request"
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == expected, response.text


# --- stored and returned verbatim --------------------------------------------------------------

AWKWARD = [
    "Robert'); DROP TABLE organisations;--",
    "' OR '1'='1' UNION SELECT * FROM users --",
    "%_ LIKE wildcards \\ backslash \"quoted\" `ticks` ; /* comment */ $1 :name ?",
    "Zoë Ödön — ﬁnancial Ελληνικά 日本語の説明 😀🏥 עברית",
    "e\u0301 combining + zero\u200bwidth + right\u202eto-left + \ufeffBOM",
    "line one\nline two\ttabbed\r\nwindows",
    "<script>alert(1)</script> &amp; {{template}} ${jndi:ldap://x}",
    "\U0010fffd plane 16 and \U0001f9ec",
]
#: Any Unicode text PostgreSQL and SQLite can both store: no NUL, no lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=120)


def _is_blank(value: str) -> bool:
    return not value.strip()


@pytest.mark.parametrize("letter", ["ß", "ﬃ", "ΐ"])
async def test_a_longest_name_whose_case_folding_is_longer_is_stored_and_found(api: Api, letter: str) -> None:
    """Search compares case-folded text, and case folding can triple a name's length."""
    name = letter * 200
    assert len(name.casefold()) > 200
    created = await api.post("/v1/organisations", json={"name": name, "nihdi": "71000931"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    found = (await api.get("/v1/organisations", params={"q": name[:50].upper()})).json()["items"]
    assert [item["id"] for item in found] == [created.json()["id"]]
    renamed = await api.patch(f"/v1/organisations/{created.json()['id']}", json={"name": letter * 199 + "x"})
    assert renamed.status_code == 200, renamed.text


async def test_the_longest_names_and_subjects_are_audited_in_full(api: Api, app: Litestar) -> None:
    """The audit trail names the actor as "<name> <<subject>>": with the longest name and subject
    a person, or the longest name and client id a service client, can have, writes still work."""
    from eam.audit.models import AuditEvent

    person, name = "p" * 255, "Ö" * 200
    org = await api.managed_organisation()
    body = {
        "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147",
        "profile": {"role": "data_provider", "data_level": "hospital"}, "justification": "A long name is still a name.",
    }
    submitted = await api.client.post("/v1/access-requests", json=body, headers=auth(person, name=name))
    assert submitted.status_code == 201, submitted.text

    client_id = "c" * 64
    created = await api.post("/v1/service-clients", json={"name": "K" * 200, "client_id": client_id, "scopes": ["organisations:write"]})
    assert created.status_code == 201, created.text
    issued = await api.client.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, created.json()["client_secret"])
    )
    assert issued.status_code == 200, issued.text
    renamed = await api.client.patch(
        f"/v1/organisations/{org['id']}", json={"name": "AZ Sint-Jan"}, headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
    )
    assert renamed.status_code == 200, renamed.text

    async with app.state.sessionmaker() as session:
        actors = set(await session.scalars(select(AuditEvent.actor)))
    assert f"{name} <{person}>" in actors
    assert f"{'K' * 200} <client:{client_id}>" in actors


@pytest.mark.parametrize(
    "email", ["x" * 400 + "@azsintjan.be", "not an address", "carol@azsintjan.be"]
)
async def test_identity_claims_too_long_or_odd_for_their_columns_are_cut_or_dropped(api: Api, email: str) -> None:
    """A login provider's claims are not EAM's input rules: a subject with no name becomes a display
    name cut to its column, and an e-mail claim that is no usable address is not stored."""
    subject = "s" * 255
    me = await api.client.get("/v1/me", headers=auth(subject, email=email))
    assert me.status_code == 200, me.text
    assert me.json()["display_name"] == subject[:200]
    assert me.json()["email"] == (email if email == "carol@azsintjan.be" else None)


@pytest.fixture
def live(live_server_factory: Any) -> LiveServer:
    return live_server_factory()


async def test_arbitrary_names_justifications_and_reasons_round_trip_verbatim(live: LiveServer) -> None:
    """Property: whatever text a client sends is what every reader gets back, byte for byte
    (organisation names lose surrounding whitespace, by rule), and nothing else changes."""
    org = await live.api.managed_organisation()
    await asyncio.to_thread(_round_trips, live.base_url, org["id"])


def _round_trips(base_url: str, org_id: str) -> None:
    http = httpx.Client(base_url=base_url, timeout=30)
    counter = iter(range(10_000_000))

    def call(method: str, path: str, user: str, **kwargs: Any) -> httpx.Response:
        return http.request(method, path, headers=auth(user), **kwargs)

    @given(name=TEXT, justification=TEXT, reason=TEXT)
    @example(name=AWKWARD[0], justification=AWKWARD[1], reason=AWKWARD[2])
    @example(name=AWKWARD[3], justification=AWKWARD[4], reason=AWKWARD[5])
    @example(name=AWKWARD[6], justification=AWKWARD[7], reason=AWKWARD[3])
    @example(name=" \tAZ Zoë\u00a0\n", justification="  padded on both sides  ", reason=" ok ")
    @example(name="\u3000", justification="short", reason="  ")
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def round_trip(name: str, justification: str, reason: str) -> None:
        number = next(counter)
        # An organisation name (non-blank; surrounding whitespace is not part of it).
        created = call("POST", "/v1/organisations", "admin", json={"name": name, "nihdi": f"{72000000 + number}"})
        if _is_blank(name):
            assert created.status_code == 422, created.text
        else:
            assert created.status_code == 201, created.text
            shown = call("GET", f"/v1/organisations/{created.json()['id']}", "admin").json()
            assert shown["name"] == name.strip()
            found = call("GET", "/v1/organisations", "admin", params={"q": name, "limit": 200}).json()["items"]
            assert created.json()["id"] in [item["id"] for item in found]
        # A service client name.
        client = call("POST", "/v1/service-clients", "admin", json={"name": name, "client_id": f"fuzz-{number}"})
        if _is_blank(name):
            assert client.status_code == 422, client.text
        else:
            assert client.status_code == 201, client.text
            assert call("GET", f"/v1/service-clients/fuzz-{number}", "admin").json()["name"] == name.strip()
        # A justification (kept exactly as written) and a rejection reason.
        register = ("HDBP0147", "HDBP0031")[number % 2]
        body = {
            "organisation_id": org_id,
            "application": "healthstat",
            "register": register,
            "profile": {"role": "data_provider", "data_level": "hospital"},
            "justification": justification,
        }
        submitted = call("POST", "/v1/access-requests", "carol", json=body)
        if len(justification.strip()) < 10:
            assert submitted.status_code == 422, submitted.text
            return
        assert submitted.status_code == 201, submitted.text
        request_id = submitted.json()["id"]
        try:
            assert call("GET", f"/v1/access-requests/{request_id}", "alice").json()["justification"] == justification
            rejected = call("POST", f"/v1/access-requests/{request_id}/reject", "alice", json={"reason": reason})
            if len(reason) < 3 or _is_blank(reason):
                assert rejected.status_code == 422, rejected.text
            else:
                assert rejected.status_code == 200, rejected.text
                again = call("GET", f"/v1/access-requests/{request_id}", "carol").json()
                assert again["justification"] == justification
                assert again["decision_comment"] == reason
        finally:  # a request left pending would make the next example a duplicate
            call("POST", f"/v1/access-requests/{request_id}/withdraw", "carol")

    try:
        round_trip()
    finally:
        http.close()
