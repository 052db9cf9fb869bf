"""Compare-and-set decisions: of many concurrent deciders exactly one wins, the rest get 409."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from eam.assignments.models import Assignment
from tests.conftest import Api, casbin_rows

DECIDERS = 12


async def test_concurrent_approvals_and_rejections_have_exactly_one_winner(api: Api, app) -> None:
    org = await api.managed_organisation()
    for manager in ("bob", "erin"):
        assert (await api.appoint(org["id"], manager)).status_code == 201
    request = (await api.request_access(org["id"])).json()
    managers = ("alice", "bob", "erin")

    async def decide(index: int):
        manager = managers[index % len(managers)]
        if index % 2:
            return await api.post(f"/v1/access-requests/{request['id']}/reject", manager, json={"reason": f"no, from {index}"})
        return await api.post(f"/v1/access-requests/{request['id']}/approve", manager, json={"comment": f"yes, from {index}"})

    responses = await asyncio.gather(*(decide(i) for i in range(DECIDERS)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (DECIDERS - 1), [r.text for r in responses if r.status_code not in (200, 409)]
    loser_types = {r.json()["type"] for r in responses if r.status_code == 409}
    assert loser_types <= {"urn:eam:problem:request-not-pending", "urn:eam:problem:conflict"}

    winner = next(r for r in responses if r.status_code == 200).json()
    final = (await api.get(f"/v1/access-requests/{request['id']}", "alice")).json()
    assert final["status"] == winner["status"]
    async with app.state.sessionmaker() as session:
        assignments = await session.scalar(select(func.count()).select_from(Assignment))
    p2_rows = await casbin_rows(app, "p2")
    if winner["status"] == "approved":
        assert (assignments, len(p2_rows)) == (1, 1)
    else:
        assert (assignments, len(p2_rows)) == (0, 0)
    decided = (await api.get(f"/v1/audit-events?target_id={request['id']}", "admin")).json()["items"]
    assert [e["action"] for e in decided].count(f"access_request.{winner['status']}") == 1


async def test_concurrent_approvals_create_one_assignment_and_one_policy_row(api: Api, app) -> None:
    org = await api.managed_organisation()
    assert (await api.appoint(org["id"], "bob")).status_code == 201
    request = (await api.request_access(org["id"])).json()
    responses = await asyncio.gather(
        *(api.post(f"/v1/access-requests/{request['id']}/approve", ("alice", "bob")[i % 2], json={}) for i in range(DECIDERS))
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * (DECIDERS - 1)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Assignment)) == 1
    assert len(await casbin_rows(app, "p2")) == 1
