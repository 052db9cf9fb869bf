"""Grant-token signing keys: created at start-up, encrypted at rest, rotated, retired, published."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
from typing import Any

import jwt
import msgspec
import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from litestar import Litestar

from eam.app import create_app
from eam.core.database import transaction
from eam.core.settings import Settings
from eam.signing_keys.models import SigningKey
from tests.conftest import Api, Clock, assert_problem, maintain_keys, serve_in_process

#: RFC 7638 section 3.2: the members that make up the thumbprint, per key type.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def rfc7638_thumbprint(jwk: dict[str, Any]) -> str:
    """Computed here, by the RFC, rather than with the library EAM itself uses."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def timestamp(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


async def signing_keys(api: Api) -> list[dict[str, Any]]:
    response = await api.get("/v1/signing-keys", params={"limit": 200})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


async def current_key(api: Api) -> dict[str, Any]:
    keys = [key for key in await signing_keys(api) if key["status"] == "current"]
    assert len(keys) == 1, keys
    return keys[0]


async def jwks(api: Api) -> dict[str, dict[str, Any]]:
    response = await api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    by_kid = {key["kid"]: key for key in keys}
    assert len(by_kid) == len(keys), "a kid is published twice"
    return by_kid


async def stored_key(app: Litestar, kid: str) -> SigningKey:
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        key = await session.get(SigningKey, kid)
    assert key is not None
    return key


async def rotate(api: Api, user: str = "admin") -> Any:
    return await api.post("/v1/signing-keys/rotate", user)


async def test_a_key_exists_after_start_up_and_its_kid_is_its_rfc7638_thumbprint(api: Api) -> None:
    keys = await signing_keys(api)
    assert len(keys) == 1
    key = keys[0]
    assert key["status"] == "current"
    assert key["alg"] == "ES256"
    assert key["published"] is True
    assert key["superseded_at"] is None and key["retire_after"] is None and key["retired_at"] is None
    assert set(key) == {"kid", "alg", "status", "published", "created_at", "superseded_at", "retire_after", "retired_at"}

    published = await jwks(api)
    assert list(published) == [key["kid"]]
    jwk = published[key["kid"]]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert jwk["alg"] == "ES256" and jwk["use"] == "sig"
    assert "d" not in jwk, "the JWKS must not carry the private key"
    assert key["kid"] == rfc7638_thumbprint(jwk)


async def test_the_jwks_is_public_and_cacheable(api: Api) -> None:
    response = await api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "max-age" in response.headers["cache-control"]


