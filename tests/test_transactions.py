"""One transaction per request: the decision, its Casbin row and its audit event commit or vanish together."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from eam.assignments.models import Assignment
from eam.audit.models import AuditEvent
from eam.authz.models import PolicyVersion
from eam.authz.policy_store import PolicyStore
from tests.conftest import Api, casbin_rows


class KilledHalfway(Exception):
    pass


async def _counts(app) -> dict[str, int]:
    async with app.state.sessionmaker() as session:
        return {
            "assignments": await session.scalar(select(func.count()).select_from(Assignment)),
            "audit": await session.scalar(select(func.count()).select_from(AuditEvent)),
            "version": await session.scalar(select(PolicyVersion.version)),
        }


@pytest.fixture
def kill_after_policy_write(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Fault injection: the policy row is really written, then the request dies."""
    written: list[list[str]] = []
    original = PolicyStore._add

    async def add_then_die(self: PolicyStore, rules: list[tuple[str, list[str]]], removed: Any = None) -> None:
        await original(self, rules, removed)
        written.extend([ptype, *values] for ptype, values in rules)
        raise KilledHalfway("killed after the policy write")

    monkeypatch.setattr(PolicyStore, "_add", add_then_die)
    return written


async def test_approval_killed_after_policy_write_rolls_back_both_sides(
    api: Api, app, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    org = await api.managed_organisation()
    access_request = (await api.request_access(org["id"])).json()
    before = await _counts(app)
    rows_before = await casbin_rows(app)

    written = request.getfixturevalue("kill_after_policy_write")
    response = await api.post(f"/v1/access-requests/{access_request['id']}/approve", "alice", json={})
    monkeypatch.undo()

    assert response.status_code == 500
    assert response.json()["type"] == "urn:eam:problem:server-error"
    assert written and written[0][0] == "p2"  # the policy row had been written inside the transaction
    assert await casbin_rows(app) == rows_before
    assert await _counts(app) == before
    shown = await api.get(f"/v1/access-requests/{access_request['id']}", "alice")
    assert shown.json()["status"] == "pending"
    assert shown.json()["assignment_id"] is None
    # and the request can still be approved normally afterwards
    assert (await api.post(f"/v1/access-requests/{access_request['id']}/approve", "alice", json={})).status_code == 200
    assert len(await casbin_rows(app, "p2")) == 1


async def test_appointment_killed_after_policy_write_leaves_no_access_manager(
    api: Api, app, kill_after_policy_write: list[list[str]]
) -> None:
    org = await api.organisation()
    response = await api.appoint(org["id"], "alice")
    assert response.status_code == 500
    assert kill_after_policy_write and kill_after_policy_write[0][0] == "g"
    assert await casbin_rows(app, "g") == []
    listed = await api.get(f"/v1/organisations/{org['id']}/access-managers")
    assert listed.json()["items"] == []


async def test_refused_and_failed_requests_return_their_connection(api: Api, app) -> None:
    """401 before any database work, 4xx after it, 500 halfway: no connection stays checked out."""
    org = await api.managed_organisation()
    bad_token = await api.client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad_token.status_code == 401
    bad_query = await api.get("/v1/access-requests?limit=0", "carol")
    assert bad_query.status_code == 422
    forbidden = await api.post("/v1/organisations", "carol", json={"name": "X", "nihdi": "12345678"})
    assert forbidden.status_code == 403
    conflict = await api.delete(f"/v1/organisations/{org['id']}/access-managers/{await api.user_id('alice')}")
    assert conflict.status_code == 409
    assert app.state.engine.pool.checkedout() == 0
