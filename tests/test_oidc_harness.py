"""The OpenID provider harness (tests/oidc.py + tests/oidc_node) works, independently of EAM.

A real `oidc-provider` is driven by hand: discovery, authorization code + PKCE with Authlib's client,
ID token verification with PyJWT, JWT access tokens for the urn:eam:api resource, key rotation
through the test control endpoint, RP-initiated logout, and the token-forging helpers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from tests.oidc import (
    DEFAULT_POST_LOGOUT_REDIRECT_URI,
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPE,
    EAM_API_RESOURCE,
    OidcProvider,
    browser_sign_in,
    browser_sign_in_async,
    browser_sign_out,
    forge_id_token,
    generate_signing_jwks,
    id_token_claims,
    unsigned_token,
)

CAROL = {
    "sub": "niss-1",
    "national_number": "85073003328",
    "given_name": "Carol",
    "family_name": "Peeters",
    "email": "carol@example.org",
}


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def op(request: pytest.FixtureRequest) -> Iterator[OidcProvider]:
    private, _ = generate_signing_jwks(request.param)
    with OidcProvider(jwks=private) as provider:
        yield provider


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def fetch_jwks(op: OidcProvider) -> jwt.PyJWKSet:
    response = httpx.get(op.discovery()["jwks_uri"], timeout=10)
    response.raise_for_status()
    return jwt.PyJWKSet.from_dict(response.json())


def verify(op: OidcProvider, token: str, audience: str) -> dict[str, Any]:
    """Verify a JWT from the provider against the keys its jwks_uri serves right now."""
    header = jwt.get_unverified_header(token)
    key = fetch_jwks(op)[header["kid"]]
    return jwt.decode(token, key, algorithms=[header["alg"]], audience=audience, issuer=op.issuer)


def oauth_client(op: OidcProvider, **kwargs: Any) -> OAuth2Client:
    options: dict[str, Any] = {
        "client_id": op.client_id,
        "client_secret": op.client_secret,
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "scope": DEFAULT_SCOPE,
        "code_challenge_method": "S256",
        "timeout": 10,
    }
    options.update(kwargs)
    return OAuth2Client(**options)


def sign_in_and_fetch_tokens(
    op: OidcProvider, browser: httpx.Client, login: str = "niss-1", *, resource: str | None = None, nonce: str | None = None
) -> dict[str, Any]:
    """Authorization code + PKCE, by hand: Authlib builds the request and redeems the code."""
    discovery = op.discovery()
    extra = {"resource": resource} if resource else {}
    with oauth_client(op) as client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce or secrets.token_urlsafe(16), **extra
        )
        redirect = browser_sign_in(browser, url, login)
        location = redirect.headers["location"]
        assert location.startswith(DEFAULT_REDIRECT_URI + "?")
        assert query_of(location)["iss"] == op.issuer  # RFC 9207
        return dict(
            client.fetch_token(
                discovery["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state, **extra
            )
        )


# ------------------------------------------------------------------------------------ discovery


def test_discovery_describes_the_provider(op: OidcProvider) -> None:
    discovery = op.discovery()
    assert discovery["issuer"] == op.issuer
    assert op.issuer.startswith("http://127.0.0.1:")
    assert discovery["end_session_endpoint"] == f"{op.issuer}/session/end"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "national_number"} <= set(discovery["scopes_supported"])
    assert "national_number" in discovery["claims_supported"]
    assert discovery["id_token_signing_alg_values_supported"] == [op.private_jwks["keys"][0]["alg"]]
    assert discovery["authorization_response_iss_parameter_supported"] is True


def test_jwks_uri_serves_exactly_the_configured_public_keys(op: OidcProvider) -> None:
    served = httpx.get(op.discovery()["jwks_uri"], timeout=10).json()
    assert served == op.public_jwks or sorted(served["keys"], key=str) == sorted(op.public_jwks["keys"], key=str)
    for key in served["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


# ---------------------------------------------------------------------------- code flow + PKCE


def test_code_flow_with_pkce_yields_an_id_token_with_the_account_claims(op: OidcProvider, browser: httpx.Client) -> None:
    nonce = secrets.token_urlsafe(16)
    tokens = sign_in_and_fetch_tokens(op, browser, nonce=nonce)

    header = jwt.get_unverified_header(tokens["id_token"])
    assert header["alg"] == op.client["id_token_signed_response_alg"]
    assert header["kid"] == op.private_jwks["keys"][0]["kid"]
    claims = verify(op, tokens["id_token"], audience=op.client_id)
    assert claims["nonce"] == nonce
    assert {name: claims[name] for name in CAROL} == CAROL
    assert claims["exp"] - claims["iat"] == 600
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == set(DEFAULT_SCOPE.split())


def test_a_second_account_signs_in_with_its_own_claims(op: OidcProvider, browser: httpx.Client) -> None:
    claims = verify(op, sign_in_and_fetch_tokens(op, browser, "niss-2")["id_token"], audience=op.client_id)
    assert (claims["sub"], claims["national_number"], claims["given_name"]) == ("niss-2", "90020199784", "Dirk")


def test_pkce_is_required_even_for_a_confidential_client(op: OidcProvider, browser: httpx.Client) -> None:
    authorization_endpoint = op.discovery()["authorization_endpoint"]
    params = {
        "client_id": op.client_id,
        "response_type": "code",
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "scope": DEFAULT_SCOPE,
        "state": "s-1",
        "nonce": "n-1",
    }
    redirect = browser_sign_in(browser, f"{authorization_endpoint}?{urlencode(params)}", "niss-1")
    answer = query_of(redirect.headers["location"])
    assert answer["error"] == "invalid_request"
    assert "PKCE" in answer["error_description"]
    assert answer["state"] == "s-1"


def test_the_code_is_refused_with_the_wrong_verifier(op: OidcProvider, browser: httpx.Client) -> None:
    discovery = op.discovery()
    with oauth_client(op) as client:
        url, state = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=generate_token(64), nonce="n")
        location = browser_sign_in(browser, url, "niss-1").headers["location"]
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(
                discovery["token_endpoint"], authorization_response=location, code_verifier=generate_token(64), state=state
            )
    assert refused.value.error == "invalid_grant"


async def test_async_browser_sign_in(op: OidcProvider) -> None:
    discovery = op.discovery()
    with oauth_client(op) as client:
        url, state = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=generate_token(64), nonce="n")
    async with httpx.AsyncClient(timeout=10) as browser:
        redirect = await browser_sign_in_async(browser, url, "niss-1", callback_url=DEFAULT_REDIRECT_URI)
    answer = query_of(redirect.headers["location"])
    assert answer["state"] == state and answer["code"]


# ------------------------------------------------------------------------- JWT access tokens


def test_the_eam_api_resource_gets_a_jwt_access_token(op: OidcProvider, browser: httpx.Client) -> None:
    tokens = sign_in_and_fetch_tokens(op, browser, resource=EAM_API_RESOURCE)
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["typ"] == "at+jwt"  # RFC 9068
    assert header["kid"] == op.private_jwks["keys"][0]["kid"]
    claims = verify(op, tokens["access_token"], audience=EAM_API_RESOURCE)
    assert claims["aud"] == EAM_API_RESOURCE
    assert claims["sub"] == "niss-1"
    assert claims["client_id"] == op.client_id
    assert set(claims["scope"].split()) == set(DEFAULT_SCOPE.split())
    assert claims["exp"] - claims["iat"] == 600
    # the ID token still carries the account claims when the access token is for a resource server
    assert verify(op, tokens["id_token"], audience=op.client_id)["national_number"] == CAROL["national_number"]


def test_account_claims_can_be_copied_into_jwt_access_tokens(browser: httpx.Client) -> None:
    with OidcProvider(settings={"access_token_claims": ["national_number"]}) as op:
        tokens = sign_in_and_fetch_tokens(op, browser, resource=EAM_API_RESOURCE)
        assert verify(op, tokens["access_token"], audience=EAM_API_RESOURCE)["national_number"] == CAROL["national_number"]


def test_without_a_resource_the_access_token_is_opaque(op: OidcProvider, browser: httpx.Client) -> None:
    tokens = sign_in_and_fetch_tokens(op, browser)
    with pytest.raises(jwt.DecodeError):
        jwt.get_unverified_header(tokens["access_token"])


def test_an_unknown_resource_is_refused(op: OidcProvider, browser: httpx.Client) -> None:
    discovery = op.discovery()
    with oauth_client(op) as client:
        url, _ = client.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=generate_token(64), nonce="n", resource="urn:other:api"
        )
    answer = query_of(browser_sign_in(browser, url, "niss-1").headers["location"])
    assert answer["error"] == "invalid_target"


# ---------------------------------------------------------------------------------- key rotation


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_rotating_keys_changes_the_jwks_and_the_kid_of_new_tokens(alg: str, browser: httpx.Client) -> None:
    old_private, _ = generate_signing_jwks(alg)
    new_private, new_public = generate_signing_jwks(alg)
    old_kid, new_kid = old_private["keys"][0]["kid"], new_private["keys"][0]["kid"]
    with OidcProvider(jwks=old_private) as op:
        before = sign_in_and_fetch_tokens(op, browser, "niss-1", resource=EAM_API_RESOURCE)
        assert jwt.get_unverified_header(before["id_token"])["kid"] == old_kid

        issuer, port = op.issuer, op.port
        op.rotate_keys(new_private)

        assert op.issuer == issuer and op.port == port
        served = httpx.get(op.jwks_uri, timeout=10).json()
        assert [key["kid"] for key in served["keys"]] == [new_kid]
        assert served == new_public
        with pytest.raises(KeyError):
            fetch_jwks(op)[old_kid]

        # The browser session survives the rotation: no login form is shown this time, so the
        # login given here is not used and the tokens are still Carol's.
        after = sign_in_and_fetch_tokens(op, browser, "niss-2", resource=EAM_API_RESOURCE)
        assert jwt.get_unverified_header(after["id_token"])["kid"] == new_kid
        assert jwt.get_unverified_header(after["access_token"])["kid"] == new_kid
        assert verify(op, after["id_token"], audience=op.client_id)["sub"] == "niss-1"
        assert verify(op, after["access_token"], audience=EAM_API_RESOURCE)["sub"] == "niss-1"


def test_rotation_can_keep_the_old_key_published(browser: httpx.Client) -> None:
    old_private, _ = generate_signing_jwks("ES256")
    new_private, _ = generate_signing_jwks("ES256")
    with OidcProvider(jwks=old_private) as op:
        op.rotate_keys({"keys": [*new_private["keys"], *old_private["keys"]]})  # the first key signs
        kids = [key["kid"] for key in httpx.get(op.jwks_uri, timeout=10).json()["keys"]]
        assert kids == [new_private["keys"][0]["kid"], old_private["keys"][0]["kid"]]
        tokens = sign_in_and_fetch_tokens(op, browser)
        assert jwt.get_unverified_header(tokens["id_token"])["kid"] == new_private["keys"][0]["kid"]


def test_rotation_to_an_unusable_key_set_is_refused_and_changes_nothing() -> None:
    with OidcProvider() as op:
        kids = [key["kid"] for key in httpx.get(op.jwks_uri, timeout=10).json()["keys"]]
        with pytest.raises(RuntimeError, match="rotate-keys"):
            op.rotate_keys({"keys": []})
        assert [key["kid"] for key in httpx.get(op.jwks_uri, timeout=10).json()["keys"]] == kids


# ------------------------------------------------------------------------------ accounts, logout


def test_accounts_can_be_added_at_runtime(op: OidcProvider, browser: httpx.Client) -> None:
    op.set_account("niss-3", {"national_number": "00010100129", "given_name": "Eva", "family_name": "Maes", "email": "eva@example.org"})
    claims = verify(op, sign_in_and_fetch_tokens(op, browser, "niss-3")["id_token"], audience=op.client_id)
    assert (claims["sub"], claims["national_number"], claims["family_name"]) == ("niss-3", "00010100129", "Maes")


def test_rp_initiated_logout_returns_to_the_post_logout_redirect_uri_and_ends_the_session(
    op: OidcProvider, browser: httpx.Client
) -> None:
    id_token = sign_in_and_fetch_tokens(op, browser, "niss-1")["id_token"]
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": DEFAULT_POST_LOGOUT_REDIRECT_URI, "state": "bye"}
    back = browser_sign_out(browser, f"{op.discovery()['end_session_endpoint']}?{urlencode(params)}")
    assert back.is_redirect
    assert back.headers["location"] == f"{DEFAULT_POST_LOGOUT_REDIRECT_URI}?state=bye"
    # signed out at the provider: the login form is shown again, so another account can sign in
    claims = verify(op, sign_in_and_fetch_tokens(op, browser, "niss-2")["id_token"], audience=op.client_id)
    assert claims["sub"] == "niss-2"


# ------------------------------------------------------------------------------ forged tokens


def test_forged_tokens_signed_with_the_provider_key_verify_like_real_ones(op: OidcProvider) -> None:
    claims = id_token_claims(op.issuer, op.client_id, "niss-1", nonce="n-9", national_number="00000000000")
    forged = forge_id_token(op.signing_key(), claims)
    assert jwt.get_unverified_header(forged)["kid"] == op.signing_key()["kid"]
    assert verify(op, forged, audience=op.client_id)["national_number"] == "00000000000"

    other_private, _ = generate_signing_jwks(op.signing_key()["alg"])
    impostor = forge_id_token(other_private["keys"][0], claims, {"kid": op.signing_key()["kid"]})
    with pytest.raises(jwt.InvalidSignatureError):
        verify(op, impostor, audience=op.client_id)


def test_unsigned_tokens_have_alg_none_and_no_signature(op: OidcProvider) -> None:
    token = unsigned_token(id_token_claims(op.issuer, op.client_id))
    assert token.endswith(".") and token.count(".") == 2
    assert jwt.get_unverified_header(token)["alg"] == "none"
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(token, fetch_jwks(op).keys[0], algorithms=["ES256", "RS256"], audience=op.client_id)


# ------------------------------------------------------------------------------------ clean-up


def test_stopping_the_provider_ends_its_process_and_frees_its_port() -> None:
    op = OidcProvider().start()
    process, issuer = op._process, op.issuer
    assert process is not None and process.poll() is None
    op.stop()
    assert process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
