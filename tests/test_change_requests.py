"""A holder asks to change or extend access they hold; the access managers decide like any request."""

from __future__ import annotations

from tests.conftest import Api, assert_problem


async def ask(api: Api, assignment_id: str, user: str = "carol", **body: object) -> object:
    return await api.post(f"/v1/access-requests/for-assignment/{assignment_id}", user, json={"justification": "The study runs a year longer.", **body})


async def test_an_extension_approved_changes_the_assignment_in_place(api: Api) -> None:
    org = await api.managed_organisation("alice")
    held = await api.approved_assignment(org["id"])
    response = await ask(api, held["id"], valid_until="2031-06-30T22:00:00Z")
    assert response.status_code == 201, response.text
    request = response.json()
    assert request["changes_assignment_id"] == held["id"] and request["status"] == "pending"
    assert request["profile"] == held["profile"]  # the profile held, unless another is asked
    # one pending request per access, new or change
    assert_problem(await ask(api, held["id"], valid_until="2032-06-30T22:00:00Z"), 409, "duplicate-request")
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["assignment_id"] == held["id"]
    assignments = (await api.get("/v1/me", "carol")).json()["assignments"]
    assert [(a["id"], a["valid_until"]) for a in assignments] == [(held["id"], "2031-06-30T22:00:00Z")]


async def test_a_profile_change_can_be_narrowed_and_four_eyes_hold(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "erin", by="alice")
    held = await api.approved_assignment(org["id"], user="erin")  # erin holds access and manages
    request = (await ask(api, held["id"], user="erin", profile={"role": "sponsor", "data_level": "sponsor"})).json()
    # erin cannot decide her own change
    assert_problem(await api.post(f"/v1/access-requests/{request['id']}/approve", "erin", json={}), 403, "forbidden")
    narrowed = await api.post(
        f"/v1/access-requests/{request['id']}/approve", "alice", json={"profile": {"role": "sponsor", "data_level": "individual"}}
    )
    assert narrowed.status_code == 200, narrowed.text
    after = (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()
    assert after["profile"] == {"role": "sponsor", "data_level": "individual", "author_group": None}


async def test_only_the_holder_asks_and_only_for_a_real_change_of_live_access(api: Api) -> None:
    org = await api.managed_organisation("alice")
    held = await api.approved_assignment(org["id"])
    assert_problem(await ask(api, held["id"], user="dave", valid_until="2031-06-30T22:00:00Z"), 404, "not-found")
    assert_problem(await ask(api, held["id"]), 422, "validation-error")  # nothing would change
    assert_problem(await ask(api, held["id"], profile={"role": "nope"}), 422, "validation-error")
    await api.post(f"/v1/assignments/{held['id']}/revoke", "alice", json={"reason": "left the team"})
    assert_problem(await ask(api, held["id"], valid_until="2031-06-30T22:00:00Z"), 409, "assignment-not-active")


async def test_an_approval_fails_whole_when_the_access_was_revoked_meanwhile(api: Api) -> None:
    org = await api.managed_organisation("alice")
    held = await api.approved_assignment(org["id"])
    request = (await ask(api, held["id"], valid_until="2031-06-30T22:00:00Z")).json()
    await api.post(f"/v1/assignments/{held['id']}/revoke", "alice", json={"reason": "left the team"})
    assert_problem(await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={}), 409, "assignment-not-active")
    assert (await api.get(f"/v1/access-requests/{request['id']}", "carol")).json()["status"] == "pending"
