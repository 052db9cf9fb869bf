"""People signing in through real OpenID providers (Node ``oidc-provider``, tests/oidc.py), end to end:
JWT access tokens the provider really issued (the test acts as an OAuth client), a person's whole
request-approve-grant journey in a cookie session, two providers at once, and production start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar
from sqlalchemy import func, select

from eam.app import create_app
from eam.auth.identity import national_number_hash
from eam.core.providers import OidcProviderConfig
from eam.core.database import utc_now
from eam.core.settings import DEV_TOKEN_SECRET, Settings
from eam.users.models import User
from tests.conftest import Api, assert_problem, auth, free_port, serve_in_process
from tests.oidc import (
    DEFAULT_SCOPE,
    EAM_API_RESOURCE,
    OidcProvider,
    browser_sign_in_async,
    code_flow_tokens,
    default_client,
    forge_id_token,
    generate_signing_jwks,
    id_token_claims,
)

EAM = "http://eam.test"
OTHER_RESOURCE = "urn:other:api"
CSRF = {"X-Requested-With": "eam"}
TOKEN_CLAIMS = ["national_number", "given_name", "family_name", "email"]  # copied into JWT access tokens
FOREIGN_ACCOUNTS = {  # the same subject as the national provider's Carol, but another person
    "niss-1": {"national_number": "79120500150", "given_name": "Fatima", "family_name": "Haddad", "email": "fatima@example.org"},
}


def resource_server(audience: str, alg: str) -> dict[str, Any]:
    return {"scope": DEFAULT_SCOPE, "audience": audience, "accessTokenFormat": "jwt", "accessTokenTTL": 600, "jwt": {"sign": {"alg": alg}}}


@pytest.fixture(scope="module")
def national() -> Iterator[OidcProvider]:
    servers = {EAM_API_RESOURCE: resource_server(EAM_API_RESOURCE, "ES256"), OTHER_RESOURCE: resource_server(OTHER_RESOURCE, "ES256")}
    with OidcProvider(settings={"access_token_claims": TOKEN_CLAIMS, "resource_servers": servers}) as op:
        yield op


@pytest.fixture(scope="module")
def foreign() -> Iterator[OidcProvider]:
    keys, _ = generate_signing_jwks("RS256")
    with OidcProvider(
        jwks=keys,
        clients=[default_client(client_id="eam-foreign", id_token_alg="RS256")],
        accounts=FOREIGN_ACCOUNTS,
        settings={"access_token_claims": TOKEN_CLAIMS, "resource_servers": {EAM_API_RESOURCE: resource_server(EAM_API_RESOURCE, "RS256")}},
    ) as op:
        yield op


def provider_config(name: str, op: OidcProvider) -> OidcProviderConfig:
    return OidcProviderConfig(
        name=name,
        issuer=op.issuer,
        client_id=op.client_id,
        client_secret=op.client_secret,
        audiences=(EAM_API_RESOURCE,),
        scopes=tuple(DEFAULT_SCOPE.split()),
    )


@asynccontextmanager
async def eam(database_url: str, **providers: OidcProvider) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """EAM in-process with these login providers, and a cookie-less client on it (base URL http://eam.test)."""
    settings = Settings(
        database_url=database_url,
        issuer=EAM,
        platform_admins=("admin",),
        expiry_sweep_seconds=0,
        oidc_providers=tuple(provider_config(name, op) for name, op in providers.items()),
    )
    app = create_app(settings, clock=utc_now, run_housekeeping=False)
    async with serve_in_process(app) as http:
        yield app, http


@asynccontextmanager
async def browser_for(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping browser: EAM in-process at http://eam.test, the providers over the network."""
    async with httpx.AsyncClient(mounts={EAM: httpx.ASGITransport(app=app)}, timeout=30) as browser:
        yield browser


async def sign_in(browser: httpx.AsyncClient, login: str = "niss-1", provider: str | None = None, *, issuer: str | None = None) -> dict[str, Any]:
    """The browser flow through EAM's /auth/login; returns GET /v1/me of the new session."""
    start = f"{EAM}/auth/login" + (f"?provider={provider}" if provider else "")
    redirect = await browser_sign_in_async(browser, start, login)
    location = redirect.headers["location"]
    assert location.startswith(f"{EAM}/auth/callback?"), location
    if issuer is not None:  # RFC 9207: which provider answered
        assert parse_qs(urlsplit(location).query)["iss"] == [issuer]
    callback = await browser.get(location)
    assert callback.status_code == 303, callback.text
    me = await browser.get(f"{EAM}/v1/me")
    assert me.status_code == 200, me.text
    return me.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def real_tokens(op: OidcProvider, login: str = "niss-1", resource: str | None = None) -> dict[str, Any]:
    """Tokens the provider issues to its client through the code flow, for the test acting as that client."""
    with httpx.Client(timeout=10) as http:
        return code_flow_tokens(op, http, login, resource=resource)


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def assert_unauthenticated(response: httpx.Response) -> dict[str, Any]:
    problem = assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    return problem


async def user_count(app: Litestar) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(User))


# ------------------------------------------------------------------------- 1. provider access tokens


async def test_a_jwt_access_token_the_provider_issued_is_accepted_and_creates_the_user(database_url: str, national: OidcProvider) -> None:
    tokens = real_tokens(national, resource=EAM_API_RESOURCE)
    access = tokens["access_token"]
    assert jwt.get_unverified_header(access)["typ"] == "at+jwt"  # RFC 9068, not an ID token
    assert unverified(access)["aud"] == EAM_API_RESOURCE
    async with eam(database_url, national=national) as (app, http):
        response = await http.get("/v1/me", headers=bearer(access))
        assert response.status_code == 200, response.text
        me = response.json()
        assert (me["issuer"], me["subject"]) == (national.issuer, "niss-1")
        assert (me["display_name"], me["email"]) == ("Carol Peeters", "carol@example.org")
        async with app.state.sessionmaker() as session:
            stored = await session.scalar(select(User.national_number_hash).where(User.id == uuid.UUID(me["id"])))
        assert stored == national_number_hash(app.state.settings.national_number_key, "85073003328")
        # the same person signing in with the browser is the same user
        async with browser_for(app) as browser:
            assert (await sign_in(browser))["id"] == me["id"]


async def test_an_opaque_access_token_is_refused_while_the_id_token_of_the_same_exchange_is_accepted(
    database_url: str, national: OidcProvider
) -> None:
    tokens = real_tokens(national)  # no resource: oidc-provider issues an opaque access token
    assert tokens["access_token"].count(".") != 2
    async with eam(database_url, national=national) as (app, http):
        assert_unauthenticated(await http.get("/v1/me", headers=bearer(tokens["access_token"])))
        assert await user_count(app) == 0
        accepted = await http.get("/v1/me", headers=bearer(tokens["id_token"]))
        assert accepted.status_code == 200, accepted.text


async def test_an_access_token_for_another_resource_is_refused(database_url: str, national: OidcProvider) -> None:
    access = real_tokens(national, resource=OTHER_RESOURCE)["access_token"]
    claims = unverified(access)
    assert (claims["iss"], claims["aud"], claims["national_number"]) == (national.issuer, OTHER_RESOURCE, "85073003328")
    async with eam(database_url, national=national) as (app, http):
        problem = assert_unauthenticated(await http.get("/v1/me", headers=bearer(access)))
        assert "aud" in problem["detail"]
        assert await user_count(app) == 0


async def test_azp_still_binds_tokens_issued_to_this_client(database_url: str, national: OidcProvider) -> None:
    """Access tokens need no ``azp``; ID tokens for several audiences still do, and it must be EAM."""
    claims = id_token_claims(national.issuer, national.client_id, "niss-1", aud=[national.client_id, "another-client"])
    async with eam(database_url, national=national) as (_, http):
        for extra in ({}, {"azp": "another-client"}):
            forged = forge_id_token(national.signing_key(), {**claims, **extra})
            assert "azp" in assert_unauthenticated(await http.get("/v1/me", headers=bearer(forged)))["detail"]
        alone = forge_id_token(national.signing_key(), {**claims, "aud": national.client_id, "azp": "another-client"})
        assert "azp" in assert_unauthenticated(await http.get("/v1/me", headers=bearer(alone)))["detail"]
        ours = forge_id_token(national.signing_key(), {**claims, "azp": national.client_id})
        assert (await http.get("/v1/me", headers=bearer(ours))).status_code == 200


# --------------------------------------------------------------- 2. a person's journey in a session


async def test_a_signed_in_person_requests_access_sees_the_approval_and_gets_a_grant_token(
    database_url: str, national: OidcProvider
) -> None:
    async with eam(database_url, national=national) as (app, http), browser_for(app) as browser:
        api = Api(http)  # dev tokens: admin creates the organisation and appoints alice
        org = await api.managed_organisation(manager="alice")
        me = await sign_in(browser)
        body = {
            "organisation_id": org["id"],
            "application": "healthstat",
            "register": "HDBP0147",
            "profile": {"role": "data_provider", "data_level": "hospital"},
            "justification": "I report on our hospital's registrations.",
        }
        assert_problem(await browser.post(f"{EAM}/v1/access-requests", json=body), 403, "forbidden")
        submitted = await browser.post(f"{EAM}/v1/access-requests", json=body, headers=CSRF)
        assert submitted.status_code == 201, submitted.text
        request = submitted.json()
        assert request["requester"]["id"] == me["id"]
        assert [r["id"] for r in (await browser.get(f"{EAM}/v1/me")).json()["pending_requests"]] == [request["id"]]

        # the access manager sees who asked (name from the provider) and approves
        seen = await api.get(f"/v1/access-requests/{request['id']}", "alice")
        assert seen.json()["requester"]["display_name"] == "Carol Peeters"
        approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
        assert approved.status_code == 200, approved.text
        assignment_id = approved.json()["assignment_id"]

        listed = (await browser.get(f"{EAM}/v1/access-requests")).json()["items"]
        assert [(r["id"], r["status"], r["assignment_id"]) for r in listed] == [(request["id"], "approved", assignment_id)]
        mine = (await browser.get(f"{EAM}/v1/me")).json()
        assert [(a["id"], a["register"]) for a in mine["assignments"]] == [(assignment_id, "HDBP0147")]
        assert mine["pending_requests"] == []
        assert [o["id"] for o in mine["organisations"]] == [org["id"]]
        assignments = (await browser.get(f"{EAM}/v1/assignments")).json()["items"]
        assert [a["id"] for a in assignments] == [assignment_id]

        grant_body = {"application": "healthstat"}
        assert_problem(await browser.post(f"{EAM}/v1/grant-tokens", json=grant_body), 403, "forbidden")
        granted = await browser.post(f"{EAM}/v1/grant-tokens", json=grant_body, headers=CSRF)
        assert granted.status_code == 200, granted.text
        token = granted.json()["access_token"]
        keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
        key = next(k for k in keys if k["kid"] == jwt.get_unverified_header(token)["kid"])
        claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience="healthstat", issuer=EAM)
        assert claims["sub"] == me["id"]
        assert [(d["assignment_id"], d["register"]) for d in claims["authorization_details"]] == [(assignment_id, "HDBP0147")]


