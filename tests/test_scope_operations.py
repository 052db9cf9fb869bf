"""Scopes imply what they need (issue 12, security review): a service client holding one scope
alone can call every operation that scope is for, and no other (``SCOPE_OPERATIONS``, the table
the README shows and the OpenAPI document describes each scope with)."""

from __future__ import annotations

from pathlib import Path

import re
from collections.abc import Awaitable, Callable
from typing import Any

import uuid

import pytest
from sqlalchemy import update

from eam.authz.enforcer import read_permissions
from eam.authz.vocabulary import defined_scopes
from eam.core.settings import SHIPPED_POLICIES_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[1]
from eam.outbox.models import OutboxMessage
from eam.service_clients.scopes import SCOPE_OPERATIONS
from tests.conftest import Api
from tests.test_register_records import RECORD
from tests.test_service_tokens import bearer, new_client, service_token

DEFINED = defined_scopes(read_permissions(SHIPPED_POLICIES_DIR / "permissions.csv"))

World = dict[str, str]
Call = Callable[[Api, World, dict[str, str]], Awaitable[Any]]


async def build_world(api: Api) -> World:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    pending = await api.request_access(org["id"], "dave")
    assert pending.status_code == 201, pending.text
    erin = await api.user_id("erin")
    return {"org": org["id"], "assignment": assignment["id"], "request": pending.json()["id"], "erin": erin}


async def _remove_access_manager(api: Api, world: World, headers: dict[str, str]) -> Any:
    appointed = await api.post(f"/v1/organisations/{world['org']}/access-managers", "admin", json={"user_id": world["erin"]})
    assert appointed.status_code in (201, 409), appointed.text
    return await api.delete(f"/v1/organisations/{world['org']}/access-managers/{world['erin']}", None, headers=headers)


#: A public address (no DNS needed): the SSRF guard accepts it; nothing is delivered in this test.
WEBHOOK = {"url": "https://93.184.215.14/eam-events", "events": ["assignment.revoked"]}


def _with_own_webhook(act: Callable[[Api, str, dict[str, str]], Awaitable[Any]]) -> Call:
    """A call on a subscription the client made itself (a client sees only its own): the
    creation's refusal when it may not make one."""

    async def call(api: Api, world: World, headers: dict[str, str]) -> Any:
        created = await api.post("/v1/webhooks", None, json=WEBHOOK, headers=headers)
        if created.status_code != 201:
            return created
        return await act(api, created.json()["webhook"]["id"], headers)

    return call


async def _replay_own_delivery(api: Api, webhook_id: str, headers: dict[str, str]) -> Any:
    """Replaying needs a delivery: the admin revokes an assignment the subscription hears of,
    and the delivery, not yet attempted, is first marked dead by hand."""
    org = await api.managed_organisation(name="AZ Replay", nihdi="71000634")
    assignment = await api.approved_assignment(org["id"])
    revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left"})
    assert revoked.status_code == 200, revoked.text
    listed = await api.get(f"/v1/webhooks/{webhook_id}/deliveries", None, headers=headers)
    [delivery] = listed.json()["items"]
    app = api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == uuid.UUID(delivery["id"])).values(status="dead"))
    return await api.post(f"/v1/webhooks/{webhook_id}/deliveries/{delivery['id']}/replay", None, headers=headers)


