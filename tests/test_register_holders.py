"""Who could see a register at a moment: correct before and after grants, changes, revocations,
expiries and grants again (a scripted history, asked about between each step)."""

from __future__ import annotations

import datetime as dt

from tests.conftest import Api, Clock, assert_problem


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def held(api: Api, moment: dt.datetime | None, user: str = "admin") -> list[tuple[str, str, str | None]]:
    params = {"as_of": iso(moment)} if moment else {}
    response = await api.get("/v1/registers/HDBP0147/holders", user, params=params)
    assert response.status_code == 200, response.text
    return sorted((h["person"]["display_name"], h["profile"]["data_level"], h["granted_by"]["display_name"] if h["granted_by"] else None) for h in response.json()["items"])


async def test_holders_at_each_moment_of_a_scripted_history(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation("alice")
    before_anything = clock()
    clock.advance(hours=1)
    carol_request = (await api.request_access(org["id"], "carol", justification="I report on our hospital's registrations.")).json()
    first = (await api.post(f"/v1/access-requests/{carol_request['id']}/approve", "alice", json={})).json()
    dave_request = (await api.request_access(org["id"], "dave")).json()
    dave_ends = clock() + dt.timedelta(days=2, hours=12)
    await api.post(f"/v1/access-requests/{dave_request['id']}/approve", "alice", json={"valid_until": iso(dave_ends)})
    clock.advance(hours=1)
    granted = clock()
    clock.advance(days=1)
    await api.patch(f"/v1/assignments/{first['assignment_id']}", "alice", json={"profile": {"role": "data_provider", "data_level": "individual"}})
    clock.advance(hours=1)
    changed = clock()
    clock.advance(days=2)  # dave's access ends meanwhile (no sweep needed to know it)
    after_expiry = clock()
    clock.advance(hours=1)
    await api.post(f"/v1/assignments/{first['assignment_id']}/revoke", "alice", json={"reason": "left the study team"})
    clock.advance(hours=1)
    revoked = clock()
    clock.advance(days=1)
    again = await api.request_access(org["id"], "carol", profile={"role": "sponsor", "data_level": "sponsor"})
    await api.post(f"/v1/access-requests/{again.json()['id']}/approve", "alice", json={})
    clock.advance(hours=1)

    assert await held(api, before_anything) == []
    assert await held(api, granted) == [("carol", "hospital", "alice"), ("dave", "hospital", "alice")]
    assert await held(api, changed) == [("carol", "individual", "alice"), ("dave", "hospital", "alice")]
    assert await held(api, after_expiry) == [("carol", "individual", "alice")]
    assert await held(api, revoked) == []
    assert await held(api, None) == [("carol", "sponsor", "alice")]
    # what a DPO needs in one answer: organisation, approver, justification, the assignment
    now = (await api.get("/v1/registers/HDBP0147/holders", "alice", params={"as_of": iso(granted)})).json()["items"]
    carol = next(h for h in now if h["person"]["display_name"] == "carol")
    assert carol["organisation"]["nihdi"] == "71000436" and carol["assignment_id"] == first["assignment_id"]
    assert carol["justification"] == "I report on our hospital's registrations."
    assert "national_number" not in str(now)


async def test_who_may_ask(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.approved_assignment(brugge["id"])
    assert await held(api, None, "bob") == []  # another organisation's holders are not shown
    assert [name for name, *_ in await held(api, None, "alice")] == ["carol"]
    assert_problem(await api.get("/v1/registers/HDBP0147/holders", "carol"), 403, "forbidden")
    assert_problem(await api.get("/v1/registers/NOPE0001/holders"), 404, "not-found")
    assert_problem(await api.get("/v1/registers/HDBP0147/holders", params={"as_of": "2030-01-01T00:00:00"}), 422, "validation-error")
