"""Webhooks (issue 15 item 3) end to end on SQLite and PostgreSQL, against a real HTTP receiver on
loopback that checks every signature with the ``standardwebhooks`` library: subscriptions, the
secret shown once, deliveries of audited changes, pause, replay, delete, service clients acting
for themselves, and the SSRF guard (at subscription and at delivery)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from eam.app import create_app, delivery_channels
from eam.core.settings import Settings, SettingsError
from eam.outbox.service import deliver_due
from eam.webhooks import guard
from tests.conftest import Api, Clock, assert_problem, serve_in_process
from tests.test_service_tokens import bearer, new_client, service_token
from tests.webhook_receiver import Receiver, running_receiver

NATIONAL_NUMBER = "85073003328"


def hook_settings(database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        platform_admins=("admin",),
        expiry_sweep_seconds=0,
        issuer="https://eam.example.org",
        webhook_allowed_hosts=("127.0.0.1",),
        webhook_timeout_seconds=2,
        outbox_max_attempts=2,
    )
    return Settings(**{**values, **extra})


@pytest.fixture
async def hooks(database_url: str, clock: Clock) -> Any:
    app = create_app(hook_settings(database_url), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        yield app, Api(http)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def deliver(app: Litestar, settings: Settings | None = None) -> dict[str, int]:
    services = app.state.services
    if settings is not None:
        services = dataclasses.replace(services, settings=settings)
    return await deliver_due(services.sessionmaker, services.settings, services.clock, delivery_channels(services))


async def subscribe(api: Api, url: str, user: str | None = "admin", **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/webhooks", user, json={"url": url, **body})
    assert response.status_code == 201, response.text
    return response.json()


def verified(secret: str, request: Any) -> dict[str, Any]:
    """The body, once its Standard Webhooks signature checks out (else the library raises)."""
    return Webhook(secret).verify(request.body, request.headers)  # type: ignore[no-any-return]


async def revoked_assignment(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    await api.get("/v1/me", "carol", headers={})
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    response = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left the study team"})
    assert response.status_code == 200, response.text
    return org, assignment


async def test_a_revocation_is_delivered_signed_and_the_secret_is_shown_once(hooks: Any, receiver: Receiver) -> None:
    app, api = hooks
    created = await subscribe(api, receiver.url, events=["assignment.revoked"])
    secret, webhook = created["secret"], created["webhook"]
    assert secret.startswith("whsec_") and webhook["events"] == ["assignment.revoked"] and webhook["paused"] is False
    shown = await api.get(f"/v1/webhooks/{webhook['id']}")
    assert shown.status_code == 200 and "secret" not in shown.text and secret[6:] not in shown.text
    assert secret[6:] not in (await api.get("/v1/webhooks")).text
    assert secret[6:] not in (await api.get("/v1/audit-events", params={"action": "webhook.created"})).text

    async with app.state.sessionmaker() as session:  # stored encrypted (the worker must sign), never as handed out
        stored = (await session.execute(text("SELECT * FROM webhook_subscriptions"))).one()
    assert not any(secret in str(value) or secret[6:] in str(value) for value in stored)

    org, assignment = await revoked_assignment(api)
    assert receiver.requests == []  # nothing leaves before the worker runs
    assert (await deliver(app))["delivered"] == 1
    [request] = receiver.requests
    assert request.path == "/hook" and request.headers["content-type"] == "application/json"
    body = verified(secret, request)
    assert body["type"] == "assignment.revoked"
    data = body["data"]
    assert data["action"] == "assignment.revoked" and data["target_type"] == "assignment" and data["target_id"] == assignment["id"]
    assert data["organisation_id"] == org["id"] and data["after"]["reason"] == "left the study team"
    assert data["after"]["status"] == "revoked" and data["before"]["status"] == "active"
    assert set(data) == {"id", "action", "organisation_id", "target_type", "target_id", "before", "after", "occurred_at", "actor"}
    assert NATIONAL_NUMBER not in request.body.decode() and "eyJ" not in request.body.decode()
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").verify(request.body, request.headers)

    deliveries = (await api.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert [(d["event"], d["status"], d["channel"], d["id"]) for d in deliveries] == [
        ("assignment.revoked", "delivered", "webhook", request.headers["webhook-id"])
    ]
    assert await deliver(app) == {"pending": 0, "delivered": 0, "dead": 0}  # once


async def test_star_receives_every_change_and_nothing_is_sent_for_a_rolled_back_one(hooks: Any, receiver: Receiver) -> None:
    app, api = hooks
    secret = (await subscribe(api, receiver.url, events=["*"]))["secret"]
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    refused = await api.post("/v1/organisations", json={"name": "AZ Sint-Jan Brugge", "nihdi": "71000436"})  # a duplicate: rolled back
    assert refused.status_code == 409
    await deliver(app)
    types = [verified(secret, request)["type"] for request in receiver.requests]
    assert sorted(types) == sorted(
        ["organisation.created", "access_manager.appointed", "access_request.submitted", "access_request.approved", "assignment.created"]
    )
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == len(types)


async def test_a_paused_subscription_gets_nothing_and_a_resumed_one_gets_what_follows(hooks: Any, receiver: Receiver) -> None:
    app, api = hooks
    webhook = (await subscribe(api, receiver.url, events=["organisation.created"]))["webhook"]
    paused = await api.patch(f"/v1/webhooks/{webhook['id']}", json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    await api.organisation()
    assert (await api.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["items"] == []
    await deliver(app)
    assert receiver.requests == []
    assert (await api.patch(f"/v1/webhooks/{webhook['id']}", json={"paused": False})).json()["paused"] is False
    await api.organisation(name="AZ Groeninge", nihdi="71000535")
    await deliver(app)
    assert [json.loads(request.body)["data"]["after"]["name"] for request in receiver.requests] == ["AZ Groeninge"]
    actions = [event["action"] for event in (await api.get("/v1/audit-events", params={"limit": 50})).json()["items"]]
    assert "webhook.paused" in actions and "webhook.resumed" in actions


async def test_replay_sends_the_same_message_again_and_a_waiting_one_is_409(hooks: Any, receiver: Receiver) -> None:
    app, api = hooks
    created = await subscribe(api, receiver.url, events=["organisation.created"])
    hook_id = created["webhook"]["id"]
    await api.organisation()
    [delivery] = (await api.get(f"/v1/webhooks/{hook_id}/deliveries")).json()["items"]
    replay = f"/v1/webhooks/{hook_id}/deliveries/{delivery['id']}/replay"
    assert_problem(await api.post(replay), 409, "conflict")  # not sent yet
    await deliver(app)
    again = await api.post(replay)
    assert again.status_code == 200 and again.json()["status"] == "pending" and again.json()["attempts"] == 0
    await deliver(app)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["id"]
    assert verified(created["secret"], second) == verified(created["secret"], first)
    assert_problem(await api.post(f"/v1/webhooks/{hook_id}/deliveries/{created['webhook']['id']}/replay"), 404, "not-found")
    assert_problem(await api.post(replay, "alice"), 403, "forbidden")


async def test_a_failing_receiver_is_retried_then_dead_and_a_redirect_is_not_followed(hooks: Any, receiver: Receiver, clock: Clock) -> None:
    app, api = hooks
    hook_id = (await subscribe(api, receiver.url, events=["organisation.created"]))["webhook"]["id"]
    receiver.redirect = True
    await api.organisation()
    assert (await deliver(app))["pending"] == 1
    assert [request.path for request in receiver.requests] == ["/hook"]  # never /elsewhere
    [delivery] = (await api.get(f"/v1/webhooks/{hook_id}/deliveries")).json()["items"]
    assert delivery["last_error"].startswith("DeliveryFailed: HTTP 302")
    receiver.redirect, receiver.status = False, 500
    clock.advance(hours=2)
    assert (await deliver(app))["dead"] == 1
    [delivery] = (await api.get(f"/v1/webhooks/{hook_id}/deliveries")).json()["items"]
    assert delivery["status"] == "dead" and delivery["last_error"].startswith("DeliveryFailed: HTTP 500: thanks xxx")
    assert len(delivery["last_error"]) <= 200


async def test_delete_removes_the_subscription_and_its_deliveries(hooks: Any, receiver: Receiver) -> None:
    app, api = hooks
    hook_id = (await subscribe(api, receiver.url, events=["organisation.created"]))["webhook"]["id"]
    await api.organisation()
    deleted = await api.delete(f"/v1/webhooks/{hook_id}")
    assert deleted.status_code == 204
    assert_problem(await api.get(f"/v1/webhooks/{hook_id}"), 404, "not-found")
    assert await deliver(app) == {"pending": 0, "delivered": 0, "dead": 0}
    assert receiver.requests == []
    [event] = (await api.get("/v1/audit-events", params={"action": "webhook.deleted"})).json()["items"]
    assert event["target_id"] == hook_id and event["before"]["url"] == receiver.url


async def test_only_admins_and_clients_with_the_scope_subscribe_and_a_client_only_for_itself(hooks: Any, receiver: Receiver) -> None:
    app, api = hooks
    admins = (await subscribe(api, receiver.url, events=["organisation.created"]))["webhook"]
    assert admins["owner_client_id"] is None
    assert_problem(await api.post("/v1/webhooks", "alice", json={"url": receiver.url}), 403, "forbidden")
    assert_problem(await api.get("/v1/webhooks", "carol"), 403, "forbidden")
    credentials = await new_client(api, ["webhooks:write"], client_id="healthstat-hooks")
    headers = bearer(await service_token(api, credentials, "webhooks:write"))
    created = await api.post("/v1/webhooks", None, json={"url": receiver.url, "events": ["assignment.revoked"]}, headers=headers)
    assert created.status_code == 201, created.text
    own = created.json()["webhook"]
    assert own["owner_client_id"] == "healthstat-hooks"
    listed = (await api.get("/v1/webhooks", None, headers=headers)).json()["items"]
    assert [hook["id"] for hook in listed] == [own["id"]]
    assert_problem(await api.get(f"/v1/webhooks/{admins['id']}", None, headers=headers), 404, "not-found")
    assert_problem(await api.delete(f"/v1/webhooks/{admins['id']}", None, headers=headers), 404, "not-found")
    assert {hook["id"] for hook in (await api.get("/v1/webhooks")).json()["items"]} == {own["id"], admins["id"]}
    other = await new_client(api, ["audit:read"], client_id="siem")
    assert_problem(await api.post("/v1/webhooks", None, json={"url": receiver.url}, headers=bearer(await service_token(api, other, "audit:read"))), 403, "forbidden")


async def test_bad_subscriptions_are_422(hooks: Any, receiver: Receiver) -> None:
    _app, api = hooks
    for body, field in (
        ({"url": receiver.url, "events": ["assignment.exploded"]}, "$.events"),
        ({"url": receiver.url, "format": "secevent"}, "$.application"),
        ({"url": receiver.url, "format": "secevent", "application": "healthstat", "events": ["organisation.created"]}, "$.events"),
        ({"url": receiver.url, "application": "nope"}, "$.application"),
        ({"url": receiver.url, "colour": "red"}, "$.colour"),
        ({"url": "ftp://127.0.0.1/hook"}, "$.url"),
        ({"url": "http://user:pw@127.0.0.1/hook"}, "$.url"),
    ):
        response = await api.post("/v1/webhooks", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in {error["field"] for error in response.json()["errors"]}, (body, response.text)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "http://localhost:9/hook",  # a host name resolving to loopback
    ],
)
async def test_the_ssrf_guard_refuses_addresses_that_are_not_public(database_url: str, clock: Clock, url: str) -> None:
    app = create_app(hook_settings(database_url, webhook_allowed_hosts=()), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        body = assert_problem(await Api(http).post("/v1/webhooks", json={"url": url}), 422, "webhook-url-refused")
        assert body["errors"][0]["field"] == "$.url" and "not a public address" in body["detail"]
        assert (await Api(http).get("/v1/webhooks")).json()["items"] == []


async def test_production_takes_https_only_and_the_allow_list_takes_networks(database_url: str) -> None:
    production = Settings(database_url=database_url, env="production", webhook_allowed_hosts=("127.0.0.0/8",))
    with pytest.raises(guard.UrlRefused, match="only https"):
        await guard.resolve("http://127.0.0.1/hook", production)
    target = await guard.resolve("https://127.0.0.2:8443/hook", production)
    assert (target.connect_url(), target.host_header) == ("https://127.0.0.2:8443/hook", "127.0.0.2:8443")
    named = await guard.resolve("https://localhost/hook", Settings(database_url=database_url, webhook_allowed_hosts=("localhost",)))
    assert named.address.is_loopback and named.host_header == "localhost"
    public = await guard.resolve("https://93.184.215.14/hook", Settings(database_url=database_url))
    assert str(public.address) == "93.184.215.14"


async def test_the_guard_holds_again_at_delivery(hooks: Any, receiver: Receiver) -> None:
    """Allowed when subscribed, refused when delivered (the allow-list changed, or the name now
    resolves elsewhere): nothing reaches the receiver."""
    app, api = hooks
    hook_id = (await subscribe(api, receiver.url, events=["organisation.created"]))["webhook"]["id"]
    await api.organisation()
    stricter = msgspec.structs.replace(app.state.services.settings, webhook_allowed_hosts=())
    assert (await deliver(app, stricter))["pending"] == 1
    assert receiver.requests == []
    [delivery] = (await api.get(f"/v1/webhooks/{hook_id}/deliveries")).json()["items"]
    assert "UrlRefused" in delivery["last_error"] and "not a public address" in delivery["last_error"]


def test_webhook_settings_are_read_and_checked() -> None:
    settings = Settings.from_env({"EAM_WEBHOOK_ALLOWED_HOSTS": " Hooks.Internal , 10.0.0.0/8,::1 ", "EAM_WEBHOOK_TIMEOUT_SECONDS": "2.5"})
    assert settings.webhook_allowed_hosts == ("hooks.internal", "10.0.0.0/8", "::1") and settings.webhook_timeout_seconds == 2.5
    assert Settings.from_env({}).webhook_allowed_hosts == ()
    for environ, named in (
        ({"EAM_WEBHOOK_TIMEOUT_SECONDS": "soon"}, "EAM_WEBHOOK_TIMEOUT_SECONDS"),
        ({"EAM_WEBHOOK_TIMEOUT_SECONDS": "60"}, "EAM_WEBHOOK_TIMEOUT_SECONDS"),
        ({"EAM_WEBHOOK_ALLOWED_HOSTS": "10.0.0.0/33"}, "EAM_WEBHOOK_ALLOWED_HOSTS"),
        ({"EAM_WEBHOOK_ALLOWED_HOSTS": "http://hooks.internal/"}, "EAM_WEBHOOK_ALLOWED_HOSTS"),
    ):
        with pytest.raises(SettingsError, match=named):
            Settings.from_env(environ)


def test_every_change_of_requests_assignments_organisations_and_their_people_can_be_subscribed_to() -> None:
    """The issue's promise ("events for every change of requests, assignments, organisations and
    access managers") against the audit trail's own list of actions (the audit page names each)."""
    from eam.ui.pages.audit import ACTIONS
    from eam.webhooks.events import EVENT_TYPES

    domains = ("access_request.", "assignment.", "organisation.", "access_manager.", "auditor.", "access_review.", "register.")
    notices = {"assignment.reminded", "access_review.reminded", "organisation.unmanaged_noticed", "organisation.exported"}
    missing = sorted(action for action in ACTIONS if action.startswith(domains) and action not in notices and action not in EVENT_TYPES)
    assert missing == []