#: operationId -> how a client calls it (with ``headers``) in a world where it can succeed.
CALLS: dict[str, Call] = {
    "introspectToken": lambda api, w, h: api.post("/oauth2/introspect", None, data={"token": "not-a-token"}, headers=h),
    "listOrganisations": lambda api, w, h: api.get("/v1/organisations", None, headers=h),
    "getOrganisation": lambda api, w, h: api.get(f"/v1/organisations/{w['org']}", None, headers=h),
    "createOrganisation": lambda api, w, h: api.post("/v1/organisations", None, json={"name": "AZ Groeninge", "nihdi": "71000535"}, headers=h),
    "updateOrganisation": lambda api, w, h: api.patch(f"/v1/organisations/{w['org']}", None, json={"name": "AZ Sint-Jan Brugge-Oostende"}, headers=h),
    "listAccessManagers": lambda api, w, h: api.get(f"/v1/organisations/{w['org']}/access-managers", None, headers=h),
    "appointAccessManager": lambda api, w, h: api.post(f"/v1/organisations/{w['org']}/access-managers", None, json={"user_id": w["erin"]}, headers=h),
    "removeAccessManager": _remove_access_manager,
    "listAccessRequests": lambda api, w, h: api.get("/v1/access-requests", None, headers=h),
    "getAccessRequest": lambda api, w, h: api.get(f"/v1/access-requests/{w['request']}", None, headers=h),
    "listAssignments": lambda api, w, h: api.get("/v1/assignments", None, headers=h),
    "getAssignment": lambda api, w, h: api.get(f"/v1/assignments/{w['assignment']}", None, headers=h),
    "revokeAssignment": lambda api, w, h: api.post(f"/v1/assignments/{w['assignment']}/revoke", None, json={"reason": "left the study"}, headers=h),
    "listApplications": lambda api, w, h: api.get("/v1/applications", None, headers=h),
    "listRegisters": lambda api, w, h: api.get("/v1/registers", None, headers=h),
    "getRegister": lambda api, w, h: api.get("/v1/registers/HDBP0147", None, headers=h),
    "addRegister": lambda api, w, h: api.post("/v1/registers", None, json={"code": "HDBP0250", "name": "Cystic Fibrosis", "applications": ["healthstat"], "record": RECORD}, headers=h),
    "listAuditEvents": lambda api, w, h: api.get("/v1/audit-events", None, headers=h),
    "exportAuditEvents": lambda api, w, h: api.get("/v1/audit-events/export.jsonl", None, headers=h),
    "createWebhook": lambda api, w, h: api.post("/v1/webhooks", None, json=WEBHOOK, headers=h),
    "listWebhooks": _with_own_webhook(lambda api, hook, h: api.get("/v1/webhooks", None, headers=h)),
    "getWebhook": _with_own_webhook(lambda api, hook, h: api.get(f"/v1/webhooks/{hook}", None, headers=h)),
    "updateWebhook": _with_own_webhook(lambda api, hook, h: api.patch(f"/v1/webhooks/{hook}", None, json={"paused": True}, headers=h)),
    "deleteWebhook": _with_own_webhook(lambda api, hook, h: api.delete(f"/v1/webhooks/{hook}", None, headers=h)),
    "listWebhookDeliveries": _with_own_webhook(lambda api, hook, h: api.get(f"/v1/webhooks/{hook}/deliveries", None, headers=h)),
    "replayWebhookDelivery": _with_own_webhook(_replay_own_delivery),
}
#: Reads that a listing of the right scope must show something in (not an empty page by accident).
NON_EMPTY = {"listWebhooks", "listAccessManagers", "listAccessRequests", "listAssignments", "listAuditEvents", "listOrganisations", "listRegisters"}


def test_the_table_names_every_defined_scope_and_real_operations(app: Any) -> None:
    assert sorted(SCOPE_OPERATIONS) == sorted(DEFINED)
    operations = {op["operationId"] for ops in app.openapi_schema.to_schema()["paths"].values() for op in ops.values() if isinstance(op, dict)}
    listed = {operation for ops in SCOPE_OPERATIONS.values() for operation in ops}
    assert listed <= operations, listed - operations
    assert listed == set(CALLS), "every operation of the table has a call in this test"


def test_the_readme_shows_the_table() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for scope, operations in SCOPE_OPERATIONS.items():
        row = re.search(rf"^ *\| `{re.escape(scope)}` \|(.*)\|$", readme, re.MULTILINE)
        assert row, f"the README has no row for {scope}"
        assert set(re.findall(r"`(\w+)`", row.group(1))) == set(operations), scope


@pytest.mark.parametrize("scope", sorted(SCOPE_OPERATIONS))
async def test_a_client_with_only_this_scope_can_do_what_the_scope_is_for_and_nothing_else(api: Api, scope: str) -> None:
    world = await build_world(api)
    credentials = await new_client(api, [scope], client_id="one-scope", audiences=("healthstat",))
    headers = bearer(await service_token(api, credentials, scope))
    allowed = SCOPE_OPERATIONS[scope]
    refused_wrongly = {}
    for operation in [op for op in CALLS if op not in allowed]:  # refused first: they must change nothing
        response = await CALLS[operation](api, world, headers)
        # 403, or what it hides behind: not found, or a listing of the caller's own (none).
        hidden = response.status_code == 404 or (response.status_code == 200 and response.json().get("items") == [])
        if response.status_code != 403 and not hidden:
            refused_wrongly[operation] = (response.status_code, response.text[:200])
    failed = {}
    for operation in allowed:
        response = await CALLS[operation](api, world, headers)
        ok = 200 <= response.status_code < 300
        if ok and operation in NON_EMPTY:
            ok = bool(response.json()["items"])
        if not ok:
            failed[operation] = (response.status_code, response.text[:200])
    assert (failed, refused_wrongly) == ({}, {}), f"{scope} alone cannot: {failed}; must not: {refused_wrongly}"