# ------------------------------------------------------------------------------ 3. two providers


async def test_two_providers_at_once_are_two_separate_identities(database_url: str, national: OidcProvider, foreign: OidcProvider) -> None:
    ops = {"national": national, "foreign": foreign}
    async with eam(database_url, **ops) as (app, http):
        assert_problem(await http.get("/auth/login"), 422, "validation-error")  # which one? the browser must say
        people = {}
        for name, op in ops.items():
            async with browser_for(app) as browser:
                people[name] = await sign_in(browser, "niss-1", name, issuer=op.issuer)
            assert (people[name]["issuer"], people[name]["subject"]) == (op.issuer, "niss-1")
        assert people["national"]["id"] != people["foreign"]["id"]
        assert (people["national"]["display_name"], people["foreign"]["display_name"]) == ("Carol Peeters", "Fatima Haddad")
        async with app.state.sessionmaker() as session:
            hashes = {row.issuer: row.national_number_hash for row in await session.scalars(select(User))}
        key = app.state.settings.national_number_key
        assert hashes == {national.issuer: national_number_hash(key, "85073003328"), foreign.issuer: national_number_hash(key, "79120500150")}

        for name, op in ops.items():  # real tokens from each provider, each the right person
            tokens = real_tokens(op, resource=EAM_API_RESOURCE)
            for token in (tokens["access_token"], tokens["id_token"]):
                response = await http.get("/v1/me", headers=bearer(token))
                assert response.status_code == 200, (name, response.text)
                assert response.json()["id"] == people[name]["id"]

        # the foreign provider's key cannot speak for the national provider
        claims = id_token_claims(national.issuer, national.client_id, "niss-1")
        for kid in (foreign.signing_key()["kid"], national.signing_key()["kid"]):
            forged = forge_id_token(foreign.signing_key(), claims, {"kid": kid})
            assert_unauthenticated(await http.get("/v1/me", headers=bearer(forged)))
        genuine = await http.get("/v1/me", headers=bearer(forge_id_token(national.signing_key(), claims)))
        assert genuine.json()["id"] == people["national"]["id"]
        assert await user_count(app) == 2


