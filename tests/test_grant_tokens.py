"""Issuing grant tokens: POST /v1/grant-tokens, the claims (RFC 9068, RFC 9396), lifetime rules."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from tests.conftest import Api


async def jwks(api: Api) -> dict:
    response = await api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200, response.text
    return response.json()


def verify(token: str, keys: dict, audience: str = "healthstat") -> dict:
    header = jwt.get_unverified_header(token)
    key = next(k for k in keys["keys"] if k["kid"] == header["kid"])
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=audience, issuer="http://127.0.0.1:8000")


async def test_user_with_an_assignment_gets_a_token_that_the_jwks_verifies(api: Api) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    response = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert response.headers["cache-control"] == "no-store"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    claims = verify(body["access_token"], await jwks(api))
    assert claims["sub"] == await api.user_id("carol")
    assert claims["jti"] == body["grant_id"]
    assert claims["authorization_details"] == [
        {
            "type": "eam_register_access",
            "organisation": {"id": org["id"], "nihdi": "71000436"},
            "register": "HDBP0147",
            "role": "data_provider",
            "data_level": "hospital",
            "assignment_id": assignment["id"],
            "valid_until": None,
        }
    ]


async def test_eam_verifier_accepts_the_token_for_its_register_and_refuses_another(live_server) -> None:
    from eam.verifier import AccessDenied, Verifier

    api = live_server.api
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    token = (await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})).json()["access_token"]
    verifier = Verifier(live_server.base_url, "healthstat")
    access = await asyncio.to_thread(verifier.require, token, register="HDBP0147", data_level="hospital")
    assert access.organisation.nihdi == "71000436"
    with pytest.raises(AccessDenied):
        await asyncio.to_thread(verifier.require, token, register="HDBP0031")


async def test_online_verification_notices_a_revoked_assignment_that_offline_cannot(live_server) -> None:
    from eam.verifier import TokenRefused, Verifier

    api = live_server.api
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    created = await api.post("/v1/service-clients", json={"name": "report portal", "audiences": ["healthstat"], "client_id": "healthstat-test"})
    assert created.status_code == 201, created.text
    token = (await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})).json()["access_token"]
    verifier = Verifier(
        live_server.base_url,
        "healthstat",
        introspection_url=f"{live_server.base_url}/oauth2/introspect",
        client_id="healthstat-test",
        client_secret=created.json()["client_secret"],
    )
    assert (await asyncio.to_thread(verifier.require, token, register="HDBP0147", online=True)).assignment_id == assignment["id"]

    revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left the team"})
    assert revoked.status_code == 200, revoked.text
    # Offline, the signature still holds until exp; online, EAM says no in the very next request.
    await asyncio.to_thread(verifier.require, token, register="HDBP0147")
    with pytest.raises(TokenRefused, match="no longer active"):
        await asyncio.to_thread(verifier.require, token, register="HDBP0147", online=True)


async def test_online_verification_refuses_when_the_client_secret_is_wrong(live_server) -> None:
    from eam.verifier import TokenRefused, Verifier

    api = live_server.api
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    created = await api.post("/v1/service-clients", json={"name": "report portal", "audiences": ["healthstat"], "client_id": "healthstat-test"})
    assert created.status_code == 201, created.text
    token = (await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})).json()["access_token"]
    verifier = Verifier(
        live_server.base_url,
        "healthstat",
        introspection_url=f"{live_server.base_url}/oauth2/introspect",
        client_id="healthstat-test",
        client_secret="not-the-secret",
    )
    with pytest.raises(TokenRefused, match="cannot ask EAM"):
        await asyncio.to_thread(verifier.require, token, register="HDBP0147", online=True)
