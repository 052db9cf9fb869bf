"""An assignment's history: every version, who changed it, when and why, oldest first."""

from __future__ import annotations

from tests.conftest import Api, Clock, assert_problem


async def test_every_version_with_who_when_and_why(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "bob", by="alice")
    held = await api.approved_assignment(org["id"])
    clock.advance(days=1)
    changed = await api.patch(
        f"/v1/assignments/{held['id']}", "bob", json={"profile": {"role": "data_provider", "data_level": "individual"}, "comment": "less is enough"}
    )
    assert changed.status_code == 200, changed.text
    clock.advance(days=1)
    await api.post(f"/v1/assignments/{held['id']}/revoke", "alice", json={"reason": "left the study team"})

    response = await api.get(f"/v1/assignments/{held['id']}/history", "carol")  # the holder reads it too
    assert response.status_code == 200, response.text
    versions = response.json()
    assert [v["action"] for v in versions] == ["assignment.created", "assignment.changed", "assignment.revoked"]
    assert [v["by"]["display_name"] for v in versions] == ["alice", "bob", "alice"]
    assert [v["profile"]["data_level"] for v in versions] == ["hospital", "individual", "individual"]
    assert [v["status"] for v in versions] == ["active", "active", "revoked"]
    assert [v["reason"] for v in versions] == [None, "less is enough", "left the study team"]
    assert versions[0]["at"] < versions[1]["at"] < versions[2]["at"]


async def test_only_who_may_read_the_assignment(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    held = await api.approved_assignment(org["id"])
    assert_problem(await api.get(f"/v1/assignments/{held['id']}/history", "bob"), 404, "not-found")
    assert_problem(await api.get(f"/v1/assignments/{held['id']}/history", "dave"), 404, "not-found")