async def test_the_private_key_is_stored_encrypted_with_the_key_encryption_key(
    app: Litestar, api: Api, settings: Settings
) -> None:
    kid = (await current_key(api))["kid"]
    row = await stored_key(app, kid)
    stored = row.private_key_encrypted
    assert stored

    pem = Fernet(settings.key_encryption_keys[0]).decrypt(stored.encode("ascii"))
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"), pem[:40]  # PKCS#8, not SEC1
    assert b"-----BEGIN PRIVATE KEY-----" not in stored.encode()
    for line in pem.decode().splitlines()[1:-1]:
        assert line not in stored, "the PEM body is stored in clear"
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored.encode("ascii"))

    private = load_pem_private_key(pem, password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    numbers = private.public_key().public_numbers()
    jwk = (await jwks(api))[kid]
    assert (numbers.x, numbers.y) == (b64url_int(jwk["x"]), b64url_int(jwk["y"]))
    assert row.public_jwk["x"] == jwk["x"]
    assert "d" not in row.public_jwk


async def test_admin_rotates_and_the_old_key_stays_published_until_its_tokens_have_expired(
    api: Api, clock: Clock, settings: Settings
) -> None:
    old = await current_key(api)
    clock.advance(seconds=90)
    response = await rotate(api)
    assert response.status_code == 200, response.text
    new = response.json()
    assert new["status"] == "current" and new["alg"] == "ES256" and new["published"] is True
    assert new["kid"] != old["kid"]
    assert timestamp(new["created_at"]) == clock.now

    keys = {key["kid"]: key for key in await signing_keys(api)}
    assert set(keys) == {old["kid"], new["kid"]}
    assert keys[new["kid"]]["status"] == "current"
    previous = keys[old["kid"]]
    assert previous["status"] == "previous"
    assert previous["published"] is True
    assert timestamp(previous["superseded_at"]) == clock.now
    keep = dt.timedelta(seconds=settings.grant_token_ttl_seconds + settings.token_leeway_seconds)
    assert keep == dt.timedelta(seconds=330)
    assert timestamp(previous["retire_after"]) == clock.now + keep
    assert previous["retired_at"] is None
    assert [key["kid"] for key in await signing_keys(api)] == [new["kid"], old["kid"]]  # newest first

    published = await jwks(api)
    assert set(published) == {old["kid"], new["kid"]}
    assert new["kid"] == rfc7638_thumbprint(published[new["kid"]])


async def test_new_grant_tokens_are_signed_with_the_new_key_and_old_ones_still_verify(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    before = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert before.status_code == 200, before.text
    old_token = before.json()["access_token"]
    assert (await rotate(api)).status_code == 200
    new = await current_key(api)
    after = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    new_token = after.json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new["kid"]
    assert jwt.get_unverified_header(old_token)["kid"] != new["kid"]
    published = await jwks(api)
    for token in (old_token, new_token):
        jwk = published[jwt.get_unverified_header(token)["kid"]]
        jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience="healthstat", issuer="http://127.0.0.1:8000")


async def test_the_key_list_is_paginated_newest_first(api: Api, clock: Clock) -> None:
    kids = [(await current_key(api))["kid"]]
    for _ in range(2):
        clock.advance(seconds=10)
        response = await rotate(api)
        assert response.status_code == 200, response.text
        kids.append(response.json()["kid"])
    seen, cursor = [], None
    for _ in range(3):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await api.get("/v1/signing-keys", params=params)
        assert page.status_code == 200, page.text
        seen += [key["kid"] for key in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert cursor is None
    assert seen == kids[::-1]


async def test_employee_cannot_rotate_or_list_signing_keys(api: Api) -> None:
    before = await signing_keys(api)
    assert_problem(await rotate(api, "carol"), 403, "forbidden")
    assert_problem(await api.get("/v1/signing-keys", "carol"), 403, "forbidden")
    assert await signing_keys(api) == before


async def test_a_rotation_is_audited(api: Api) -> None:
    old = await current_key(api)
    new = (await rotate(api)).json()
    response = await api.get("/v1/audit-events", params={"action": "signing_key.rotated", "target_id": new["kid"]})
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert len(events) == 1
    event = events[0]
    assert event["target_type"] == "signing_key"
    assert event["actor"].endswith("<admin>")
    assert event["before"]["kid"] == old["kid"]
    assert event["after"]["kid"] == new["kid"] and event["after"]["alg"] == "ES256"
    assert "private_key_encrypted" not in json.dumps(events)
    # the start-up key was audited too, by the system
    startup = await api.get("/v1/audit-events", params={"action": "signing_key.rotated", "target_id": old["kid"]})
    assert [e["actor"] for e in startup.json()["items"]] == ["system:keys"]


async def test_maintenance_retires_the_previous_key_once_its_last_token_has_expired(
    app: Litestar, api: Api, clock: Clock, settings: Settings
) -> None:
    old = await current_key(api)
    new = (await rotate(api)).json()
    retire_after = clock.now + dt.timedelta(seconds=settings.grant_token_ttl_seconds + settings.token_leeway_seconds)

    clock.advance(seconds=329)
    assert await maintain_keys(app.state.services) == 0
    assert old["kid"] in await jwks(api)
    assert (await stored_key(app, old["kid"])).status == "previous"

    clock.advance(seconds=2)
    assert clock.now > retire_after
    assert set(await jwks(api)) == {new["kid"]}  # unpublished at once, before any sweep
    assert await maintain_keys(app.state.services) == 1
    assert await maintain_keys(app.state.services) == 0  # once only

    keys = {key["kid"]: key for key in await signing_keys(api)}
    assert keys[old["kid"]]["status"] == "retired"
    assert keys[old["kid"]]["published"] is False
    assert timestamp(keys[old["kid"]]["retired_at"]) == clock.now
    assert keys[new["kid"]]["status"] == "current"
    row = await stored_key(app, old["kid"])
    assert row.private_key_encrypted == ""
    assert row.public_jwk  # kept for the record
    assert (await stored_key(app, new["kid"])).private_key_encrypted != ""
    assert set(await jwks(api)) == {new["kid"]}

    response = await api.get("/v1/audit-events", params={"action": "signing_key.retired"})
    assert [(e["target_id"], e["actor"]) for e in response.json()["items"]] == [(old["kid"], "system:keys")]


async def test_maintenance_rotates_a_key_once_it_reaches_the_configured_age(
    app: Litestar, api: Api, clock: Clock, settings: Settings
) -> None:
    old = await current_key(api)
    daily = msgspec.structs.replace(settings, signing_key_rotation_days=1)
    never = msgspec.structs.replace(settings, signing_key_rotation_days=0)

    clock.advance(days=1, seconds=-1)
    await maintain_keys(app.state.services, daily)
    assert (await current_key(api))["kid"] == old["kid"]

    clock.advance(seconds=2)
    await maintain_keys(app.state.services)  # the default: 90 days
    await maintain_keys(app.state.services, never)
    assert (await current_key(api))["kid"] == old["kid"]

    await maintain_keys(app.state.services, daily)
    new = await current_key(api)
    assert new["kid"] != old["kid"]
    assert new["alg"] == "ES256"
    assert timestamp(new["created_at"]) == clock.now
    keys = {key["kid"]: key for key in await signing_keys(api)}
    assert keys[old["kid"]]["status"] == "previous"
    assert timestamp(keys[old["kid"]]["retire_after"]) == clock.now + dt.timedelta(seconds=330)
    assert set(await jwks(api)) == {old["kid"], new["kid"]}

    await maintain_keys(app.state.services, daily)  # the new key is not due yet
    assert (await current_key(api))["kid"] == new["kid"]
    events = await api.get("/v1/audit-events", params={"action": "signing_key.rotated", "target_id": new["kid"]})
    assert "older than 1 days" in events.json()["items"][0]["after"]["reason"]


async def test_changing_the_signing_algorithm_rotates_at_start_up(
    api: Api, settings: Settings, clock: Clock
) -> None:
    old = await current_key(api)
    eddsa = create_app(msgspec.structs.replace(settings, grant_signing_alg="EdDSA"), clock=clock, run_housekeeping=False)
    async with serve_in_process(eddsa) as http:
        restarted = Api(http)
        new = await current_key(restarted)
        assert new["alg"] == "EdDSA"
        assert new["kid"] != old["kid"]
        keys = {key["kid"]: key for key in await signing_keys(restarted)}
        assert keys[old["kid"]]["status"] == "previous" and keys[old["kid"]]["alg"] == "ES256"

        published = await jwks(restarted)
        assert set(published) == {old["kid"], new["kid"]}
        jwk = published[new["kid"]]
        assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
        assert "d" not in jwk
        assert new["kid"] == rfc7638_thumbprint(jwk)

        org = await restarted.managed_organisation()
        await restarted.approved_assignment(org["id"])
        response = await restarted.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        header = jwt.get_unverified_header(token)
        assert (header["alg"], header["kid"]) == ("EdDSA", new["kid"])
        jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="healthstat", issuer="http://127.0.0.1:8000")

        events = await restarted.get("/v1/audit-events", params={"action": "signing_key.rotated", "target_id": new["kid"]})
        assert "EAM_GRANT_SIGNING_ALG changed from ES256 to EdDSA" in events.json()["items"][0]["after"]["reason"]


async def test_concurrent_rotations_leave_exactly_one_current_key(api: Api) -> None:
    await api.user_id("admin")  # the admin's user row exists before the race
    successes = 0
    for _ in range(3):
        responses = await asyncio.gather(rotate(api), rotate(api))
        statuses = sorted(response.status_code for response in responses)
        assert statuses in ([200, 200], [200, 409]), [r.text for r in responses]
        for response in responses:
            if response.status_code != 200:
                assert_problem(response, 409, "conflict")
        successes += statuses.count(200)

        keys = await signing_keys(api)
        current = [key for key in keys if key["status"] == "current"]
        assert len(current) == 1, keys
        assert current[0]["kid"] in {r.json()["kid"] for r in responses if r.status_code == 200}
        assert len(keys) == 1 + successes  # a refused rotation left nothing behind
        assert all(key["status"] == "previous" for key in keys if key is not current[0])
        assert set(await jwks(api)) == {key["kid"] for key in keys}


async def test_restarting_the_app_keeps_the_current_key(api: Api, settings: Settings, clock: Clock) -> None:
    before = await signing_keys(api)
    assert len(before) == 1
    clock.advance(days=30)
    async with serve_in_process(create_app(settings, clock=clock, run_housekeeping=False)) as http:
        restarted = Api(http)
        after = await signing_keys(restarted)
        assert [key["kid"] for key in after] == [before[0]["kid"]]
        assert after[0]["status"] == "current"
        assert set(await jwks(restarted)) == {before[0]["kid"]}
