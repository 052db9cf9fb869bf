"""Auditors: a read-only role per organisation (appointed by its access managers or platform
admins) and platform-wide (appointed by platform admins), which reads everything an access
manager reads there and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from eam.audit.models import AuditEvent
from eam.authz.export import rules_in_force
from eam.catalogue.schemas import RegisterIn
from tests.conftest import Api, assert_problem, casbin_rows

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@dataclass
class World:
    """Two organisations with access, requests and trail; ``dpo`` audits Brugge, ``inspector``
    audits everything."""

    brugge: str
    leuven: str
    brugge_assignment: str
    leuven_assignment: str
    brugge_pending: str
    leuven_pending: str
    ids: dict[str, str]


async def build_world(api: Api) -> World:
    brugge = (await api.managed_organisation("alice"))["id"]
    leuven = (await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931"))["id"]
    brugge_assignment = (await api.approved_assignment(brugge, "carol", "alice"))["id"]
    leuven_assignment = (await api.approved_assignment(leuven, "dave", "bob"))["id"]
    brugge_pending = (await api.request_access(brugge, "erin")).json()["id"]
    leuven_pending = (await api.request_access(leuven, "erin")).json()["id"]
    ids = {name: await api.user_id(name) for name in ("admin", "alice", "bob", "carol", "dave", "erin", "dpo", "inspector")}
    appointed = await api.post(f"/v1/organisations/{brugge}/auditors", "alice", json={"user_id": ids["dpo"]})
    assert appointed.status_code == 201, appointed.text
    appointed = await api.post("/v1/auditors", "admin", json={"user_id": ids["inspector"]})
    assert appointed.status_code == 201, appointed.text
    return World(brugge, leuven, brugge_assignment, leuven_assignment, brugge_pending, leuven_pending, ids)


async def items(api: Api, path: str, user: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(path, user, params=params)
    assert response.status_code == 200, (path, user, response.text)
    return response.json()["items"]


def organisations_of(listed: list[dict[str, Any]], key: str = "organisation") -> set[str]:
    return {item[key]["id"] if isinstance(item[key], dict) else item[key] for item in listed}


# -- reading ---------------------------------------------------------------------------------

#: (endpoint, how to read the organisations of what it lists)
LISTS = [
    ("/v1/assignments", "organisation"),
    ("/v1/access-requests", "organisation"),
    ("/v1/audit-events", "organisation_id"),
    ("/v1/registers/HDBP0147/holders", "organisation"),
]


@pytest.mark.parametrize(("path", "key"), LISTS)
async def test_an_organisation_auditor_lists_only_their_organisation(api: Api, path: str, key: str) -> None:
    world = await build_world(api)
    listed = await items(api, path, "dpo")
    assert listed, path
    assert organisations_of(listed, key) == {world.brugge}
    # the platform-wide auditor reads both (and, in the trail, events of no organisation), as the
    # platform admin does
    everything = {world.brugge, world.leuven} | ({None} if path == "/v1/audit-events" else set())
    assert organisations_of(await items(api, path, "inspector"), key) == everything
    assert organisations_of(await items(api, path, "admin"), key) == everything


async def test_auditors_read_one_of_each(api: Api) -> None:
    world = await build_world(api)
    for user, organisation in (("dpo", world.brugge), ("inspector", world.leuven), ("inspector", world.brugge)):
        assignment = world.brugge_assignment if organisation == world.brugge else world.leuven_assignment
        pending = world.brugge_pending if organisation == world.brugge else world.leuven_pending
        for path in (
            f"/v1/assignments/{assignment}",
            f"/v1/assignments/{assignment}/history",
            f"/v1/access-requests/{pending}",
            f"/v1/organisations/{organisation}",
            f"/v1/organisations/{organisation}/access-managers",
            f"/v1/organisations/{organisation}/auditors",
        ):
            response = await api.get(path, user)
            assert response.status_code == 200, (user, path, response.text)
        events = await items(api, "/v1/audit-events", user, organisation_id=organisation)
        assert {event["organisation_id"] for event in events} == {organisation}
    # another organisation's: not found (assignments, requests) or refused (its trail)
    assert_problem(await api.get(f"/v1/assignments/{world.leuven_assignment}", "dpo"), 404, "not-found")
    assert_problem(await api.get(f"/v1/assignments/{world.leuven_assignment}/history", "dpo"), 404, "not-found")
    assert_problem(await api.get(f"/v1/access-requests/{world.leuven_pending}", "dpo"), 404, "not-found")
    assert_problem(await api.get("/v1/audit-events", "dpo", params={"organisation_id": world.leuven}), 403, "forbidden")
    assert_problem(await api.get(f"/v1/organisations/{world.leuven}/auditors", "dpo"), 403, "forbidden")


async def test_auditors_find_the_people_they_may_see(api: Api) -> None:
    world = await build_world(api)
    seen_by_dpo = {person["display_name"] for person in await items(api, "/v1/people", "dpo")}
    assert {"alice", "carol", "erin", "dpo"} <= seen_by_dpo
    assert not {"bob", "dave", "inspector"} & seen_by_dpo
    seen_by_inspector = {person["display_name"] for person in await items(api, "/v1/people", "inspector")}
    assert {"alice", "bob", "carol", "dave", "erin", "dpo", "inspector"} <= seen_by_inspector
    # an employee finds no one, as before
    assert_problem(await api.get("/v1/people", "carol"), 403, "forbidden")
    assert world.ids["dpo"] in {person["id"] for person in await items(api, "/v1/people", "alice")}


async def test_me_says_where_the_caller_audits(api: Api) -> None:
    world = await build_world(api)
    dpo = (await api.get("/v1/me", "dpo")).json()
    assert [org["id"] for org in dpo["auditor_of"]] == [world.brugge]
    assert dpo["platform_auditor"] is False and dpo["access_manager_of"] == [] and dpo["platform_admin"] is False
    inspector = (await api.get("/v1/me", "inspector")).json()
    assert inspector["auditor_of"] == [] and inspector["platform_auditor"] is True
    carol = (await api.get("/v1/me", "carol")).json()
    assert carol["auditor_of"] == [] and carol["platform_auditor"] is False


# -- changing nothing ------------------------------------------------------------------------


def writes(world: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every change an access manager or admin may make, aimed at Brugge (which both auditors read)."""
    ids = world.ids
    request, assignment, org = world.brugge_pending, world.brugge_assignment, world.brugge
    return [
        ("POST", f"/v1/access-requests/{request}/approve", {}),
        ("POST", f"/v1/access-requests/{request}/reject", {"reason": "not in the study team"}),
        ("POST", "/v1/access-requests/approvals", {"ids": [request]}),
        ("POST", "/v1/access-requests/rejections", {"ids": [request], "reason": "not in the study team"}),
        (
            "POST",
            "/v1/assignments",
            {
                "user_id": ids["erin"],
                "organisation_id": org,
                "application": "healthstat",
                "register": "HDBP0147",
                "profile": {"role": "data_provider", "data_level": "hospital"},
            },
        ),
        ("PATCH", f"/v1/assignments/{assignment}", {"profile": {"role": "data_provider", "data_level": "individual"}}),
        ("POST", f"/v1/assignments/{assignment}/revoke", {"reason": "left the study team"}),
        ("POST", f"/v1/organisations/{org}/access-managers", {"user_id": ids["erin"]}),
        ("DELETE", f"/v1/organisations/{org}/access-managers/{ids['alice']}", None),
        ("POST", f"/v1/organisations/{org}/auditors", {"user_id": ids["erin"]}),
        ("DELETE", f"/v1/organisations/{org}/auditors/{ids['dpo']}", None),
        ("POST", "/v1/auditors", {"user_id": ids["erin"]}),
        ("DELETE", f"/v1/auditors/{ids['inspector']}", None),
        ("POST", "/v1/organisations", {"name": "AZ Groeninge", "nihdi": "71000535"}),
        ("PATCH", f"/v1/organisations/{org}", {"status": "disabled"}),
        ("POST", "/v1/registers", {**RegisterIn.EXAMPLE, "code": "HDBP9999"}),
        ("POST", "/v1/service-clients", {"name": "Report portal", "audiences": ["healthstat"]}),
        ("POST", "/v1/signing-keys/rotate", None),
    ]


