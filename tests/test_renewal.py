"""Extension and renewal (issue 15): a holder asks to extend, before the end or up to
EAM_RENEWAL_GRACE_DAYS after it; an access manager extends directly. Renewal reopens the same
assignment (eam.assignments.renewal)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from eam.jobs import EXPIRE_ASSIGNMENTS
from tests.conftest import Api, Clock, assert_problem, run_jobs


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def ending_assignment(api: Api, clock: Clock, days: float = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    org = await api.managed_organisation("alice")
    held = await api.approved_assignment(org["id"])
    ends = clock.now + dt.timedelta(days=days)
    changed = await api.patch(f"/v1/assignments/{held['id']}", "alice", json={"valid_until": iso(ends)})
    assert changed.status_code == 200, changed.text
    return org, changed.json()


async def ask(api: Api, assignment_id: str, valid_until: str | None, user: str = "carol") -> Any:
    body = {"justification": "The study runs a year longer.", "valid_until": valid_until}
    return await api.post(f"/v1/access-requests/for-assignment/{assignment_id}", user, json=body)


async def test_a_holder_renews_an_expired_assignment_within_the_grace_period(api: Api, clock: Clock, app: Any) -> None:
    _org, held = await ending_assignment(api, clock)
    clock.advance(days=10)  # ended a week ago
    assert (await api.get(f"/v1/assignments/{held['id']}", "carol")).json()["status"] == "expired"
    assert await run_jobs(app.state.services, EXPIRE_ASSIGNMENTS) == (1,)
    new_end = iso(clock.now + dt.timedelta(days=365))
    # a renewal asks for a new end
    assert_problem(await api.post(f"/v1/access-requests/for-assignment/{held['id']}", "carol", json={"justification": "The study runs a year longer."}), 422, "validation-error")
    asked = await ask(api, held["id"], new_end)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["changes_assignment_id"] == held["id"] and request["status"] == "pending"
    assert_problem(await ask(api, held["id"], new_end), 409, "duplicate-request")
    # the access managers see it in their inbox like any request
    inbox = (await api.get("/v1/access-requests", "alice", params={"status": "pending"})).json()["items"]
    assert [r["id"] for r in inbox] == [request["id"]]
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["assignment_id"] == held["id"]
    after = (await api.get(f"/v1/assignments/{held['id']}", "carol")).json()
    assert (after["status"], after["valid_until"]) == ("active", new_end)
    token = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert token.status_code == 200, token.text
    history = (await api.get(f"/v1/assignments/{held['id']}/history", "carol")).json()
    assert [v["action"] for v in history] == ["assignment.created", "assignment.changed", "assignment.expired", "assignment.renewed"]
    assert history[-1]["status"] == "active" and history[-1]["by"]["id"] == await api.user_id("alice")


async def test_no_renewal_after_the_grace_period_nor_of_a_revoked_assignment(api: Api, clock: Clock) -> None:
    org, held = await ending_assignment(api, clock)
    clock.advance(days=3 + 31)  # EAM_RENEWAL_GRACE_DAYS is 30
    later = iso(clock.now + dt.timedelta(days=30))
    body = assert_problem(await ask(api, held["id"], later), 409, "renewal-window-closed")
    assert "renewable_until" in body
    assert_problem(await api.post(f"/v1/assignments/{held['id']}/extension", "alice", json={"valid_until": later}), 409, "renewal-window-closed")
    other = await api.approved_assignment(org["id"], user="dave")
    await api.post(f"/v1/assignments/{other['id']}/revoke", "alice", json={"reason": "left the team"})
    assert_problem(await ask(api, other["id"], later, user="dave"), 409, "assignment-not-active")
    assert_problem(await api.post(f"/v1/assignments/{other['id']}/extension", "alice", json={"valid_until": later}), 409, "assignment-not-active")


async def test_an_access_manager_extends_directly_and_renews_within_grace(api: Api, clock: Clock) -> None:
    _org, held = await ending_assignment(api, clock)
    url = f"/v1/assignments/{held['id']}/extension"
    assert_problem(await api.post(url, "alice", json={"valid_until": held["valid_until"]}), 422, "validation-error")  # not later
    assert_problem(await api.post(url, "carol", json={"valid_until": iso(clock.now + dt.timedelta(days=9))}), 403, "forbidden")
    assert_problem(await api.post(url, "alice", json={"valid_until": iso(clock.now + dt.timedelta(days=9)), "extra": 1}), 422, "validation-error")
    extended = await api.post(url, "alice", json={"valid_until": iso(clock.now + dt.timedelta(days=9)), "comment": "One more week."})
    assert extended.status_code == 200, extended.text
    assert extended.json()["status"] == "active"
    clock.advance(days=20)  # ended eleven days ago, nobody swept it
    assert_problem(await api.patch(f"/v1/assignments/{held['id']}", "alice", json={"valid_until": iso(clock.now + dt.timedelta(days=9))}), 409, "assignment-not-active")
    renewed = await api.post(url, "alice", json={"valid_until": None})
    assert renewed.status_code == 200, renewed.text
    assert (renewed.json()["status"], renewed.json()["valid_until"]) == ("active", None)
    events = (await api.get("/v1/audit-events", params={"target_id": held["id"]})).json()["items"]
    actions = [e["action"] for e in events]
    assert "assignment.extended" in actions and "assignment.renewed" in actions
    assert_problem(await api.post(url, "alice", json={"valid_until": None}), 422, "validation-error")  # no end to move


async def test_a_renewal_is_refused_when_the_access_was_granted_again_meanwhile(api: Api, clock: Clock) -> None:
    org, held = await ending_assignment(api, clock)
    clock.advance(days=5)
    again = await api.approved_assignment(org["id"])  # a new grant of the same access
    response = await api.post(f"/v1/assignments/{held['id']}/extension", "alice", json={"valid_until": iso(clock.now + dt.timedelta(days=30))})
    body = assert_problem(response, 409, "already-assigned")
    assert body["existing"] == f"/v1/assignments/{again['id']}"


async def test_two_managers_renewing_at_once_renew_once(api: Api, clock: Clock) -> None:
    import asyncio

    org, held = await ending_assignment(api, clock)
    await api.appoint(org["id"], "bob", by="admin")
    clock.advance(days=4)
    body = {"valid_until": iso(clock.now + dt.timedelta(days=60))}
    url = f"/v1/assignments/{held['id']}/extension"
    first, second = await asyncio.gather(api.post(url, "alice", json=body), api.post(url, "bob", json=body))
    # the second sees the first's renewal: the same end is no extension any more
    assert sorted([first.status_code, second.status_code]) == [200, 422], (first.text, second.text)
    events = (await api.get("/v1/audit-events", params={"target_id": held["id"], "action": "assignment.renewed"})).json()["items"]
    assert len(events) == 1


async def test_a_renewal_asked_within_the_grace_period_can_be_approved_after_it(api: Api, clock: Clock) -> None:
    _org, held = await ending_assignment(api, clock)
    clock.advance(days=3 + 29)  # one day of grace left
    request = (await ask(api, held["id"], iso(clock.now + dt.timedelta(days=90)))).json()
    clock.advance(days=3)  # the window closed while the request waited
    assert_problem(await api.post(f"/v1/assignments/{held['id']}/extension", "alice", json={"valid_until": iso(clock.now + dt.timedelta(days=90))}), 409, "renewal-window-closed")
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    assert (await api.get(f"/v1/assignments/{held['id']}", "carol")).json()["status"] == "active"
