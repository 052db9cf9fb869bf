"""Lifecycle triggers: a person leaving an organisation, an organisation disabled, organisations
without an access manager flagged to admins."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy import delete

from eam.access_managers.models import AccessManager
from tests.conftest import Api, assert_problem, casbin_rows
from tests.test_access_managers import events, managers, manager_rows


async def depart(api: Api, org_id: str, username: str, by: str = "alice", reason: str = "Left the hospital on 30 November.") -> Any:
    user_id = await api.user_id(username)
    return await api.post(f"/v1/organisations/{org_id}/people/{user_id}/departure", by, json={"reason": reason})


async def test_a_person_leaving_ends_all_their_standing_there_in_one_step(api: Api, app: Litestar) -> None:
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    kept = await api.approved_assignment(brugge["id"], "carol")
    elsewhere = await api.approved_assignment(leuven["id"], "carol", manager="bob")
    pending = (await api.request_access(brugge["id"], "carol", register="HDBP0031")).json()
    assert (await api.appoint(brugge["id"], "carol", by="alice")).status_code == 201
    carol = await api.user_id("carol")
    assert (await api.post(f"/v1/organisations/{brugge['id']}/auditors", "alice", json={"user_id": carol})).status_code == 201
    assert len(await casbin_rows(app, "p2")) == 2

    response = await depart(api, brugge["id"], "carol")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["assignments_revoked"], body["requests_withdrawn"]) == (1, 1)
    assert body["access_manager_removed"] is True and body["auditor_removed"] is True

    revoked = (await api.get(f"/v1/assignments/{kept['id']}", "alice")).json()
    assert revoked["status"] == "revoked" and revoked["revoke_reason"] == "Left the hospital on 30 November."
    assert (await api.get(f"/v1/assignments/{elsewhere['id']}", "bob")).json()["status"] == "active"
    request = (await api.get(f"/v1/access-requests/{pending['id']}", "alice")).json()
    assert request["status"] == "withdrawn"
    assert [row[2] for row in await casbin_rows(app, "p2")] == [f"org:{leuven['id']}"]
    assert [m["display_name"] for m in await managers(api, brugge["id"])] == ["alice"]
    auditors = (await api.get(f"/v1/organisations/{brugge['id']}/auditors", "alice")).json()["items"]
    assert auditors == []
    left = await events(api, "person.left")
    assert len(left) == 1 and left[0]["after"]["reason"] == "Left the hospital on 30 November."
    assert len(await events(api, "assignment.revoked")) == 1

    again = await depart(api, brugge["id"], "carol")
    assert_problem(again, 409, "person-left")
    assert len(await events(api, "person.left")) == 1


async def test_nobody_marks_themselves_and_outsiders_cannot(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.appoint(brugge["id"], "erin", by="alice")
    await api.approved_assignment(brugge["id"], "carol")
    assert_problem(await depart(api, brugge["id"], "erin", by="erin"), 403, "forbidden")
    for outsider in ("bob", "carol", "dave"):
        assert_problem(await depart(api, brugge["id"], "carol", by=outsider), 403, "forbidden")
    assert await events(api, "person.left") == []
    # another access manager may mark erin as having left
    assert (await depart(api, brugge["id"], "erin", by="alice")).status_code == 201


async def test_the_last_access_manager_cannot_leave_and_nothing_changes(api: Api, app: Litestar) -> None:
    brugge = await api.managed_organisation("alice")
    await api.approved_assignment(brugge["id"], "alice", manager="admin")
    rows = await casbin_rows(app)
    refused = await depart(api, brugge["id"], "alice", by="admin")
    assert_problem(refused, 409, "last-access-manager")
    assert await casbin_rows(app) == rows
    assert await events(api, "person.left") == []


async def test_a_stranger_is_not_found_and_bad_input_is_refused(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    assert_problem(await depart(api, brugge["id"], "dave"), 404, "not-found")
    carol = await api.user_id("carol")
    blank = await api.post(f"/v1/organisations/{brugge['id']}/people/{carol}/departure", "alice", json={"reason": ""})
    assert_problem(blank, 422, "validation-error")


async def test_a_person_registered_again_is_a_member_anew(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    person = {"national_number": "85073003328", "display_name": "Jan Peeters", "email": "jan.peeters@azsintjan.be"}
    registered = await api.post(f"/v1/organisations/{brugge['id']}/people", "alice", json=person)
    assert registered.status_code in (200, 201), registered.text
    jan = registered.json()["id"]
    url = f"/v1/organisations/{brugge['id']}/people/{jan}/departure"
    assert (await api.post(url, "alice", json={"reason": "Retired."})).status_code == 201
    again = await api.post(f"/v1/organisations/{brugge['id']}/people", "alice", json=person)
    assert again.status_code in (200, 201), again.text
    assert len(await events(api, "person.added")) == 2
    assert (await api.post(url, "alice", json={"reason": "Retired again."})).status_code == 201


async def test_disabling_an_organisation_ends_its_access(api: Api, app: Litestar) -> None:
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    ended = await api.approved_assignment(brugge["id"], "carol")
    kept = await api.approved_assignment(leuven["id"], "carol", manager="bob")
    pending = (await api.request_access(brugge["id"], "carol", register="HDBP0031")).json()
    response = await api.patch(f"/v1/organisations/{brugge['id']}", json={"status": "disabled"})
    assert response.status_code == 200, response.text
    revoked = (await api.get(f"/v1/assignments/{ended['id']}", "alice")).json()
    assert revoked["status"] == "revoked" and revoked["revoke_reason"] == "The organisation was disabled."
    assert (await api.get(f"/v1/assignments/{kept['id']}", "bob")).json()["status"] == "active"
    # a pending request stays pending (no decision is accepted while disabled)
    assert (await api.get(f"/v1/access-requests/{pending['id']}", "alice")).json()["status"] == "pending"
    assert [row[2] for row in await casbin_rows(app, "p2")] == [f"org:{leuven['id']}"]
    assert [e["target_id"] for e in await events(api, "assignment.revoked")] == [ended["id"]]
    # re-enabling does not bring access back; disabling again ends nothing more
    assert (await api.patch(f"/v1/organisations/{brugge['id']}", json={"status": "active"})).status_code == 200
    assert (await api.get(f"/v1/assignments/{ended['id']}", "alice")).json()["status"] == "revoked"
    assert (await api.patch(f"/v1/organisations/{brugge['id']}", json={"status": "disabled"})).status_code == 200
    assert len(await events(api, "assignment.revoked")) == 1


async def test_organisations_without_an_access_manager_are_flagged(api: Api, app: Litestar) -> None:
    brugge = await api.managed_organisation("alice")
    orphan = await api.organisation(name="AZ Groeninge", nihdi="71000832")
    disabled = await api.organisation(name="AZ Oud", nihdi="71000733")
    assert (await api.patch(f"/v1/organisations/{disabled['id']}", json={"status": "disabled"})).status_code == 200
    # a data migration leaves Brugge without one
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AccessManager).where(AccessManager.organisation_id == uuid.UUID(brugge["id"])))
    response = await api.get("/v1/organisations", params={"without_access_manager": "true"})
    assert response.status_code == 200, response.text
    assert sorted(o["name"] for o in response.json()["items"]) == ["AZ Groeninge", "AZ Sint-Jan Brugge"]
    everyone = await api.get("/v1/organisations", params={"without_access_manager": "false"})
    assert len(everyone.json()["items"]) == 3
    assert orphan["id"] in {o["id"] for o in response.json()["items"]}
    assert_problem(await api.get("/v1/organisations", params={"without_access_manager": "perhaps"}), 422, "validation-error")
