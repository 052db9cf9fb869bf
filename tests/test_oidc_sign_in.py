"""Sign-in against a real OpenID Provider (Node ``oidc-provider``): browser flow, sessions,
bearer tokens, and the relying-party refusals named after the OpenID conformance cases."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlsplit
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from eam.app import create_app
from eam.core.providers import OidcProviderConfig
from eam.core.database import utc_now
from eam.core.settings import Settings
from tests.conftest import serve_in_process
from tests.oidc import (
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPE,
    EAM_API_RESOURCE,
    OidcProvider,
    browser_sign_in_async,
    browser_sign_out_async,
    forge_id_token,
    generate_signing_jwks,
    unsigned_token,
)

EAM = "http://eam.test"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(redirect_uris=[DEFAULT_REDIRECT_URI]) as op:
        yield op


def provider_config(op: OidcProvider, **overrides: Any) -> OidcProviderConfig:
    values: dict[str, Any] = {
        "name": "national",
        "issuer": op.issuer,
        "client_id": op.client_id,
        "client_secret": op.client_secret,
        "audiences": (EAM_API_RESOURCE,),
        "scopes": tuple(DEFAULT_SCOPE.split()),
        **overrides,
    }
    return OidcProviderConfig(**values)


def eam_app(database_url: str, op: OidcProvider, **overrides: Any) -> Litestar:
    settings = Settings(
        database_url=database_url,
        issuer=EAM,
        platform_admins=("admin",),
        expiry_sweep_seconds=0,
        oidc_providers=(provider_config(op, **overrides),),
    )
    return create_app(settings, clock=utc_now, run_housekeeping=False)


@pytest.fixture
async def browser(database_url: str, provider: OidcProvider) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client: EAM in-process at http://eam.test, the provider over the network."""
    app = eam_app(database_url, provider)
    async with serve_in_process(app):
        mounts = {EAM: httpx.ASGITransport(app=app)}
        async with httpx.AsyncClient(mounts=mounts, timeout=30) as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


async def sign_in(browser: httpx.AsyncClient, login: str = "niss-1") -> httpx.Response:
    redirect = await browser_sign_in_async(browser, f"{EAM}/auth/login", login)
    location = redirect.headers["location"]
    assert location.startswith(DEFAULT_REDIRECT_URI), location
    return await browser.get(location)


