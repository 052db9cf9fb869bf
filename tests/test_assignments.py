"""Assignments: direct creation, four-eyes, change in place, end dates, expiry, revocation, scope."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy import select

from eam.assignments.models import Assignment
from tests.conftest import Api, Clock, casbin_rows, holds_now

REGISTER_OBJECT = "healthstat:HDBP0147"
HOSPITAL = {"role": "data_provider", "data_level": "hospital"}
SPONSOR = {"role": "sponsor", "data_level": "sponsor"}


async def create_direct(api: Api, org_id: str, holder: str, by: str = "alice", **overrides: Any) -> Any:
    body = {
        "user_id": await api.user_id(holder),
        "organisation_id": org_id,
        "application": "healthstat",
        "register": "HDBP0147",
        "profile": HOSPITAL,
        **overrides,
    }
    return await api.post("/v1/assignments", by, json=body)


async def holds(app: Litestar, user_id: str, org_id: str, profile_pattern: str, now: dt.datetime) -> bool:
    """Ask Casbin (m2) through the app's own authorizer, as a register-access decision does."""
    return await holds_now(app, user_id, org_id, profile_pattern, now)


async def events(api: Api, target_id: str, user: str = "admin", **params: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/audit-events", user, params={"target_id": target_id, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def stored_status(app: Litestar, assignment_id: str) -> str:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(Assignment.status).where(Assignment.id == uuid.UUID(assignment_id)))


async def test_access_manager_creates_an_assignment_directly(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    response = await create_direct(api, org["id"], "carol", comment="joins the registry team")
    assert response.status_code == 201, response.text
    body = response.json()
    carol, alice = await api.user_id("carol"), await api.user_id("alice")
    assert body["status"] == "active"
    assert body["user"]["id"] == carol
    assert body["organisation"]["id"] == org["id"]
    assert (body["application"], body["register"]) == ("healthstat", "HDBP0147")
    assert body["profile"] == {**HOSPITAL, "author_group": None}
    assert body["created_by"] == {"id": alice, "display_name": "alice", "email": None, "signed_in": True}
    assert body["request_id"] is None
    assert body["valid_until"] is None
    rows = await casbin_rows(app, "p2")
    assert [row[1:5] for row in rows] == [(f"user:{carol}", f"org:{org['id']}", REGISTER_OBJECT, "data_provider/hospital")]
    me = (await api.get("/v1/me", "carol")).json()
    assert [a["id"] for a in me["assignments"]] == [body["id"]]
    created = await events(api, body["id"], action="assignment.created")
    assert len(created) == 1
    assert created[0]["actor_id"] == alice
    assert created[0]["after"]["role"] == "data_provider"


async def test_direct_creation_needs_an_access_manager_of_that_organisation(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.user_id("carol")
    for user in ("bob", "dave", "carol"):
        response = await create_direct(api, org["id"], "carol", by=user)
        assert response.status_code == 403, (user, response.text)
    assert await casbin_rows(app, "p2") == []


async def test_four_eyes_no_one_creates_their_own_assignment(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    await api.appoint(org["id"], "admin")
    own = await create_direct(api, org["id"], "alice", by="alice")
    assert own.status_code == 403, own.text
    assert own.json()["type"] == "urn:eam:problem:forbidden"
    admin_own = await create_direct(api, org["id"], "admin", by="admin")
    assert admin_own.status_code == 403, admin_own.text
    assert await casbin_rows(app, "p2") == []
    by_colleague = await create_direct(api, org["id"], "alice", by="admin")
    assert by_colleague.status_code == 201, by_colleague.text


async def test_four_eyes_no_one_changes_their_own_assignment(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    created = await create_direct(api, org["id"], "alice", by="admin")
    assert created.status_code == 201, created.text
    assignment_id = created.json()["id"]
    own_change = await api.patch(f"/v1/assignments/{assignment_id}", "alice", json={"profile": SPONSOR})
    assert own_change.status_code == 403, own_change.text
    own_end = await api.patch(f"/v1/assignments/{assignment_id}", "alice", json={"valid_until": "2099-01-01T00:00:00Z"})
    assert own_end.status_code == 403, own_end.text
    unchanged = (await api.get(f"/v1/assignments/{assignment_id}", "alice")).json()
    assert unchanged["profile"]["role"] == "data_provider"
    assert unchanged["valid_until"] is None
    # not even a platform admin, whose role allows everything else
    admins = await create_direct(api, org["id"], "admin", by="alice")
    assert admins.status_code == 201, admins.text
    admin_change = await api.patch(f"/v1/assignments/{admins.json()['id']}", "admin", json={"profile": SPONSOR})
    assert admin_change.status_code == 403, admin_change.text
    assert [row[4] for row in await casbin_rows(app, "p2")] == ["data_provider/hospital", "data_provider/hospital"]
    assert await events(api, assignment_id, action="assignment.changed") == []
    assert await events(api, admins.json()["id"], action="assignment.changed") == []


async def test_profile_change_is_in_place_and_moves_the_policy_row(api: Api, app: Litestar, clock: Clock) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    carol = await api.user_id("carol")
    assert await holds(app, carol, org["id"], "^data_provider/hospital$", clock.now)
    response = await api.patch(
        f"/v1/assignments/{assignment['id']}", "alice", json={"profile": SPONSOR, "comment": "moved to the sponsor team"}
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["id"] == assignment["id"]
    assert changed["status"] == "active"
    assert changed["profile"] == {**SPONSOR, "author_group": None}
    listed = (await api.get("/v1/assignments", "alice")).json()["items"]
    assert [a["id"] for a in listed] == [assignment["id"]]
    rows = await casbin_rows(app, "p2")
    assert [row[1:5] for row in rows] == [(f"user:{carol}", f"org:{org['id']}", REGISTER_OBJECT, "sponsor/sponsor")]
    assert await holds(app, carol, org["id"], "^sponsor/sponsor$", clock.now)
    assert not await holds(app, carol, org["id"], "^data_provider/hospital$", clock.now)
    audit = await events(api, assignment["id"], "alice", action="assignment.changed")
    assert len(audit) == 1
    assert audit[0]["actor_id"] == await api.user_id("alice")
    assert (audit[0]["before"]["role"], audit[0]["before"]["data_level"]) == ("data_provider", "hospital")
    assert (audit[0]["after"]["role"], audit[0]["after"]["data_level"]) == ("sponsor", "sponsor")
    assert audit[0]["after"]["comment"] == "moved to the sponsor team"


async def test_end_date_is_set_by_patch_and_removed_by_null(api: Api, app: Litestar, clock: Clock) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    url = f"/v1/assignments/{assignment['id']}"
    end = (clock.now + dt.timedelta(days=90)).replace(microsecond=0)
    with_end = await api.patch(url, "alice", json={"valid_until": end.isoformat()})
    assert with_end.status_code == 200, with_end.text
    assert dt.datetime.fromisoformat(with_end.json()["valid_until"]) == end
    assert with_end.json()["status"] == "active"
    assert (await casbin_rows(app, "p2"))[0][6] == end.strftime("%Y-%m-%dT%H:%M:%SZ")

    past = await api.patch(url, "alice", json={"valid_until": (clock.now - dt.timedelta(days=1)).isoformat()})
    assert past.status_code == 422, past.text
    assert past.json()["errors"][0]["field"] == "$.valid_until"

    without_end = await api.patch(url, "alice", json={"valid_until": None})
    assert without_end.status_code == 200, without_end.text
    assert without_end.json()["valid_until"] is None
    assert (await casbin_rows(app, "p2"))[0][6] == ""
    assert (await api.get(url, "carol")).json()["valid_until"] is None

    # a profile-only change leaves the end date alone (absent is not null)
    await api.patch(url, "alice", json={"valid_until": end.isoformat()})
    profile_only = await api.patch(url, "alice", json={"profile": {"role": "data_provider", "data_level": "individual"}})
    assert dt.datetime.fromisoformat(profile_only.json()["valid_until"]) == end


async def test_invalid_profile_change_is_422_naming_the_allowed_values(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    response = await api.patch(
        f"/v1/assignments/{assignment['id']}", "alice", json={"profile": {"role": "local_study_lead"}}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert error["field"] == "$.profile"
    assert error["allowed"] == ["data_provider/hospital", "data_provider/individual", "sponsor/sponsor", "sponsor/individual"]
    shown = (await api.get(f"/v1/assignments/{assignment['id']}", "alice")).json()
    assert shown["profile"]["role"] == "data_provider"
    assert [row[4] for row in await casbin_rows(app, "p2")] == ["data_provider/hospital"]


async def test_assignment_past_its_end_date_is_inactive_at_once_and_swept(api: Api, app: Litestar, clock: Clock) -> None:
    from eam.jobs import EXPIRE_ASSIGNMENTS, EXPIRE_REQUESTS
    from tests.conftest import run_jobs

    org = await api.managed_organisation()
    end = clock.now + dt.timedelta(days=1)
    response = await create_direct(api, org["id"], "carol", valid_until=end.isoformat())
    assert response.status_code == 201, response.text
    assignment_id = response.json()["id"]
    carol = await api.user_id("carol")
    assert await holds(app, carol, org["id"], "^data_provider/hospital$", clock.now)
    assert [a["id"] for a in (await api.get("/v1/me", "carol")).json()["assignments"]] == [assignment_id]

    clock.advance(days=1, seconds=1)
    assert (await api.get("/v1/me", "carol")).json()["assignments"] == []
    assert (await api.get(f"/v1/assignments/{assignment_id}", "carol")).json()["status"] == "expired"
    expired = (await api.get("/v1/assignments?status=expired", "alice")).json()["items"]
    assert [a["id"] for a in expired] == [assignment_id]
    assert (await api.get("/v1/assignments?status=active", "alice")).json()["items"] == []
    assert not await holds(app, carol, org["id"], "^data_provider/hospital$", clock.now)
    # inactive at once: nothing has been swept yet, the policy row is still there but inert
    assert await stored_status(app, assignment_id) == "active"
    assert len(await casbin_rows(app, "p2")) == 1
    late_change = await api.patch(f"/v1/assignments/{assignment_id}", "alice", json={"profile": SPONSOR})
    assert late_change.status_code == 409, late_change.text

    assert await run_jobs(app.state.services, EXPIRE_REQUESTS, EXPIRE_ASSIGNMENTS) == (0, 1)
    assert await stored_status(app, assignment_id) == "expired"
    assert await casbin_rows(app, "p2") == []
    audit = await events(api, assignment_id, "alice", action="assignment.expired")
    assert len(audit) == 1
    assert audit[0]["actor"] == "system:expiry"
    assert audit[0]["before"]["status"] == "active"
    assert audit[0]["after"]["status"] == "expired"
    assert (await api.get(f"/v1/assignments/{assignment_id}", "carol")).json()["status"] == "expired"
    assert await run_jobs(app.state.services, EXPIRE_REQUESTS, EXPIRE_ASSIGNMENTS) == (0, 0)


async def test_revoke_requires_a_reason(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    url = f"/v1/assignments/{assignment['id']}/revoke"
    for body in ({}, {"reason": ""}, {"reason": "x"}):
        response = await api.post(url, "alice", json=body)
        assert response.status_code == 422, (body, response.text)
    assert (await api.get(f"/v1/assignments/{assignment['id']}", "alice")).json()["status"] == "active"
    assert len(await casbin_rows(app, "p2")) == 1


async def test_revoke_ends_access_and_is_final(api: Api, app: Litestar, clock: Clock) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    carol, alice = await api.user_id("carol"), await api.user_id("alice")
    url = f"/v1/assignments/{assignment['id']}"
    revoked = await api.post(f"{url}/revoke", "alice", json={"reason": "Left the hospital"})
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "revoked"
    assert body["revoke_reason"] == "Left the hospital"
    assert body["revoked_by"] == {"id": alice, "display_name": "alice", "email": None, "signed_in": True}
    # read back: creator (the approver) and revoker by name, joined in the same query
    again = (await api.get(url, "carol")).json()
    assert (again["created_by"]["display_name"], again["revoked_by"]["display_name"]) == ("alice", "alice")
    assert await casbin_rows(app, "p2") == []
    assert not await holds(app, carol, org["id"], ".*", clock.now)
    assert (await api.get("/v1/me", "carol")).json()["assignments"] == []
    audit = await events(api, assignment["id"], "alice", action="assignment.revoked")
    assert len(audit) == 1
    assert audit[0]["after"]["reason"] == "Left the hospital"
    assert audit[0]["before"]["status"] == "active"
    assert audit[0]["after"]["status"] == "revoked"

    again = await api.post(f"{url}/revoke", "alice", json={"reason": "Left the hospital"})
    assert again.status_code == 409, again.text
    assert again.json()["type"] == "urn:eam:problem:assignment-not-active"
    changed = await api.patch(url, "alice", json={"profile": SPONSOR})
    assert changed.status_code == 409, changed.text
    assert changed.json()["type"] == "urn:eam:problem:assignment-not-active"
    assert (await api.get(url, "alice")).json()["profile"]["role"] == "data_provider"
    assert len(await events(api, assignment["id"], "alice", action="assignment.revoked")) == 1
    assert await events(api, assignment["id"], "alice", action="assignment.changed") == []


async def test_after_revocation_the_same_access_can_be_requested_again(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    blocked = await api.request_access(org["id"])
    assert blocked.status_code == 409
    revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "Role ended"})
    assert revoked.status_code == 200, revoked.text
    again = await api.approved_assignment(org["id"])
    assert again["id"] != assignment["id"]
    assert again["status"] == "active"
    assert len(await casbin_rows(app, "p2")) == 1


async def test_employees_see_their_own_and_access_managers_their_organisations(api: Api) -> None:
    brugge = await api.managed_organisation()
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    carols = await api.approved_assignment(brugge["id"], "carol")
    daves = await api.approved_assignment(brugge["id"], "dave")
    erins = await api.approved_assignment(leuven["id"], "erin", "bob")

    def ids(response: Any) -> set[str]:
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()["items"]}

    assert ids(await api.get("/v1/assignments", "carol")) == {carols["id"]}
    assert ids(await api.get("/v1/assignments", "dave")) == {daves["id"]}
    assert ids(await api.get("/v1/assignments", "alice")) == {carols["id"], daves["id"]}
    assert ids(await api.get("/v1/assignments", "bob")) == {erins["id"]}
    assert ids(await api.get("/v1/assignments", "admin")) == {carols["id"], daves["id"], erins["id"]}
    assert ids(await api.get(f"/v1/assignments?organisation_id={brugge['id']}", "bob")) == set()

    assert (await api.get(f"/v1/assignments/{daves['id']}", "carol")).status_code == 404
    assert (await api.get(f"/v1/assignments/{carols['id']}", "carol")).status_code == 200
    assert (await api.get(f"/v1/assignments/{carols['id']}", "alice")).status_code == 200
    for_other_org = await api.get(f"/v1/assignments/{carols['id']}", "bob")
    assert for_other_org.status_code == 404
    assert for_other_org.json()["type"] == "urn:eam:problem:not-found"
    assert (await api.patch(f"/v1/assignments/{carols['id']}", "bob", json={"profile": SPONSOR})).status_code == 404
    revoke = await api.post(f"/v1/assignments/{carols['id']}/revoke", "bob", json={"reason": "not mine to revoke"})
    assert revoke.status_code == 404
    assert (await api.get(f"/v1/assignments/{carols['id']}", "alice")).json()["status"] == "active"


async def test_an_expiry_a_request_comes_across_is_recorded_by_the_system_not_the_caller(api: Api, app: Litestar, clock: Clock) -> None:
    """Lazy expiry: alice granting carol the same access again retires the ended assignment;
    the audit trail names the system actor ``expiry``, not alice, and not alice's request."""
    org = await api.managed_organisation()
    ended = await create_direct(api, org["id"], "carol", valid_until=(clock.now + dt.timedelta(days=1)).isoformat())
    assert ended.status_code == 201, ended.text
    clock.advance(days=1, seconds=1)
    body = {"user_id": await api.user_id("carol"), "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147", "profile": HOSPITAL}
    again = await api.post("/v1/assignments", "alice", json=body, headers={"X-Request-ID": "alice-grants-again"})
    assert again.status_code == 201, again.text

    (expired,) = await events(api, ended.json()["id"], "alice", action="assignment.expired")
    assert expired["actor"] == "system:expiry"
    assert expired["actor_id"] is None
    assert expired["http_request_id"] is None
    (created,) = await events(api, again.json()["id"], "alice", action="assignment.created")
    assert created["http_request_id"] == "alice-grants-again"
    assert created["actor"] == "alice <alice>"