async def snapshot(api: Api, app: Litestar, world: World) -> tuple[Any, ...]:
    async with app.state.sessionmaker() as session:
        events = list(await session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
    statuses = [(await api.get(f"/v1/access-requests/{request}")).json()["status"] for request in (world.brugge_pending, world.leuven_pending)]
    assignment = (await api.get(f"/v1/assignments/{world.brugge_assignment}")).json()
    return events, sorted(await casbin_rows(app)), statuses, assignment["status"], assignment["profile"]


@pytest.mark.parametrize("auditor", ["dpo", "inspector"])
async def test_auditors_change_nothing(api: Api, app: Litestar, auditor: str) -> None:
    world = await build_world(api)
    before = await snapshot(api, app, world)
    for method, path, body in writes(world):
        response = await api.call(method, path, auditor, **({"json": body} if body is not None else {}))
        assert_problem(response, 403, "forbidden")
    assert await snapshot(api, app, world) == before
    # the inbox of decisions holds nothing for an auditor, who reads the same requests
    assert world.brugge_pending in {r["id"] for r in await items(api, "/v1/access-requests", auditor, status="pending")}


async def test_an_auditor_who_asks_for_access_waits_for_someone_else(api: Api) -> None:
    """An auditor is an ordinary person for their own access: they may ask, and never decide."""
    world = await build_world(api)
    asked = await api.request_access(world.brugge, "dpo")
    assert asked.status_code == 201, asked.text
    request = asked.json()["id"]
    assert_problem(await api.post(f"/v1/access-requests/{request}/approve", "dpo", json={}), 403, "forbidden")
    approved = await api.post(f"/v1/access-requests/{request}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text


# -- appointing ------------------------------------------------------------------------------


async def auditor_rows(app: Litestar) -> set[tuple[str, ...]]:
    return {row for row in await casbin_rows(app, "g") if row[2] == "role:auditor"}


async def test_appointing_and_removing_an_organisation_auditor(api: Api, app: Litestar) -> None:
    org = (await api.managed_organisation("alice"))["id"]
    dpo, alice = await api.user_id("dpo"), await api.user_id("alice")
    response = await api.post(f"/v1/organisations/{org}/auditors", "alice", json={"user_id": dpo})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["organisation_id"], body["user_id"], body["display_name"]) == (org, dpo, "dpo")
    assert body["appointed_by"]["id"] == alice
    assert await auditor_rows(app) == {("g", f"user:{dpo}", "role:auditor", f"org:{org}")}
    listed = await items(api, f"/v1/organisations/{org}/auditors", "alice")
    assert [(a["user_id"], a["appointed_by"]["display_name"]) for a in listed] == [(dpo, "alice")]
    appointed = await items(api, "/v1/audit-events", "alice", action="auditor.appointed")
    assert [(e["target_id"], e["organisation_id"], e["after"]["user_id"]) for e in appointed] == [(dpo, org, dpo)]
    # at once: the auditor reads the trail
    assert (await api.get("/v1/audit-events", "dpo")).status_code == 200
    # twice is a conflict, an unknown person invalid, another organisation's manager refused
    again = assert_problem(await api.post(f"/v1/organisations/{org}/auditors", "alice", json={"user_id": dpo}), 409, "already-exists")
    assert again["existing"] == f"/v1/organisations/{org}/auditors"
    unknown = assert_problem(await api.post(f"/v1/organisations/{org}/auditors", "alice", json={"user_id": UNKNOWN}), 422, "validation-error")
    assert [error["field"] for error in unknown["errors"]] == ["$.user_id"]
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    for outsider in ("bob", "carol"):
        assert_problem(await api.post(f"/v1/organisations/{org}/auditors", outsider, json={"user_id": await api.user_id("erin")}), 403, "forbidden")
        assert_problem(await api.delete(f"/v1/organisations/{org}/auditors/{dpo}", outsider), 403, "forbidden")
    assert_problem(await api.post(f"/v1/organisations/{UNKNOWN}/auditors", "admin", json={"user_id": dpo}), 404, "not-found")
    # a platform admin appoints too; removing takes the role away at once
    erin = await api.user_id("erin")
    assert (await api.post(f"/v1/organisations/{org}/auditors", "admin", json={"user_id": erin})).status_code == 201
    removed = await api.delete(f"/v1/organisations/{org}/auditors/{dpo}", "alice")
    assert removed.status_code == 204, removed.text
    assert await auditor_rows(app) == {("g", f"user:{erin}", "role:auditor", f"org:{org}")}
    assert_problem(await api.get("/v1/audit-events", "dpo"), 403, "forbidden")
    assert (await api.get("/v1/me", "dpo")).json()["auditor_of"] == []
    assert_problem(await api.delete(f"/v1/organisations/{org}/auditors/{dpo}", "alice"), 404, "not-found")
    removals = await items(api, "/v1/audit-events", "alice", action="auditor.removed")
    assert [(e["target_id"], e["before"]["user_id"]) for e in removals] == [(dpo, dpo)]
    # the last auditor may go: an organisation need not have one
    assert (await api.delete(f"/v1/organisations/{org}/auditors/{erin}", "admin")).status_code == 204
    assert await auditor_rows(app) == set()


async def test_platform_auditors_are_appointed_by_platform_admins_only(api: Api, app: Litestar) -> None:
    org = (await api.managed_organisation("alice"))["id"]
    inspector = await api.user_id("inspector")
    assert_problem(await api.post("/v1/auditors", "alice", json={"user_id": inspector}), 403, "forbidden")
    assert_problem(await api.get("/v1/auditors", "alice"), 403, "forbidden")
    response = await api.post("/v1/auditors", "admin", json={"user_id": inspector})
    assert response.status_code == 201, response.text
    assert response.json()["organisation_id"] is None
    assert await auditor_rows(app) == {("g", f"user:{inspector}", "role:auditor", "*")}
    assert [a["user_id"] for a in await items(api, "/v1/auditors", "admin")] == [inspector]
    # a platform auditor does not read the list of platform auditors, nor appoint
    assert_problem(await api.get("/v1/auditors", "inspector"), 403, "forbidden")
    assert_problem(await api.post("/v1/auditors", "admin", json={"user_id": inspector}), 409, "already-exists")
    assert_problem(await api.post("/v1/auditors", "admin", json={"user_id": UNKNOWN}), 422, "validation-error")
    appointed = await items(api, "/v1/audit-events", "admin", action="auditor.appointed")
    assert [(e["target_id"], e["organisation_id"], e["after"]["scope"]) for e in appointed] == [(inspector, None, "platform")]
    assert (await api.get("/v1/audit-events", "inspector", params={"organisation_id": org})).status_code == 200
    assert_problem(await api.delete(f"/v1/auditors/{inspector}", "alice"), 403, "forbidden")
    assert (await api.delete(f"/v1/auditors/{inspector}", "admin")).status_code == 204
    assert await auditor_rows(app) == set()
    assert_problem(await api.get("/v1/audit-events", "inspector"), 403, "forbidden")
    assert_problem(await api.delete(f"/v1/auditors/{inspector}", "admin"), 404, "not-found")
    assert [e["target_id"] for e in await items(api, "/v1/audit-events", "admin", action="auditor.removed")] == [inspector]


async def test_the_policy_export_holds_the_auditors(api: Api, app: Litestar) -> None:
    world = await build_world(api)
    async with app.state.sessionmaker() as session:
        exported = [(ptype, *values) async for ptype, values in rules_in_force(session, app.state.settings.permissions_file, [])]
    assert ("g", f"user:{world.ids['dpo']}", "role:auditor", f"org:{world.brugge}") in exported
    assert ("g", f"user:{world.ids['inspector']}", "role:auditor", "*") in exported
