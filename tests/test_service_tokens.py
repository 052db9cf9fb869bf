"""Service tokens: the OAuth 2.0 client-credentials grant (RFC 6749 section 4.4) for EAM's own API.

Scopes are Casbin roles (``scope:<name>`` in eam/policies/permissions.csv) a client holds through
``g, client:<id>, scope:<name>, *`` rows. A call with a service token needs a scope the token
carries *and* the client still holds; a service token never stands for a person.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from eam.app import create_app
from eam.authz.enforcer import read_permissions
from eam.migrations import upgrade
from eam.authz.vocabulary import defined_scopes
from eam.core.settings import SHIPPED_POLICIES_DIR, Settings
from eam.verifier import TokenRefused, Verifier
from tests.conftest import Api, Clock, assert_problem, casbin_rows, error_fields, serve_in_process, token
from tests.test_oauth import assert_oauth_error, basic, carol_token, exchange, exchange_form, introspect
from tests.test_service_clients import cli_env, database_rows, eam  # noqa: F401 (cli_env is a fixture)

CLIENT_CREDENTIALS = "client_credentials"
SERVICE_AUDIENCE = "urn:eam:api"
DEFINED = defined_scopes(read_permissions(SHIPPED_POLICIES_DIR / "permissions.csv"))


# --- helpers -----------------------------------------------------------------------------


async def new_client(api: Api, scopes: list[str] | None, client_id: str = "reporting-bot", audiences: tuple[str, ...] = ()) -> tuple[str, str]:
    body: dict[str, Any] = {"name": f"{client_id} service", "audiences": list(audiences), "client_id": client_id}
    if scopes is not None:
        body["scopes"] = scopes
    response = await api.post("/v1/service-clients", json=body)
    assert response.status_code == 201, response.text
    return client_id, response.json()["client_secret"]


async def request_token(api: Api, credentials: tuple[str, str], scope: str | None = None, *, how: str = "basic") -> Any:
    form = {"grant_type": CLIENT_CREDENTIALS, **({"scope": scope} if scope is not None else {})}
    if how == "post":
        form.update(client_id=credentials[0], client_secret=credentials[1])
    return await api.post("/oauth2/token", None, data=form, headers=basic(*credentials) if how == "basic" else {})


async def service_token(api: Api, credentials: tuple[str, str], scope: str | None = None) -> str:
    response = await request_token(api, credentials, scope)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def call(api: Api, method: str, path: str, access_token: str, **kwargs: Any) -> Any:
    return await api.call(method, path, None, headers=bearer(access_token), **kwargs)


async def set_scopes(api: Api, client_id: str, scopes: list[str], user: str = "admin") -> Any:
    return await api.call("PUT", f"/v1/service-clients/{client_id}/scopes", user, json={"scopes": scopes})


async def scope_rows(app: Litestar, client_id: str) -> list[str]:
    """The scopes the client holds, read straight from casbin_rule (every one in all domains)."""
    rows = [row for row in await casbin_rows(app, "g") if row[1] == f"client:{client_id}"]
    assert all(row[3] == "*" and row[2].startswith("scope:") for row in rows), rows
    return sorted(row[2].removeprefix("scope:") for row in rows)


async def jwks(api: Api) -> dict[str, Any]:
    response = await api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200, response.text
    return response.json()


NEW_ORG = {"name": "AZ Groeninge", "nihdi": "71000535"}
READ_AUDIT = ["organisations:read", "audit:read"]


# --- the admin API: which scopes a client holds -----------------------------------------------


@pytest.mark.parametrize(
    ("audiences", "scopes", "held"),
    [
        pytest.param(["healthstat"], None, ["tokens:introspect"], id="audiences-default-to-introspection"),
        pytest.param([], ["organisations:read"], ["organisations:read"], id="scopes-without-audiences"),
        pytest.param(["healthstat"], [], [], id="explicitly-none"),
        pytest.param([], ["audit:read", "catalogue:read", "audit:read"], ["audit:read", "catalogue:read"], id="deduplicated"),
    ],
)
async def test_a_new_client_holds_the_scopes_asked_for_or_the_default(app: Litestar, api: Api, audiences: list[str], scopes: list[str] | None, held: list[str]) -> None:
    body: dict[str, Any] = {"name": "bot", "audiences": audiences, "client_id": "bot-1"}
    if scopes is not None:
        body["scopes"] = scopes
    response = await api.post("/v1/service-clients", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["client"]["scopes"] == held
    assert (await api.get("/v1/service-clients/bot-1")).json()["scopes"] == held
    assert (await api.get("/v1/service-clients")).json()["items"][0]["scopes"] == held
    assert await scope_rows(app, "bot-1") == held
    created = (await api.get("/v1/audit-events", params={"action": "service_client.created"})).json()["items"]
    assert [event["after"]["scopes"] for event in created] == [held]


@pytest.mark.parametrize("body", [{"audiences": []}, {"audiences": [], "scopes": []}, {}], ids=["no-audience", "no-scope-either", "nothing"])
async def test_a_client_with_no_audience_and_no_scope_can_do_nothing_until_granted(api: Api, body: dict[str, Any]) -> None:
    response = await api.post("/v1/service-clients", json={"name": "idle", "client_id": "idle-bot", **body})
    assert response.status_code == 201, response.text
    assert response.json()["client"]["scopes"] == [] and response.json()["client"]["audiences"] == []
    credentials = ("idle-bot", response.json()["client_secret"])
    refused = await request_token(api, credentials)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert (await set_scopes(api, "idle-bot", ["organisations:read"])).status_code == 200
    granted = await request_token(api, credentials)
    assert granted.status_code == 200 and granted.json()["scope"] == "organisations:read"


async def test_an_unknown_scope_is_refused_naming_the_defined_ones(app: Litestar, api: Api) -> None:
    response = await api.post("/v1/service-clients", json={"name": "x", "client_id": "x-bot", "scopes": ["organisations:read", "root"]})
    body = assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.scopes"}
    assert body["errors"][0]["allowed"] == DEFINED and "tokens:introspect" in DEFINED
    assert_problem(await api.get("/v1/service-clients/x-bot"), 404, "not-found")

    client_id, _ = await new_client(api, ["organisations:read"])
    response = await set_scopes(api, client_id, ["organisations:write", "role:platform_admin"])
    assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.scopes"} and response.json()["errors"][0]["allowed"] == DEFINED
    assert await scope_rows(app, client_id) == ["organisations:read"]


async def test_setting_scopes_replaces_the_set_and_is_audited_when_it_changes(app: Litestar, api: Api) -> None:
    client_id, _ = await new_client(api, ["organisations:read", "audit:read"])
    response = await set_scopes(api, client_id, ["organisations:write", "audit:read"])
    assert response.status_code == 200, response.text
    assert response.json()["scopes"] == ["audit:read", "organisations:write"]
    assert (await api.get(f"/v1/service-clients/{client_id}")).json()["scopes"] == ["audit:read", "organisations:write"]
    assert await scope_rows(app, client_id) == ["audit:read", "organisations:write"]
    assert (await set_scopes(api, client_id, ["audit:read", "organisations:write"])).status_code == 200  # no change

    events = (await api.get("/v1/audit-events", params={"action": "service_client.scopes_changed"})).json()["items"]
    assert len(events) == 1
    assert events[0]["target_id"] == client_id and events[0]["actor"].endswith("<admin>")
    assert events[0]["before"] == {"scopes": ["audit:read", "organisations:read"]}
    assert events[0]["after"] == {"scopes": ["audit:read", "organisations:write"]}


async def test_a_disabled_client_holds_no_scope_and_cannot_be_given_one(app: Litestar, api: Api) -> None:
    client_id, _ = await new_client(api, ["organisations:read", "audit:read"])
    disabled = await api.post(f"/v1/service-clients/{client_id}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["scopes"] == []
    assert await scope_rows(app, client_id) == []
    assert_problem(await set_scopes(api, client_id, ["organisations:read"]), 409, "conflict")
    assert await scope_rows(app, client_id) == []
    event = (await api.get("/v1/audit-events", params={"action": "service_client.disabled"})).json()["items"][0]
    assert event["before"]["scopes"] == ["audit:read", "organisations:read"]


async def test_only_platform_admins_set_scopes_never_a_service_token(app: Litestar, api: Api) -> None:
    credentials = await new_client(api, DEFINED)  # every scope there is
    assert_problem(await set_scopes(api, credentials[0], ["audit:read"], user="carol"), 403, "forbidden")
    headers = bearer(await service_token(api, credentials))
    response = await api.call("PUT", f"/v1/service-clients/{credentials[0]}/scopes", None, json={"scopes": ["audit:read"]}, headers=headers)
    assert_problem(response, 403, "forbidden")
    assert_problem(await api.post("/v1/service-clients", None, json={"name": "y", "scopes": ["audit:read"]}, headers=headers), 403, "forbidden")
    assert await scope_rows(app, credentials[0]) == DEFINED


async def test_concurrent_scope_changes_leave_one_requested_set_and_a_disable_wins(app: Litestar, api: Api) -> None:
    client_id, _ = await new_client(api, ["tokens:introspect"])
    wanted = [["organisations:read"], ["audit:read", "catalogue:read"], ["assignments:read"], ["organisations:write", "audit:read"]] * 2
    responses = await asyncio.gather(*(set_scopes(api, client_id, scopes) for scopes in wanted))
    assert [r.status_code for r in responses] == [200] * len(wanted), [r.text for r in responses]
    held = await scope_rows(app, client_id)  # duplicates would show here
    assert held in [sorted(scopes) for scopes in wanted], held
    assert (await api.get(f"/v1/service-clients/{client_id}")).json()["scopes"] == held

    racing = [set_scopes(api, client_id, scopes) for scopes in wanted]
    racing.insert(len(racing) // 2, api.post(f"/v1/service-clients/{client_id}/disable"))
    responses = await asyncio.gather(*racing)
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    assert (await api.get(f"/v1/service-clients/{client_id}")).json()["status"] == "disabled"
    assert await scope_rows(app, client_id) == []  # a disabled client holds nothing, whoever came last


def test_cli_creates_a_client_with_scopes(cli_env: dict[str, str]) -> None:  # noqa: F811
    made = json.loads(eam("clients", "create", "--name", "bot", "--audience", "healthstat", "--scope", "organisations:read", "--scope", "audit:read", "--client-id", "bot-1", env=cli_env).stdout)
    assert made["scopes"] == ["audit:read", "organisations:read"]
    default = json.loads(eam("clients", "create", "--name", "portal", "--audience", "healthstat", "--client-id", "portal-1", env=cli_env).stdout)
    assert default["scopes"] == ["tokens:introspect"]
    unknown = eam("clients", "create", "--name", "x", "--audience", "healthstat", "--scope", "root", "--client-id", "x-1", env=cli_env, check=False)
    assert unknown.returncode != 0 and "root" in unknown.stderr and "Traceback" not in unknown.stderr
    assert database_rows(cli_env, "SELECT v0, v1, v2 FROM casbin_rule WHERE ptype = 'g' ORDER BY v0, v1") == [
        ("client:bot-1", "scope:audit:read", "*"),
        ("client:bot-1", "scope:organisations:read", "*"),
        ("client:portal-1", "scope:tokens:introspect", "*"),
    ]
    assert database_rows(cli_env, "SELECT client_id FROM service_clients ORDER BY client_id") == [("bot-1",), ("portal-1",)]


# --- the token endpoint ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["basic", "post"])
async def test_client_credentials_issue_a_signed_service_token_for_eam_api(api: Api, settings, how: str) -> None:
    credentials = await new_client(api, ["organisations:read", "audit:read"])
    response = await request_token(api, credentials, how=how)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}  # no refresh token (section 4.4.3)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.service_token_ttl_seconds == 300
    assert body["scope"] == "audit:read organisations:read"  # every scope held when none is asked for

    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    key = next(k for k in (await jwks(api))["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["access_token"], jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=SERVICE_AUDIENCE, issuer=settings.issuer_url,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"]},
    )
    assert claims["sub"] == claims["client_id"] == "reporting-bot"
    assert claims["aud"] == SERVICE_AUDIENCE and claims["scope"] == body["scope"]
    assert claims["nbf"] == claims["iat"] and claims["exp"] - claims["iat"] == 300
    assert uuid.UUID(claims["jti"]) and "authorization_details" not in claims
    assert (await request_token(api, credentials)).json()["access_token"] != body["access_token"]


@pytest.mark.parametrize(
    ("scope", "granted"),
    [
        ("organisations:read", "organisations:read"),
        ("organisations:read audit:read", "audit:read organisations:read"),
        ("audit:read audit:read", "audit:read"),
    ],
)
async def test_a_requested_scope_narrows_the_token(api: Api, scope: str, granted: str) -> None:
    credentials = await new_client(api, ["organisations:read", "audit:read", "catalogue:read"])
    response = await request_token(api, credentials, scope)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == granted
    assert jwt.decode(response.json()["access_token"], options={"verify_signature": False})["scope"] == granted


@pytest.mark.parametrize(
    ("held", "scope"),
    [
        pytest.param(READ_AUDIT, "organisations:write", id="defined-not-held"),
        pytest.param(READ_AUDIT, "root", id="unknown"),
        pytest.param(READ_AUDIT, "organisations:read organisations:write", id="partly-held"),
        pytest.param(READ_AUDIT, "organisations:read  audit:read", id="two-spaces"),
        pytest.param(READ_AUDIT, 'organisations:read "x"', id="not-nqchar"),
        pytest.param([], None, id="holds-none"),
        pytest.param([], "tokens:introspect", id="holds-none-asks-one"),
    ],
)
async def test_a_scope_not_held_or_malformed_is_invalid_scope(api: Api, held: list[str], scope: str | None) -> None:
    credentials = await new_client(api, held, audiences=("healthstat",))
    if held:
        assert (await request_token(api, credentials, "organisations:read")).status_code == 200  # control
    body = assert_oauth_error(await request_token(api, credentials, scope), 400, "invalid_scope")
    assert "access_token" not in body


async def test_an_empty_scope_parameter_counts_as_omitted(api: Api) -> None:
    """RFC 6749 section 3.2: a parameter sent without a value is treated as omitted."""
    credentials = await new_client(api, READ_AUDIT, audiences=("healthstat",))
    omitted = await request_token(api, credentials, None)
    empty = await request_token(api, credentials, "")
    assert omitted.status_code == empty.status_code == 200, empty.text
    assert empty.json()["scope"] == omitted.json()["scope"] == " ".join(sorted(READ_AUDIT))


@pytest.mark.parametrize("defect", ["no-credentials", "wrong-secret", "unknown-client", "disabled", "basic-and-post", "person-bearer"])
async def test_client_credentials_need_an_active_authenticated_client(api: Api, defect: str) -> None:
    client_id, secret = await new_client(api, ["organisations:read"])
    assert (await request_token(api, (client_id, secret))).status_code == 200
    form = {"grant_type": CLIENT_CREDENTIALS}
    headers: dict[str, str] = {}
    if defect == "wrong-secret":
        headers = basic(client_id, secret + "x")
    elif defect == "unknown-client":
        headers = basic("nobody-bot", secret)
    elif defect == "disabled":
        assert (await api.post(f"/v1/service-clients/{client_id}/disable")).status_code == 200
        headers = basic(client_id, secret)
    elif defect == "basic-and-post":
        headers, form = basic(client_id, secret), {**form, "client_secret": secret}
    elif defect == "person-bearer":
        headers = bearer(token("admin"))
    response = await api.post("/oauth2/token", None, data=form, headers=headers)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_server_metadata_lists_client_credentials_and_the_scopes(api: Api) -> None:
    metadata = (await api.get("/.well-known/oauth-authorization-server", None)).json()
    assert CLIENT_CREDENTIALS in metadata["grant_types_supported"]
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in metadata["grant_types_supported"]
    assert metadata["scopes_supported"] == DEFINED


# --- the API, called with a service token ---------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "method", "path", "status"),
    [
        ("organisations:read", "GET", "/v1/organisations", 200),
        ("organisations:read", "GET", "/v1/organisations?q=sint-jan", 200),
        ("organisations:read", "POST", "/v1/organisations", 403),
        ("organisations:write", "POST", "/v1/organisations", 201),
        ("catalogue:read", "GET", "/v1/applications", 200),
        ("catalogue:read", "GET", "/v1/organisations", 403),
        ("audit:read", "GET", "/v1/audit-events", 200),
        ("audit:read", "GET", "/v1/applications", 403),
        ("tokens:introspect", "GET", "/v1/organisations", 403),
    ],
)
async def test_the_token_scope_decides_what_the_client_may_do(api: Api, scope: str, method: str, path: str, status: int) -> None:
    org = await api.organisation()
    access_token = await service_token(api, await new_client(api, [scope]))
    response = await call(api, method, path, access_token, **({"json": NEW_ORG} if method == "POST" else {}))
    if status == 403:
        body = assert_problem(response, 403, "forbidden")
        assert scope in body["detail"]
    else:
        assert response.status_code == status, response.text
    if path.endswith("q=sint-jan"):
        assert [item["id"] for item in response.json()["items"]] == [org["id"]]


async def test_a_token_issued_for_one_scope_cannot_use_another_the_client_holds(api: Api) -> None:
    credentials = await new_client(api, ["organisations:read", "audit:read"])
    audit_only = await service_token(api, credentials, "audit:read")
    assert (await call(api, "GET", "/v1/audit-events", audit_only)).status_code == 200
    assert_problem(await call(api, "GET", "/v1/organisations", audit_only), 403, "forbidden")
    assert (await call(api, "GET", "/v1/organisations", await service_token(api, credentials))).status_code == 200


async def test_a_removed_scope_stops_working_for_tokens_already_issued(api: Api) -> None:
    client_id, secret = await new_client(api, ["organisations:write"])
    access_token = await service_token(api, (client_id, secret))
    created = await call(api, "POST", "/v1/organisations", access_token, json=NEW_ORG)
    assert created.status_code == 201, created.text
    events = (await api.get("/v1/audit-events", params={"action": "organisation.created", "target_id": created.json()["id"]})).json()["items"]
    assert [event["actor"] for event in events] == ["reporting-bot service <client:reporting-bot>"]  # audited as the client
    assert (await set_scopes(api, client_id, ["organisations:read"])).status_code == 200
    assert_problem(await call(api, "POST", "/v1/organisations", access_token, json={**NEW_ORG, "nihdi": "71000436"}), 403, "forbidden")
    assert (await call(api, "GET", "/v1/organisations", access_token)).status_code == 200  # still held: read
    assert (await set_scopes(api, client_id, ["audit:read"])).status_code == 200
    assert_problem(await call(api, "GET", "/v1/organisations", access_token), 403, "forbidden")
    assert_oauth_error(await request_token(api, (client_id, secret), "organisations:write"), 400, "invalid_scope")


@pytest.mark.parametrize("how", ["disabled", "secret-rotated", "expired", "forged", "tampered", "grant-token-instead"])
async def test_a_service_token_is_refused_at_once(api: Api, clock: Clock, settings, how: str) -> None:
    client_id, secret = await new_client(api, ["organisations:read"])
    access_token = await service_token(api, (client_id, secret))
    assert (await call(api, "GET", "/v1/organisations", access_token)).status_code == 200
    if how == "disabled":
        assert (await api.post(f"/v1/service-clients/{client_id}/disable")).status_code == 200
    elif how == "secret-rotated":
        clock.advance(seconds=1)  # iat has whole seconds: a token of the same second still passes
        rotated = await api.post(f"/v1/service-clients/{client_id}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        fresh = await service_token(api, (client_id, rotated.json()["client_secret"]))
        assert (await call(api, "GET", "/v1/organisations", fresh)).status_code == 200
    elif how == "expired":
        clock.advance(seconds=settings.service_token_ttl_seconds - 1)
        assert (await call(api, "GET", "/v1/organisations", access_token)).status_code == 200
        clock.advance(seconds=1)
    elif how == "forged":  # the same claims and kid, signed with a key EAM never published
        claims, kid = jwt.decode(access_token, options={"verify_signature": False}), jwt.get_unverified_header(access_token)["kid"]
        access_token = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"typ": "at+jwt", "kid": kid})
    elif how == "tampered":
        head, payload, signature = access_token.split(".")
        access_token = f"{head}.{payload}.{signature[:-4]}AAAA"
    else:  # a grant token is for downstream applications, never a credential at EAM's API
        access_token = (await carol_token(api))[2]
    assert_problem(await call(api, "GET", "/v1/organisations", access_token), 401, "unauthenticated")


@pytest.mark.parametrize("action", ["submit-request", "approve-request", "create-assignment", "get-grant-token"])
async def test_a_service_token_never_acts_for_a_person(api: Api, action: str) -> None:
    """No scope submits or decides requests, creates assignments or gets grant tokens."""
    org = await api.managed_organisation()
    request = (await api.request_access(org["id"], "dave")).json()
    profile = {"role": "data_provider", "data_level": "hospital"}
    path, body, person = {
        "submit-request": ("/v1/access-requests", {"organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147", "profile": profile, "justification": "Automated reporting needs it."}, "carol"),
        "approve-request": (f"/v1/access-requests/{request['id']}/approve", {}, "alice"),
        "create-assignment": ("/v1/assignments", {"user_id": await api.user_id("erin"), "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147", "profile": profile}, "alice"),
        "get-grant-token": ("/v1/grant-tokens", {"application": "healthstat"}, "dave"),
    }[action]
    if action == "get-grant-token":
        assert (await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})).status_code == 200
    access_token = await service_token(api, await new_client(api, DEFINED))  # every scope there is
    assert_problem(await call(api, "POST", path, access_token, json=body), 403, "forbidden")
    assert (await api.post(path, person, json=body)).status_code in (200, 201)  # the same call by a person works


async def test_a_service_token_is_neither_a_subject_token_nor_a_holders_credential(api: Api) -> None:
    _, _, grant = await carol_token(api)
    portal = await new_client(api, None, "healthstat-portal", ("healthstat",))
    access_token = await service_token(api, await new_client(api, DEFINED))
    assert (await exchange(api)).status_code == 200  # control: carol's own token is a subject token
    assert_oauth_error(await exchange(api, exchange_form(None, subject_token=access_token)), 400, "invalid_request")
    response = await api.post("/oauth2/revoke", None, data={"token": grant}, headers=bearer(access_token))
    assert_oauth_error(response, 401, "invalid_client")
    assert (await introspect(api, grant, portal)).json()["active"] is True


async def test_a_downstream_verifier_refuses_a_service_token(api: Api, settings) -> None:
    _, _, grant = await carol_token(api)
    access_token = await service_token(api, await new_client(api, DEFINED))
    keys = json.dumps(await jwks(api)).encode()
    verifier = Verifier(settings.issuer_url, "healthstat", fetch=lambda _url: keys)
    assert verifier.verify(grant).subject == await api.user_id("carol")  # control: the same keys verify a grant token
    with pytest.raises(TokenRefused, match="[Aa]udience"):
        verifier.verify(access_token)


# --- introspection -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["basic", "post"])
async def test_introspection_by_client_credentials_needs_the_tokens_introspect_scope(api: Api, how: str) -> None:
    _, _, grant = await carol_token(api)
    credentials = await new_client(api, ["organisations:read"], "healthstat-portal", ("healthstat",))
    response = await introspect(api, grant, credentials, how=how)
    body = assert_oauth_error(response, 403, "insufficient_scope")
    assert "tokens:introspect" in body["error_description"]
    assert (await set_scopes(api, credentials[0], ["organisations:read", "tokens:introspect"])).status_code == 200
    assert (await introspect(api, grant, credentials, how=how)).json()["active"] is True


async def test_introspection_with_a_service_token_needs_it_to_carry_tokens_introspect(api: Api) -> None:
    _, _, grant = await carol_token(api)
    credentials = await new_client(api, ["tokens:introspect", "organisations:read"], "healthstat-portal", ("healthstat",))
    narrow, full = await service_token(api, credentials, "organisations:read"), await service_token(api, credentials)
    response = await api.post("/oauth2/introspect", None, data={"token": grant}, headers=bearer(narrow))
    assert_oauth_error(response, 403, "insufficient_scope")
    assert response.headers["www-authenticate"].startswith("Bearer") and 'error="insufficient_scope"' in response.headers["www-authenticate"]
    response = await api.post("/oauth2/introspect", None, data={"token": grant}, headers=bearer(full))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["active"] is True and response.json()["sub"] == await api.user_id("carol")
    # A service token is for urn:eam:api, not one of the client's audiences: never active here.
    itself = await api.post("/oauth2/introspect", None, data={"token": full}, headers=bearer(full))
    assert itself.json() == {"active": False}


@pytest.mark.parametrize("how", ["expired", "client-disabled", "person", "grant-token", "garbage"])
async def test_introspection_with_an_invalid_bearer_is_invalid_token(api: Api, clock: Clock, settings, how: str) -> None:
    _, _, grant = await carol_token(api)
    client_id, secret = await new_client(api, None, "healthstat-portal", ("healthstat",))
    credential = await service_token(api, (client_id, secret))
    assert (await api.post("/oauth2/introspect", None, data={"token": grant}, headers=bearer(credential))).status_code == 200
    if how == "expired":
        clock.advance(seconds=settings.service_token_ttl_seconds)
    elif how == "client-disabled":
        assert (await api.post(f"/v1/service-clients/{client_id}/disable")).status_code == 200
    elif how == "person":
        credential = token("carol")
    elif how == "grant-token":
        credential = grant
    else:
        credential = "not-a-jwt"
    response = await api.post("/oauth2/introspect", None, data={"token": grant}, headers=bearer(credential))
    assert_oauth_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer") and "invalid_token" in response.headers["www-authenticate"]


# --- migration 0004 ----------------------------------------------------------------------------------


async def _sql(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _serve(url: str, calls: Any) -> Any:
    app = create_app(Settings(database_url=url, platform_admins=("admin",), expiry_sweep_seconds=0), run_housekeeping=False)
    async with serve_in_process(app) as http:
        return await calls(Api(http))


def test_migration_0004_keeps_introspection_for_active_clients_only(empty_database: str) -> None:
    upgrade(empty_database, "0003")
    now, secret = dt.datetime.now(dt.UTC), "s3cret-from-before-scopes"
    for client_id, status in [("old-portal", "active"), ("old-retired", "disabled")]:
        asyncio.run(_sql(
            empty_database,
            "INSERT INTO service_clients (client_id, name, audiences, secret_hash, secret_created_at, status, created_at, updated_at)"
            " VALUES (:id, :id, '[\"healthstat\"]', :hash, :now, :status, :now, :now)",
            id=client_id, hash=hashlib.sha256(secret.encode()).hexdigest(), now=now, status=status,
        ))
    before = asyncio.run(_sql(empty_database, "SELECT version FROM policy_version"))
    upgrade(empty_database)
    assert asyncio.run(_sql(empty_database, "SELECT ptype, v0, v1, v2, v3 FROM casbin_rule")) == [
        ("g", "client:old-portal", "scope:tokens:introspect", "*", None)
    ]
    assert asyncio.run(_sql(empty_database, "SELECT version FROM policy_version")) == [(before[0][0] + 1,)]

    async def calls(api: Api) -> list[Any]:
        introspected = await introspect(api, "not-a-token", ("old-portal", secret))
        shown = await api.get("/v1/service-clients/old-portal")
        disabled = await api.post("/v1/service-clients/old-portal/disable")
        return [introspected.status_code, introspected.json(), shown.json()["scopes"], disabled.status_code]

    assert asyncio.run(_serve(empty_database, calls)) == [200, {"active": False}, ["tokens:introspect"], 200]
    assert asyncio.run(_sql(empty_database, "SELECT count(*) FROM casbin_rule")) == [(0,)]  # the migrated row goes like any other
