"""Several workers, one database: a policy committed through one is enforced by the others at once."""

from __future__ import annotations

from eam.app import create_app
from tests.conftest import Api, serve_in_process


async def test_policy_change_in_one_instance_is_enforced_by_another(settings, clock) -> None:
    worker_a = create_app(settings, clock=clock, run_housekeeping=False)
    worker_b = create_app(settings, clock=clock, run_housekeeping=False)
    async with serve_in_process(worker_a) as http_a, serve_in_process(worker_b) as http_b:
        a, b = Api(http_a), Api(http_b)
        org = await a.organisation()
        first = (await b.request_access(org["id"], "carol")).json()
        second = (await b.request_access(org["id"], "dave")).json()
        # worker B has built its enforcer already; there alice is nobody yet and sees nothing
        assert (await b.post(f"/v1/access-requests/{first['id']}/approve", "alice", json={})).status_code == 404

        assert (await a.appoint(org["id"], "alice")).status_code == 201
        assert (await b.post(f"/v1/access-requests/{first['id']}/approve", "alice", json={})).status_code == 200

        assert (await a.appoint(org["id"], "bob")).status_code == 201
        alice_id = await a.user_id("alice")
        removed = await a.delete(f"/v1/organisations/{org['id']}/access-managers/{alice_id}", "bob")
        assert removed.status_code == 204
        assert (await b.post(f"/v1/access-requests/{second['id']}/approve", "alice", json={})).status_code == 404
        assert (await b.post(f"/v1/access-requests/{second['id']}/approve", "bob", json={})).status_code == 200
