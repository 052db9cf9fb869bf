"""Security events pushed to applications (issue 15 item 4), on SQLite and PostgreSQL, against a
real receiver on loopback: a SET (RFC 8417, CAEP) per ended or narrowed access, pushed per RFC
8935, verified with ``eam.verifier_events`` and independently with PyJWT against EAM's JWKS."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from litestar import Litestar

from eam.app import create_app
from eam.verifier import TokenRefused
from eam.verifier_events import SESSION_REVOKED, TOKEN_CLAIMS_CHANGE, SecurityEventVerifier
from tests.conftest import Api, Clock, serve_in_process
from tests.test_webhooks import deliver, hook_settings, subscribe
from tests.webhook_receiver import Receiver, running_receiver

ISSUER = "https://eam.example.org"


@pytest.fixture
async def events_app(database_url: str, clock: Clock) -> Any:
    app = create_app(hook_settings(database_url), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        yield app, Api(http)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(status=202) as running:
        yield running


async def verifier(api: Api, audience: str = "healthstat") -> SecurityEventVerifier:
    jwks = (await api.get("/.well-known/jwks.json", None)).content
    return SecurityEventVerifier(ISSUER, audience, fetch=lambda url: jwks)


async def pyjwt_claims(api: Api, token: str, audience: str = "healthstat") -> dict[str, Any]:
    """The claims as PyJWT reads them, with the key of EAM's JWKS the token names."""
    keys = jwt.PyJWKSet.from_dict((await api.get("/.well-known/jwks.json", None)).json())
    header = jwt.get_unverified_header(token)
    [key] = [key for key in keys.keys if key.key_id == header["kid"]]
    assert header["typ"] == "secevent+jwt"
    return jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience, issuer=ISSUER, options={"require": ["iat", "jti"]})


async def test_narrowing_and_revocation_are_pushed_as_caep_events(events_app: Any, receiver: Receiver) -> None:
    app, api = events_app
    await subscribe(api, receiver.url, format="secevent", application="healthstat")
    other = await subscribe(api, receiver.url.replace("/hook", "/hd4dp2"), format="secevent", application="hd4dp2")
    assert other["webhook"]["events"] == ["assignment.changed", "assignment.expired", "assignment.revoked", "organisation.disabled"]
    org = await api.managed_organisation()
    carol = await api.user_id("carol")
    assignment = await api.approved_assignment(org["id"])
    changed = await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"profile": {"role": "data_provider", "data_level": "individual"}})
    assert changed.status_code == 200, changed.text
    revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left the study team"})
    assert revoked.status_code == 200, revoked.text
    assert (await deliver(app))["delivered"] == 2  # neither the approval nor hd4dp2's subscription
    assert {request.path for request in receiver.requests} == {"/hook"}
    for request in receiver.requests:
        assert request.headers["content-type"] == "application/secevent+jwt"
        assert "webhook-signature" not in request.headers
    check = await verifier(api)
    # (the test clock stands still, so both are due at the same moment: told apart by their type)
    first, second = sorted((check.verify(request.body.decode()) for request in receiver.requests), key=lambda lost: lost.event_type, reverse=True)
    [ended] = [request for request in receiver.requests if check.verify(request.body.decode()) == second]
    assert (first.event_type, first.user_id, first.organisation_id, first.register, first.application, first.assignment_id) == (
        TOKEN_CLAIMS_CHANGE, carol, org["id"], "HDBP0147", "healthstat", assignment["id"]
    )
    assert first.claims is not None and first.claims["data_level"] == "individual" and first.claims["role"] == "data_provider"
    assert (second.event_type, second.user_id, second.register, second.reason) == (SESSION_REVOKED, carol, "HDBP0147", "assignment.revoked")
    assert first.token_id != second.token_id

    claims = await pyjwt_claims(api, ended.body.decode())
    assert claims["iss"] == ISSUER and claims["aud"] == "healthstat" and "exp" not in claims
    assert claims["sub_id"] == {
        "format": "complex",
        "user": {"format": "opaque", "id": carol},
        "tenant": {"format": "opaque", "id": org["id"]},
        "group": {"format": "opaque", "id": "HDBP0147"},
    }
    [(uri, event)] = claims["events"].items()
    assert uri == "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
    assert event["initiating_entity"] == "admin" and isinstance(event["event_timestamp"], int)
    with pytest.raises(TokenRefused, match="Audience"):
        (await verifier(api, "hd4dp2")).verify(ended.body.decode())


async def test_disabling_an_organisation_tells_every_subscribed_application(events_app: Any, receiver: Receiver) -> None:
    app, api = events_app
    await subscribe(api, receiver.url, format="secevent", application="healthstat")
    await subscribe(api, receiver.url.replace("/hook", "/hd4dp2"), format="secevent", application="hd4dp2")
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    disabled = await api.patch(f"/v1/organisations/{org['id']}", json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.text
    await deliver(app)
    by_path: dict[str, list[Any]] = {}
    for request in receiver.requests:
        audience = "hd4dp2" if request.path == "/hd4dp2" else "healthstat"
        by_path.setdefault(request.path, []).append((await verifier(api, audience)).verify(request.body.decode()))
    assert sorted((lost.user_id is None, lost.reason) for lost in by_path["/hook"]) == [(False, "assignment.revoked"), (True, "organisation.disabled")]
    [whole] = by_path["/hd4dp2"]
    assert (whole.event_type, whole.organisation_id, whole.user_id, whole.register) == (SESSION_REVOKED, org["id"], None, None)


async def test_only_202_is_success_and_the_verifier_refuses_what_is_not_an_eam_set(events_app: Any, receiver: Receiver) -> None:
    app, api = events_app
    hook_id = (await subscribe(api, receiver.url, format="secevent", application="healthstat"))["webhook"]["id"]
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    grant = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert grant.status_code == 200, grant.text
    receiver.status = 200
    await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left"})
    assert (await deliver(app))["pending"] == 1  # RFC 8935 section 2.2: 202 Accepted
    [delivery] = (await api.get(f"/v1/webhooks/{hook_id}/deliveries")).json()["items"]
    assert delivery["channel"] == "secevent" and delivery["last_error"].startswith("DeliveryFailed: HTTP 200")
    token = receiver.requests[0].body.decode()
    check = await verifier(api)
    check.verify(token)
    header, payload, signature = token.split(".")
    with pytest.raises(TokenRefused):
        check.verify(f"{header}.{payload}.{signature[:-4]}AAAA")
    with pytest.raises(TokenRefused, match="secevent"):  # a grant token, signed with the same key
        check.verify(grant.json()["access_token"])


async def test_a_revocation_reaches_the_application_well_within_a_second(database_url: str, clock: Clock, receiver: Receiver) -> None:
    """The worker is woken by the commit, not the poll interval (2 s here)."""
    app: Litestar = create_app(hook_settings(database_url), clock=clock, run_housekeeping=True)
    async with serve_in_process(app) as http:
        api = Api(http)
        await subscribe(api, receiver.url, format="secevent", application="healthstat")
        org = await api.managed_organisation()
        assignment = await api.approved_assignment(org["id"])
        await asyncio.sleep(0.1)
        started = time.monotonic()
        revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left"})
        assert revoked.status_code == 200
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.01)
        assert receiver.requests, "no SET within a second"
        assert receiver.requests[0].at - started < 1.0
        assert json.loads(jwt.utils.base64url_decode(receiver.requests[0].body.split(b".")[1]))["events"]
