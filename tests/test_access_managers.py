"""Access managers: appointed per organisation by admins or fellow access managers, never zero."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from tests.conftest import PROBLEM_JSON, Api, Clock, assert_problem, auth, casbin_rows


async def manager_rows(app: Litestar) -> set[tuple[str, ...]]:
    """The ``g`` rows that make someone an access manager somewhere."""
    return {row for row in await casbin_rows(app, "g") if row[2] == "role:access_manager"}


async def managers(api: Api, organisation_id: str, user: str = "admin") -> list[dict[str, Any]]:
    response = await api.get(f"/v1/organisations/{organisation_id}/access-managers", user)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def events(api: Api, action: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/audit-events", params={"action": action, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def remove(api: Api, organisation_id: str, username: str, by: str) -> Any:
    user_id = await api.user_id(username)
    return await api.delete(f"/v1/organisations/{organisation_id}/access-managers/{user_id}", by)


async def test_admin_appoints_the_first_access_manager(api: Api, app: Litestar) -> None:
    org = await api.organisation()
    assert await manager_rows(app) == set()
    response = await api.appoint(org["id"], "alice")
    assert response.status_code == 201, response.text
    alice = await api.user_id("alice")
    body = response.json()
    assert body["organisation_id"] == org["id"]
    assert body["user_id"] == alice
    assert body["appointed_by"] == {"id": await api.user_id("admin"), "display_name": "admin", "email": None, "signed_in": True}
    assert await manager_rows(app) == {("g", f"user:{alice}", "role:access_manager", f"org:{org['id']}")}
    me = (await api.get("/v1/me", "alice")).json()
    assert [o["id"] for o in me["access_manager_of"]] == [org["id"]]


async def test_an_access_manager_appoints_a_colleague(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    response = await api.appoint(org["id"], "erin", by="alice")
    assert response.status_code == 201, response.text
    erin, alice = await api.user_id("erin"), await api.user_id("alice")
    assert response.json()["appointed_by"]["id"] == alice
    # the list names who appointed whom, read in the same query as the access managers
    listed = (await api.get(f"/v1/organisations/{org['id']}/access-managers", "alice")).json()["items"]
    assert {m["display_name"]: m["appointed_by"]["display_name"] for m in listed} == {"alice": "admin", "erin": "alice"}
    assert await manager_rows(app) == {
        ("g", f"user:{alice}", "role:access_manager", f"org:{org['id']}"),
        ("g", f"user:{erin}", "role:access_manager", f"org:{org['id']}"),
    }
    # the new access manager can decide at once
    request = (await api.request_access(org["id"], "carol")).json()
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "erin", json={})
    assert approved.status_code == 200, approved.text


async def test_outsiders_cannot_appoint_or_remove(api: Api, app: Litestar) -> None:
    brugge = await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.appoint(brugge["id"], "erin", by="alice")
    rows_before = await manager_rows(app)
    for outsider in ("bob", "dave"):  # access manager elsewhere, employee
        appointed = await api.appoint(brugge["id"], "carol", by=outsider)
        assert_problem(appointed, 403, "forbidden")
        removed = await remove(api, brugge["id"], "erin", by=outsider)
        assert_problem(removed, 403, "forbidden")
    assert await manager_rows(app) == rows_before
    assert sorted(m["display_name"] for m in await managers(api, brugge["id"])) == ["alice", "erin"]
    # bob cannot make himself an access manager of Brugge either
    self_appointed = await api.appoint(brugge["id"], "bob", by="bob")
    assert_problem(self_appointed, 403, "forbidden")
    assert await events(api, "access_manager.removed") == []


async def test_appointing_an_unknown_user_is_422(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    response = await api.post(
        f"/v1/organisations/{org['id']}/access-managers", "alice", json={"user_id": "00000000-0000-4000-8000-000000000000"}
    )
    body = assert_problem(response, 422, "validation-error")
    assert [error["field"] for error in body["errors"]] == ["$.user_id"]
    not_a_uuid = await api.post(f"/v1/organisations/{org['id']}/access-managers", "alice", json={"user_id": "carol"})
    assert_problem(not_a_uuid, 422, "validation-error")
    assert len(await manager_rows(app)) == 1


async def test_appointing_twice_is_409(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    again = await api.appoint(org["id"], "alice")
    body = assert_problem(again, 409, "already-exists")
    assert body["existing"] == f"/v1/organisations/{org['id']}/access-managers"
    assert len(await manager_rows(app)) == 1
    assert len(await managers(api, org["id"])) == 1
    assert len(await events(api, "access_manager.appointed")) == 1


async def test_appointing_in_an_unknown_organisation_is_404(api: Api) -> None:
    response = await api.appoint("00000000-0000-4000-8000-000000000000", "alice")
    assert_problem(response, 404, "not-found")


async def test_the_last_access_manager_of_an_active_organisation_stays(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    rows_before = await manager_rows(app)
    for by in ("alice", "admin"):
        response = await remove(api, org["id"], "alice", by=by)
        body = assert_problem(response, 409, "last-access-manager")
        assert body["status"] == 409
    assert await manager_rows(app) == rows_before
    assert [m["display_name"] for m in await managers(api, org["id"])] == ["alice"]
    assert await events(api, "access_manager.removed") == []
    # and alice still decides
    request = (await api.request_access(org["id"], "carol")).json()
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text


async def test_a_disabled_organisation_may_lose_its_last_access_manager(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    await api.patch(f"/v1/organisations/{org['id']}", json={"status": "disabled"})
    response = await remove(api, org["id"], "alice", by="admin")
    assert response.status_code == 204, response.text
    assert await manager_rows(app) == set()


async def test_removing_one_of_two_access_managers(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "erin", by="alice")
    alice, erin = await api.user_id("alice"), await api.user_id("erin")
    response = await remove(api, org["id"], "alice", by="erin")
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await manager_rows(app) == {("g", f"user:{erin}", "role:access_manager", f"org:{org['id']}")}
    assert [m["user_id"] for m in await managers(api, org["id"])] == [erin]
    assert (await api.get("/v1/me", "alice")).json()["access_manager_of"] == []
    # erin is now the last one
    last = await remove(api, org["id"], "erin", by="erin")
    assert_problem(last, 409, "last-access-manager")
    # removing someone who is not an access manager there is 404
    gone = await api.delete(f"/v1/organisations/{org['id']}/access-managers/{alice}", "erin")
    assert_problem(gone, 404, "not-found")


async def test_a_removed_access_manager_can_no_longer_approve(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "erin", by="alice")
    request = (await api.request_access(org["id"], "carol")).json()
    # alice could decide while she was an access manager: she can read it
    assert (await api.get(f"/v1/access-requests/{request['id']}", "alice")).status_code == 200
    assert (await remove(api, org["id"], "alice", by="admin")).status_code == 204
    for action, body in (("approve", {}), ("reject", {"reason": "not any more"})):
        response = await api.post(f"/v1/access-requests/{request['id']}/{action}", "alice", json=body)
        # 404 rather than 403: she may not even see the organisation's requests any more
        assert response.status_code in (403, 404), response.text
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await api.get(f"/v1/access-requests/{request['id']}", "carol")).json()["status"] == "pending"
    assert (await api.get("/v1/access-requests", "alice")).json()["items"] == []
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "erin", json={})
    assert approved.status_code == 200, approved.text


async def test_appointments_and_removals_are_audited(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "erin", by="alice")
    await remove(api, org["id"], "erin", by="alice")
    alice, erin, admin = await api.user_id("alice"), await api.user_id("erin"), await api.user_id("admin")
    appointed = await events(api, "access_manager.appointed")
    assert [(e["target_id"], e["actor_id"], e["organisation_id"]) for e in appointed] == [
        (erin, alice, org["id"]),
        (alice, admin, org["id"]),
    ]
    removed = await events(api, "access_manager.removed")
    assert [(e["target_id"], e["actor_id"], e["organisation_id"]) for e in removed] == [(erin, alice, org["id"])]
    # the organisation's access manager reads the same trail
    as_manager = await api.get("/v1/audit-events", "alice", params={"organisation_id": org["id"]})
    assert as_manager.status_code == 200
    actions = [e["action"] for e in as_manager.json()["items"]]
    assert actions[:3] == ["access_manager.removed", "access_manager.appointed", "access_manager.appointed"]


async def test_list_shows_display_names(api: Api, clock: Clock) -> None:
    org = await api.organisation()
    # users sign in once with their names before they are appointed
    for username, name in (("alice", "Alice Peeters"), ("erin", "Erin Dubois")):
        me = await api.get("/v1/me", None, headers=auth(username, name=name, email=f"{username}@azsintjan.be"))
        assert me.status_code == 200
    assert (await api.appoint(org["id"], "alice")).status_code == 201
    clock.advance(minutes=1)
    assert (await api.appoint(org["id"], "erin", by="alice")).status_code == 201
    listed = await managers(api, org["id"], user="carol")
    assert [(m["display_name"], m["email"]) for m in listed] == [
        ("Alice Peeters", "alice@azsintjan.be"),
        ("Erin Dubois", "erin@azsintjan.be"),
    ]
    assert [m["user_id"] for m in listed] == [await api.user_id("alice"), await api.user_id("erin")]