# ------------------------------------------------------------------------ 4. production start-up


def eam_command(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("eam")), *args], env=env, capture_output=True, text=True, timeout=60, check=False, **kwargs)


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    """A production environment with nothing but a fresh SQLite file configured."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("EAM_")}
    return {**env, "EAM_ENV": "production", "EAM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}"}


COMPLETE = {
    "EAM_NATIONAL_NUMBER_KEY": "a-production-national-number-key-0123456789",
    "EAM_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "EAM_ISSUER": "https://eam.example.org",
    "EAM_PLATFORM_ADMINS": "https://idp.example.org#ops-admin",
    "EAM_OIDC_PROVIDERS": '[{"name": "national", "issuer": "https://idp.example.org", "client_id": "eam", "client_secret": "s3cret"}]',
}


def test_eam_serve_in_production_names_every_missing_or_unsafe_setting(production_env: dict[str, str]) -> None:
    env = {**production_env, "EAM_NATIONAL_NUMBER_KEY": COMPLETE["EAM_NATIONAL_NUMBER_KEY"], "EAM_DEV_TOKEN_SECRET": DEV_TOKEN_SECRET}
    result = eam_command("serve", env=env)
    assert result.returncode != 0
    for name in ("EAM_DEV_TOKEN_SECRET", "EAM_KEY_ENCRYPTION_KEY", "EAM_ISSUER", "EAM_OIDC_PROVIDERS"):
        assert name in result.stderr, (name, result.stderr)
    assert "EAM_NATIONAL_NUMBER_KEY" not in result.stderr and "Traceback" not in result.stderr
    alone = eam_command("serve", env={**production_env, **COMPLETE, "EAM_ISSUER": "http://eam.example.org"})
    assert alone.returncode != 0 and "EAM_ISSUER" in alone.stderr
    assert not any(name in alone.stderr for name in COMPLETE if name != "EAM_ISSUER")


def test_eam_serve_in_production_with_nothing_configured_names_all_of_it(production_env: dict[str, str]) -> None:
    result = eam_command("serve", env=production_env)
    assert result.returncode != 0
    for name in ("EAM_NATIONAL_NUMBER_KEY", "EAM_KEY_ENCRYPTION_KEY", "EAM_ISSUER", "EAM_OIDC_PROVIDERS"):
        assert name in result.stderr, (name, result.stderr)


def test_eam_serve_in_production_refuses_dev_tokens(production_env: dict[str, str]) -> None:
    """tests/test_auth.py checks an app built in-process; this is the real entry point (eam serve ->
    app_factory -> Settings.from_env), with a complete production configuration."""
    env = {**production_env, **COMPLETE}
    assert eam_command("migrate", env=env).returncode == 0
    refused = eam_command("dev-token", "admin", env=env)
    assert refused.returncode != 0 and "development" in refused.stderr
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("eam")), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "eam serve did not become ready"
            time.sleep(0.2)
        for headers in (auth("admin"), auth("ops-admin")):
            assert_unauthenticated(httpx.get(f"{base}/v1/me", headers=headers, timeout=10))
            forged = httpx.post(f"{base}/v1/organisations", headers=headers, json={"name": "X", "nihdi": "71000436"}, timeout=10)
            assert_unauthenticated(forged)
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
