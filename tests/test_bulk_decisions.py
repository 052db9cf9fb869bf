"""Deciding many requests in one call: each its own compare-and-set decision; one that fails
leaves nothing of itself written (no row, no policy, no audit event) and the others stand."""

from __future__ import annotations

import uuid

from litestar import Litestar

from tests.conftest import Api, assert_problem, casbin_rows


async def decide(api: Api, user: str, decision: str, **body: object) -> object:
    path = "/v1/access-requests/approvals" if decision == "approve" else "/v1/access-requests/rejections"
    return await api.post(path, user, json=body)


async def events(api: Api, action: str) -> list[dict[str, object]]:
    return (await api.get("/v1/audit-events", params={"action": action, "limit": 100})).json()["items"]


async def test_one_withdrawn_meanwhile_fails_alone(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    ids = [(await api.request_access(org["id"], f"person{n}")).json()["id"] for n in range(3)]
    await api.post(f"/v1/access-requests/{ids[1]}/withdraw", "person1", json={})
    response = await decide(api, "alice", decision="approve", ids=[*ids, ids[0]], comment="welcome")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    assert [item["id"] for item in body["items"]] == ids  # in order, each once
    assert [item["outcome"] for item in body["items"]] == ["approved", "failed", "approved"]
    failed = body["items"][1]
    assert failed["problem"]["type"] == "urn:eam:problem:request-not-pending" and failed["problem"]["status"] == 409
    assert failed["request"]["status"] == "withdrawn"
    assert body["items"][0]["request"]["decision_comment"] == "welcome"
    assert len(await events(api, "access_request.approved")) == 2
    assert len([row for row in await casbin_rows(app, "p2")]) == 2


async def test_a_failure_after_the_decision_row_was_written_leaves_nothing(api: Api, app: Litestar) -> None:
    """Approving in a disabled organisation fails after the compare-and-set updated the row and
    the decision was recorded: the savepoint takes back the row and forgets the event."""
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("alice", name="UZ Leuven", nihdi="71000931")
    ok = (await api.request_access(brugge["id"], "carol")).json()["id"]
    doomed = (await api.request_access(leuven["id"], "carol")).json()["id"]
    doomed_too = (await api.request_access(leuven["id"], "dave")).json()["id"]
    disabled = await api.patch(f"/v1/organisations/{leuven['id']}", json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.text
    # failing first (nothing noted yet) and after a success (something noted already)
    body = (await decide(api, "alice", decision="approve", ids=[doomed, ok, doomed_too])).json()
    assert [item["outcome"] for item in body["items"]] == ["failed", "approved", "failed"]
    assert body["items"][0]["problem"]["type"] == "urn:eam:problem:organisation-disabled"
    assert (await api.get(f"/v1/access-requests/{doomed}", "carol")).json()["status"] == "pending"
    assert (await api.get(f"/v1/access-requests/{doomed_too}", "dave")).json()["status"] == "pending"
    approved = await events(api, "access_request.approved")
    assert [event["target_id"] for event in approved] == [ok]
    assert len(await events(api, "assignment.created")) == 1
    assert len(await casbin_rows(app, "p2")) == 1


async def test_rules_of_the_single_decision_hold(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    request_id = (await api.request_access(brugge["id"], "carol")).json()["id"]
    # another organisation's access manager: refused per item, and told nothing about it
    body = (await decide(api, "bob", decision="approve", ids=[request_id])).json()
    assert body["items"][0]["outcome"] == "failed" and body["items"][0]["request"] is None
    assert body["items"][0]["problem"]["status"] in (403, 404)
    # rejecting needs a reason; too many ids, or none, are refused whole
    assert_problem(await decide(api, "alice", decision="reject", ids=[request_id]), 422, "validation-error")
    assert_problem(await decide(api, "alice", decision="reject", ids=[request_id], reason="   "), 422, "validation-error")
    assert_problem(await decide(api, "alice", decision="approve", ids=[]), 422, "validation-error")
    assert_problem(await decide(api, "alice", decision="approve", ids=[str(uuid.uuid4()) for _ in range(101)]), 422, "validation-error")
    assert (await api.get(f"/v1/access-requests/{request_id}", "carol")).json()["status"] == "pending"
    rejected = (await decide(api, "alice", decision="reject", ids=[request_id], reason="Not in the study team.")).json()
    assert rejected["items"][0]["outcome"] == "rejected"
    assert rejected["items"][0]["request"]["decision_comment"] == "Not in the study team."


async def test_revoking_many_each_on_its_own(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation("alice")
    other = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    held = [(await api.approved_assignment(org["id"], f"person{n}"))["id"] for n in range(3)]
    elsewhere = (await api.approved_assignment(other["id"], "erin", manager="bob"))["id"]
    first = await api.post(f"/v1/assignments/{held[1]}/revoke", "alice", json={"reason": "Left."})
    assert first.status_code == 200, first.text
    response = await api.post("/v1/assignments/revocations", "alice", json={"ids": [*held, elsewhere, held[0]], "reason": "The study has closed."})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["items"]] == [*held, elsewhere]
    assert [item["outcome"] for item in body["items"]] == ["revoked", "failed", "revoked", "failed"]
    assert (body["succeeded"], body["failed"]) == (2, 2)
    assert body["items"][1]["problem"]["type"] == "urn:eam:problem:assignment-not-active"
    assert body["items"][3]["problem"]["status"] in (403, 404) and body["items"][3]["assignment"] is None
    assert body["items"][0]["assignment"]["status"] == "revoked"
    assert len(await events(api, "assignment.revoked")) == 3
    assert len(await casbin_rows(app, "p2")) == 1  # erin's, at UZ Leuven
    assert_problem(await api.post("/v1/assignments/revocations", "carol", json={"ids": held, "reason": "Closed."}), 403, "forbidden")
    assert_problem(await api.post("/v1/assignments/revocations", "alice", json={"ids": held, "reason": "     "}), 422, "validation-error")