def claims_for(op: OidcProvider, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": op.issuer,
        "sub": "niss-1",
        "aud": op.client_id,
        "iat": now,
        "exp": now + 300,
        "national_number": "85073003328",
        "given_name": "Carol",
        "family_name": "Peeters",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def assert_problem(response: httpx.Response, status: int = 401) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


async def test_a_person_signs_in_through_the_provider_and_sees_their_own_data(browser: httpx.AsyncClient) -> None:
    callback = await sign_in(browser)
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == "/v1/me"
    cookie = callback.headers["set-cookie"].lower()
    assert "eam_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    me = await browser.get(f"{EAM}/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["display_name"] == "Carol Peeters"
    assert me.json()["assignments"] == []


async def test_cookie_sessions_need_the_csrf_header_to_change_anything(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    body = {"name": "AZ Groeninge", "nihdi": "71000535"}
    refused = await browser.post(f"{EAM}/v1/organisations", json=body)
    assert assert_problem(refused, 403)["type"] == "urn:eam:problem:forbidden"
    allowed = await browser.post(f"{EAM}/v1/organisations", json=body, headers={"X-Requested-With": "eam"})
    assert allowed.status_code == 403  # carol is no platform admin: authenticated, and Casbin says no
    assert "x-requested-with" not in allowed.text.lower()


async def test_a_replayed_or_unknown_state_is_refused(browser: httpx.AsyncClient) -> None:
    redirect = await browser_sign_in_async(browser, f"{EAM}/auth/login", "niss-1")
    first = await browser.get(redirect.headers["location"])
    assert first.status_code == 303
    replayed = await browser.get(redirect.headers["location"])
    assert "not started in this browser" in assert_problem(replayed)["detail"]  # its cookie is gone
    state = parse_qs(urlsplit(redirect.headers["location"]).query)["state"][0]
    browser.cookies.set("eam_sign_in", state, domain="eam.test", path="/auth")  # even with it back
    replayed = await browser.get(redirect.headers["location"])
    assert "already used sign-in state" in assert_problem(replayed)["detail"]
    browser.cookies.set("eam_sign_in", "never-issued", domain="eam.test", path="/auth")
    unknown = await browser.get(f"{EAM}/auth/callback?code=abc&state=never-issued")
    assert "state" in assert_problem(unknown)["detail"]


async def test_signing_in_again_rotates_the_session(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    first = browser.cookies.get("eam_session")
    await sign_in(browser)
    second = browser.cookies.get("eam_session")
    assert first and second and first != second
    old = await browser.get(f"{EAM}/v1/me", headers={"Cookie": f"eam_session={first}"})
    assert_problem(old)
    assert (await browser.get(f"{EAM}/v1/me")).status_code == 200


async def test_logout_ends_the_session_and_sends_the_browser_to_the_provider(browser: httpx.AsyncClient, provider: OidcProvider) -> None:
    await sign_in(browser)
    token = browser.cookies.get("eam_session")
    out = await browser.post(f"{EAM}/auth/logout")
    assert out.status_code == 303, out.text
    location = httpx.URL(out.headers["location"])
    assert str(location).startswith(provider.discovery()["end_session_endpoint"])
    # RP-Initiated Logout 1.0 section 2: the client is named; no ID token is kept to hint with.
    assert location.params["client_id"] == provider.client_id and "id_token_hint" not in location.params
    assert location.params["post_logout_redirect_uri"] == f"{EAM}/auth/logged-out"
    assert_problem(await browser.get(f"{EAM}/v1/me", headers={"Cookie": f"eam_session={token}"}))
    # The provider accepts it: after its confirmation form it sends the browser back to EAM.
    back = await browser_sign_out_async(browser, str(location))
    assert back.is_redirect and back.headers["location"].startswith(f"{EAM}/auth/logged-out"), back.text[:500]


async def test_later_sign_ins_update_the_name_but_not_the_identity_link(browser: httpx.AsyncClient, provider: OidcProvider) -> None:
    await sign_in(browser)
    before = (await browser.get(f"{EAM}/v1/me")).json()
    provider.set_account("niss-1", {**provider.accounts["niss-1"], "given_name": "Caroline"})
    try:
        await sign_in(browser)
        after = (await browser.get(f"{EAM}/v1/me")).json()
    finally:
        provider.set_account("niss-1", {**provider.accounts["niss-1"], "given_name": "Carol"})
    assert after["id"] == before["id"]
    assert after["display_name"] == "Caroline Peeters"


async def test_a_bearer_id_token_from_the_provider_is_accepted(browser: httpx.AsyncClient, provider: OidcProvider) -> None:
    token = forge_id_token(provider.signing_key(), claims_for(provider))
    me = await browser.get(f"{EAM}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["display_name"] == "Carol Peeters"


def _other_key(alg: str) -> dict[str, Any]:
    return generate_signing_jwks(alg)[0]["keys"][0]


REFUSALS = {
    "rp-id_token-issuer-mismatch": lambda op: forge_id_token(op.signing_key(), claims_for(op, iss=op.issuer + ".evil.example")),
    "rp-id_token-aud": lambda op: forge_id_token(op.signing_key(), claims_for(op, aud="someone-else")),
    "rp-id_token-iat": lambda op: forge_id_token(op.signing_key(), claims_for(op, iat=None)),
    "rp-id_token-bad-sig-es256": lambda op: forge_id_token({**_other_key("ES256"), "kid": op.signing_key()["kid"]}, claims_for(op)),
    "rp-id_token-bad-sig-rs256": lambda op: forge_id_token({**_other_key("RS256"), "kid": "unknown-rs256"}, claims_for(op)),
    "rp-id_token-sig-none": lambda op: unsigned_token(claims_for(op)),
    "expired": lambda op: forge_id_token(op.signing_key(), claims_for(op, iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
    "missing-national-number": lambda op: forge_id_token(op.signing_key(), claims_for(op, national_number=None)),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_bearer_tokens_the_relying_party_must_refuse(browser: httpx.AsyncClient, provider: OidcProvider, case: str) -> None:
    token = REFUSALS[case](provider)
    response = await browser.get(f"{EAM}/v1/me", headers={"Authorization": f"Bearer {token}"})
    problem = assert_problem(response)
    assert problem["type"] == "urn:eam:problem:unauthenticated"
    if case == "missing-national-number":
        assert "national number" in problem["detail"]


async def test_rp_nonce_invalid_a_wrong_or_missing_nonce_is_refused(provider: OidcProvider) -> None:
    from eam.auth.oidc import OidcProvider as Rp
    from eam.core.errors import Unauthenticated

    rp = Rp(provider_config(provider))
    for claims in (claims_for(provider, nonce="another"), claims_for(provider)):
        with pytest.raises(Unauthenticated, match="nonce"):
            await rp.decode(forge_id_token(provider.signing_key(), claims), audiences=[provider.client_id], now=utc_now(), nonce="expected")
    accepted = await rp.decode(
        forge_id_token(provider.signing_key(), claims_for(provider, nonce="expected")), audiences=[provider.client_id], now=utc_now(), nonce="expected"
    )
    assert accepted["nonce"] == "expected"


async def test_rp_discovery_issuer_not_matching_config_refuses_everything(database_url: str, provider: OidcProvider) -> None:
    app = eam_app(database_url, provider, issuer=provider.issuer + "/")
    async with serve_in_process(app):
        async with httpx.AsyncClient(mounts={EAM: httpx.ASGITransport(app=app)}, timeout=30) as http:
            token = forge_id_token(provider.signing_key(), claims_for(provider, iss=provider.issuer + "/"))
            bearer = await http.get(f"{EAM}/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert "discovery" in assert_problem(bearer)["detail"]
            login = await http.get(f"{EAM}/auth/login")
            assert "discovery" in assert_problem(login)["detail"]


async def test_rp_key_rotation_op_sign_key_is_followed_without_a_restart(browser: httpx.AsyncClient, provider: OidcProvider) -> None:
    old_keys = provider.private_jwks
    first = forge_id_token(provider.signing_key(), claims_for(provider))
    assert (await browser.get(f"{EAM}/v1/me", headers={"Authorization": f"Bearer {first}"})).status_code == 200
    new_private, _ = generate_signing_jwks("ES256")
    provider.rotate_keys(new_private)
    try:
        rotated = forge_id_token(provider.signing_key(), claims_for(provider))
        response = await browser.get(f"{EAM}/v1/me", headers={"Authorization": f"Bearer {rotated}"})
        assert response.status_code == 200, response.text
        # and the whole browser flow works with the new key as well
        assert (await sign_in(browser)).status_code == 303
    finally:
        provider.rotate_keys(old_keys)
    await asyncio.sleep(0)


# --- the callback against a misbehaving provider (the conformance suite's test OPs) --------------


#: case -> what EAM's refusal must say (so each is refused for its own defect, not another)
REASONS = {
    "rp-id_token-issuer-mismatch": "Invalid claim: 'iss'",
    "rp-id_token-aud": "Invalid claim: 'aud'",
    "rp-id_token-iat": "Missing claim: 'iat'",
    "rp-id_token-sub": "Missing claim: 'sub'",
    "rp-id_token-bad-sig-es256": "does not verify: bad_signature",
    "rp-id_token-bad-sig-rs256": "does not verify: No key for kid",
    "rp-id_token-sig-none": "signed with 'none' are not accepted",
    "rp-nonce-invalid": "Invalid claim: 'nonce'",
    "nonce-missing": "Missing claim: 'nonce'",
    "expired": "expired",
    "missing-national-number": "no national number",
}
MISBEHAVIOURS = sorted(REASONS)


def _misbehaviours(op: OidcProvider) -> dict[str, dict[str, Any]]:
    """What the provider's token endpoint does wrong, per case: the ID token of a real code flow,
    changed and re-signed by the provider itself (see ``OidcProvider.tamper_id_tokens``)."""
    now, kid = int(time.time()), op.signing_key()["kid"]
    return {
        "rp-id_token-issuer-mismatch": {"set_claims": {"iss": op.issuer + ".evil.example"}},
        "rp-id_token-aud": {"set_claims": {"aud": "someone-else"}},
        "rp-id_token-iat": {"set_claims": {"iat": None}},
        "rp-id_token-sub": {"set_claims": {"sub": None}},
        "rp-id_token-bad-sig-es256": {"sign_with": {**_other_key("ES256"), "kid": kid}},
        "rp-id_token-bad-sig-rs256": {"sign_with": {**_other_key("RS256"), "kid": "rs256-not-in-the-jwks"}},
        "rp-id_token-sig-none": {"sign_with": "none"},
        "rp-nonce-invalid": {"set_claims": {"nonce": "not-the-nonce-eam-sent"}},
        "nonce-missing": {"set_claims": {"nonce": None}},
        "expired": {"set_claims": {"iat": now - 900, "exp": now - 600}},
        "missing-national-number": {"set_claims": {"national_number": None}},
    }


async def _signed_in_rows(app: Litestar) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from eam.audit.models import AuditEvent
    from eam.auth.models import BrowserSession
    from eam.users.models import User

    async with app.state.sessionmaker() as session:
        return (
            await session.scalar(select(func.count()).select_from(User)),
            await session.scalar(select(func.count()).select_from(BrowserSession)),
            await session.scalar(select(func.count()).select_from(AuditEvent)),
        )


async def _callback_with(browser: httpx.AsyncClient, provider: OidcProvider, **misbehaviour: Any) -> tuple[httpx.Response, str]:
    """Run the browser flow to the provider's redirect, then let EAM's callback exchange the code
    while the provider misbehaves. Returns the callback's answer and the callback URL."""
    redirect = await browser_sign_in_async(browser, f"{EAM}/auth/login", "niss-1")
    provider.tamper_id_tokens(**misbehaviour)
    try:
        return await browser.get(redirect.headers["location"]), redirect.headers["location"]
    finally:
        provider.stop_tampering()


@pytest.mark.parametrize("case", MISBEHAVIOURS)
async def test_the_callback_refuses_what_a_misbehaving_provider_returns(browser: httpx.AsyncClient, provider: OidcProvider, case: str) -> None:
    app: Litestar = browser.app  # type: ignore[attr-defined]
    before = await _signed_in_rows(app)
    log_before = provider.log.count("tampered with an ID token")
    misbehaviours = _misbehaviours(provider)
    assert sorted(misbehaviours) == sorted(MISBEHAVIOURS)
    callback, location = await _callback_with(browser, provider, **misbehaviours[case])
    problem = assert_problem(callback)
    assert REASONS[case] in problem["detail"], problem
    assert problem["type"] == "urn:eam:problem:unauthenticated"
    assert provider.log.count("tampered with an ID token") == log_before + 1, "the provider really misbehaved"
    assert "set-cookie" not in callback.headers
    assert_problem(await browser.get(f"{EAM}/v1/me"))
    assert await _signed_in_rows(app) == before, "no user, session or audit event"
    # The state is spent by the refused callback: replaying it, even with the provider behaving, fails.
    assert "state" in assert_problem(await browser.get(location))["detail"]


async def test_a_changed_but_properly_signed_id_token_still_signs_in(browser: httpx.AsyncClient, provider: OidcProvider) -> None:
    """The control for the cases above: the provider's re-signing alone changes nothing."""
    callback, _ = await _callback_with(browser, provider, set_claims={"acr": "urn:eam:test:re-signed"})
    assert callback.status_code == 303, callback.text
    assert (await browser.get(f"{EAM}/v1/me")).status_code == 200


@pytest.mark.parametrize("how", ["another issuer", "no issuer"])
async def test_rfc9207_the_authorization_response_must_name_the_providers_issuer(browser: httpx.AsyncClient, provider: OidcProvider, how: str) -> None:
    """Mix-up defence: the provider promises ``iss`` in its authorization responses, so a response
    naming another issuer, or none, is refused before its code goes anywhere."""
    assert provider.discovery()["authorization_response_iss_parameter_supported"] is True
    redirect = await browser_sign_in_async(browser, f"{EAM}/auth/login", "niss-1")
    url = httpx.URL(redirect.headers["location"])
    assert url.params["iss"] == provider.issuer
    params = {key: value for key, value in url.params.items() if key != "iss"}
    if how == "another issuer":
        params["iss"] = "https://idp.attacker.example"
    refused = await browser.get(str(url.copy_with(params=params)))
    assert "RFC 9207" in assert_problem(refused)["detail"]
    assert "state" in assert_problem(await browser.get(str(url)))["detail"], "the state is spent"


async def test_a_callback_repeating_a_parameter_is_refused_before_it_spends_the_state(browser: httpx.AsyncClient) -> None:
    """RFC 6749 section 3.1: parameters are not included more than once; which one would count?"""
    redirect = await browser_sign_in_async(browser, f"{EAM}/auth/login", "niss-1")
    location = redirect.headers["location"]
    state = httpx.URL(location).params["state"]
    refused = await browser.get(f"{location}&state={state}")
    problem = assert_problem(refused, 422)
    assert [error["field"] for error in problem["errors"]] == ["query.state"]
    assert (await browser.get(location)).status_code == 303  # the genuine callback still works


async def test_a_callback_opened_in_another_browser_signs_no_one_in_and_the_sign_in_survives(browser: httpx.AsyncClient) -> None:
    """Login CSRF (RFC 9700 section 4.7): the callback of someone's sign-in, handed to another
    browser (no sign-in cookie, or the cookie of another attempt), is refused without spending
    the attempt; the browser that started it can still finish."""
    redirect = await browser_sign_in_async(browser, f"{EAM}/auth/login", "niss-1")
    location = redirect.headers["location"]
    app = browser.app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(mounts={EAM: httpx.ASGITransport(app=app)}, timeout=30) as other:
        refused = await other.get(location)
        assert "not started in this browser" in assert_problem(refused)["detail"]
        assert "eam_session" not in refused.headers.get("set-cookie", "")
        other.cookies.set("eam_sign_in", "the-state-of-another-attempt", domain="eam.test", path="/auth")
        assert_problem(await other.get(location))
        assert (await other.get(f"{EAM}/v1/me")).status_code == 401
    finished = await browser.get(location)
    assert finished.status_code == 303, finished.text
    assert (await browser.get(f"{EAM}/v1/me")).status_code == 200


async def test_the_sign_in_cookie_is_http_only_scoped_to_auth_and_cleared_after_use(browser: httpx.AsyncClient) -> None:
    started = await browser.get(f"{EAM}/auth/login")
    assert started.status_code == 302, started.text
    (cookie,) = [value.lower() for name, value in started.headers.multi_items() if name == "set-cookie"]
    assert cookie.startswith("eam_sign_in=") and "httponly" in cookie and "path=/auth" in cookie and "samesite=lax" in cookie
    callback = await sign_in(browser)
    assert callback.status_code == 303, callback.text
    cleared = [value.lower() for name, value in callback.headers.multi_items() if name == "set-cookie" and value.startswith("eam_sign_in=")]
    assert cleared and "max-age=0" in cleared[0]
    assert not [cookie for cookie in browser.cookies.jar if cookie.name == "eam_sign_in"]


async def test_the_language_chosen_on_the_pages_becomes_the_mail_language_at_sign_in(browser: httpx.AsyncClient) -> None:
    browser.cookies.set("eam_lang", "fr")
    callback = await sign_in(browser)
    assert callback.status_code == 303, callback.text
    me = await browser.get(f"{EAM}/v1/me")
    assert me.json()["language"] == "fr"
