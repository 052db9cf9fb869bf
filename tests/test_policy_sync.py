"""Several workers, one database: policies committed through one are enforced by the others,
change by change (no reload), and a register-access decision reads only the asking user's rows."""

from __future__ import annotations

import asyncio
import re
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event, text

from eam.app import create_app
from eam.authz import sync
from eam.authz.enforcer import Authorizer
from eam.authz.policy_store import PolicyStore, prune_change_log
from eam.core.database import transaction
from tests.conftest import Api, Clock, holds_now, serve_in_process

#: A statement reading ``casbin_rule`` itself (the sync's reads of ``casbin_rule_changes`` aside).
READS_RULES = re.compile(r"\bcasbin_rule\b(?!_changes)")
#: A liveness bound only: how fast changes travel is measured by bench/scale.py, not here.
PATIENCE = 10.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not seen within {PATIENCE} s"
        await asyncio.sleep(0.02)


decide = holds_now


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
        # a change is decided on the policies as committed: no waiting for the sync
        assert (await b.post(f"/v1/access-requests/{first['id']}/approve", "alice", json={})).status_code == 200

        assert (await a.appoint(org["id"], "bob")).status_code == 201
        alice_id = await a.user_id("alice")
        removed = await a.delete(f"/v1/organisations/{org['id']}/access-managers/{alice_id}", "bob")
        assert removed.status_code == 204
        assert (await b.post(f"/v1/access-requests/{second['id']}/approve", "alice", json={})).status_code == 404
        assert (await b.post(f"/v1/access-requests/{second['id']}/approve", "bob", json={})).status_code == 200


async def test_every_kind_of_change_reaches_another_instance_without_a_reload(settings, clock: Clock) -> None:
    """Add, change, revoke, expiry and access-manager removal, seen by B through the log only."""
    worker_a = create_app(settings, clock=clock, run_housekeeping=False)
    worker_b = create_app(settings, clock=clock, run_housekeeping=False)
    async with serve_in_process(worker_a) as http_a, serve_in_process(worker_b) as http_b:
        a, b = Api(http_a), Api(http_b)
        authz_b = worker_b.state.authorizer
        loads = authz_b.batch_loads
        org = await a.organisation()
        pending = (await a.request_access(org["id"], "dave")).json()

        async def alice_reads_on_b() -> bool:  # a GET: B decides from what it has synced
            return (await b.get(f"/v1/access-requests/{pending['id']}", "alice")).status_code == 200

        assert not await alice_reads_on_b()
        await a.appoint(org["id"], "alice")
        await eventually(alice_reads_on_b, "an appointment")

        carol = await a.user_id("carol")
        assignment = await a.approved_assignment(org["id"], "carol")
        hospital, sponsor = "^data_provider/hospital$", "^sponsor/sponsor$"
        await eventually(lambda: decide(worker_b, carol, org["id"], hospital, clock.now), "a new assignment")

        changed = await a.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"profile": {"role": "sponsor", "data_level": "sponsor"}})
        assert changed.status_code == 200, changed.text
        await eventually(lambda: decide(worker_b, carol, org["id"], sponsor, clock.now), "a profile change")
        assert not await decide(worker_b, carol, org["id"], hospital, clock.now)

        ends = clock.now + dt.timedelta(days=1)
        extended = await a.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": ends.isoformat()})
        assert extended.status_code == 200, extended.text

        async def end_date_seen() -> bool:
            return not await decide(worker_b, carol, org["id"], sponsor, ends)

        await eventually(end_date_seen, "an end date")
        clock.advance(days=2)  # expiry needs no sync at all: the decision compares times
        assert not await decide(worker_b, carol, org["id"], sponsor, clock.now)
        clock.advance(days=-2)

        revoked = await a.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "left"})
        assert revoked.status_code == 200, revoked.text

        async def revoked_on_b() -> bool:
            return not await decide(worker_b, carol, org["id"], ".*", clock.now)

        await eventually(revoked_on_b, "a revocation")

        await a.appoint(org["id"], "bob")
        alice_id = await a.user_id("alice")
        assert (await a.delete(f"/v1/organisations/{org['id']}/access-managers/{alice_id}", "bob")).status_code == 204

        async def alice_refused_on_b() -> bool:
            return (await b.get(f"/v1/access-requests/{pending['id']}", "alice")).status_code == 404

        await eventually(alice_refused_on_b, "an access-manager removal")
        assert authz_b.batch_loads == loads, "B applied the changes one by one, never reloading"
        assert authz_b.version == worker_a.state.authorizer.version


async def test_an_expiry_recorded_by_the_sweep_drops_the_row_everywhere(app, api: Api, clock: Clock) -> None:
    from eam.jobs import EXPIRE_ASSIGNMENTS, EXPIRE_REQUESTS
    from tests.conftest import run_jobs

    org = await api.managed_organisation()
    carol = await api.user_id("carol")
    assignment = await api.approved_assignment(org["id"], "carol")
    ends = clock.now + dt.timedelta(hours=1)
    await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": ends.isoformat()})
    assert await decide(app, carol, org["id"], ".*", clock.now)
    clock.advance(hours=2)
    assert not await decide(app, carol, org["id"], ".*", clock.now)  # at once, before any sweep
    assert await run_jobs(app.state.services, EXPIRE_REQUESTS, EXPIRE_ASSIGNMENTS) == (0, 1)
    await eventually(lambda: _no_cached_rows(app, carol), "the expiry's log entry")


async def _no_cached_rows(app: Any, user_id: str) -> bool:
    return app.state.authorizer.cached_register_rows(f"user:{user_id}") is None


async def test_a_decision_reads_only_the_asking_users_rows(app, api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    for holder in ("carol", "dave", "erin"):
        await api.approved_assignment(org["id"], holder)
    carol, dave = await api.user_id("carol"), await api.user_id("dave")
    authz = app.state.authorizer
    for subject in (f"user:{carol}", f"user:{dave}"):
        authz._register_rows.pop(subject, None)  # start cold

    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert await decide(app, carol, org["id"], ".*", clock.now)
        cold = [entry for entry in statements if READS_RULES.search(entry[0])]
        statements.clear()
        assert await decide(app, carol, org["id"], ".*", clock.now)
        warm = [entry for entry in statements if READS_RULES.search(entry[0])]
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    assert len(cold) == 1, cold
    sql, parameters = cold[0]
    values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
    assert "v0 =" in sql.replace('"', "").replace("casbin_rule.", "") and f"user:{carol}" in values
    assert not any(f"user:{other}" in map(str, values) for other in (dave,))
    assert warm == []  # from the cache
    assert set(authz.cached_register_rows(f"user:{carol}")) == {(f"org:{org['id']}", "healthstat:HDBP0147")}
    assert authz.cached_register_rows(f"user:{dave}") is None  # never read


async def test_a_worker_far_behind_or_past_a_pruned_log_loads_in_one_batch(app, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = app.state.settings
    authz = Authorizer(settings.casbin_model_file, settings.permissions_file)  # a worker with no sync task
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        await sync.load_batch(authz, session)
    org = await api.organisation()
    monkeypatch.setattr(sync, "BATCH_AFTER", 2)

    async def caught_up() -> int:
        async with transaction(app.state.sessionmaker, read_only=True) as session:
            before = authz.batch_loads
            await sync.catch_up(authz, session)
            return authz.batch_loads - before

    await api.appoint(org["id"], "alice")
    assert await caught_up() == 0  # one change: applied as such
    alice = await api.user_id("alice")
    assert authz.allows(f"user:{alice}", f"org:{org['id']}", "access_request", "approve")
    for manager in ("bob", "erin", "dave"):
        await api.appoint(org["id"], manager)
    assert await caught_up() == 1  # three changes behind, more than BATCH_AFTER
    assert authz.version == app.state.authorizer.version
    assert authz.allows(f"user:{await api.user_id('erin')}", f"org:{org['id']}", "access_request", "approve")

    async with transaction(app.state.sessionmaker) as session:  # the log pruned past the worker
        await PolicyStore(session).appoint_platform_admin(uuid.UUID(alice))
        for _ in range(3):
            await PolicyStore(session).appoint_access_manager(uuid.UUID(alice), uuid.uuid4())
        await prune_change_log(session, keep=sync.BATCH_AFTER + 1)  # pruning keeps more than BATCH_AFTER
    assert await caught_up() == 1
    assert authz.allows(f"user:{alice}", "platform", "organisation", "create")

    async with transaction(app.state.sessionmaker) as session:  # a bulk change: version moves, no log
        await session.execute(text("DELETE FROM casbin_rule WHERE v0 = :subject AND v1 = 'role:platform_admin'"), {"subject": f"user:{alice}"})
        await PolicyStore(session).record_bulk_change()
    assert await caught_up() == 1
    assert not authz.allows(f"user:{alice}", "platform", "organisation", "create")
    assert await caught_up() == 0


async def test_a_rolled_back_change_is_never_applied(app, api: Api) -> None:
    authz = app.state.authorizer
    org = await api.organisation()
    carol = uuid.UUID(await api.user_id("carol"))
    version = authz.version
    with pytest.raises(RuntimeError):
        async with transaction(app.state.sessionmaker) as session:
            await PolicyStore(session).appoint_access_manager(carol, uuid.UUID(org["id"]))
            raise RuntimeError("the request failed after the policy write")
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        await sync.catch_up(authz, session)
    assert authz.version == version
    assert not authz.allows(f"user:{carol}", f"org:{org['id']}", "access_request", "approve")


def test_two_eam_serve_nodes_on_postgresql_enforce_each_others_changes(postgres_database: str, tmp_path) -> None:
    """Two processes, two ports, one PostgreSQL: appointments, removals and revocations made on
    one node are enforced by the other (NOTIFY wakes it), with no restart."""
    import asyncio as aio

    from tests.conftest import reset_postgres
    from tests.test_operations import EamServe

    aio.run(reset_postgres(postgres_database))
    env = {"EAM_DATABASE_URL": postgres_database, "EAM_LOG_LEVEL": "WARNING"}
    one = EamServe(tmp_path, **env)
    two = EamServe(tmp_path, "--no-migrate", **env)
    try:
        org = one.call("POST", "/v1/organisations", "admin", json={"name": "AZ Groeninge", "nihdi": "71000535"}).json()
        pending = one.call("POST", "/v1/access-requests", "carol", json={
            "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147",
            "profile": {"role": "data_provider", "data_level": "hospital"}, "justification": "INTEGO reports",
        }).json()
        seen = lambda user: two.call("GET", f"/v1/access-requests/{pending['id']}", user).status_code  # noqa: E731
        assert seen("alice") == 404
        alice = one.call("GET", "/v1/me", "alice").json()["id"]
        assert one.call("POST", f"/v1/organisations/{org['id']}/access-managers", "admin", json={"user_id": alice}).status_code == 201
        _until(lambda: seen("alice") == 200, "an appointment on node one, read on node two")

        approved = two.call("POST", f"/v1/access-requests/{pending['id']}/approve", "alice", json={})
        assert approved.status_code == 200, approved.text
        assignment = approved.json()["assignment_id"]
        erin = one.call("GET", "/v1/me", "erin").json()["id"]
        assert one.call("POST", f"/v1/organisations/{org['id']}/access-managers", "admin", json={"user_id": erin}).status_code == 201
        assert two.call("DELETE", f"/v1/organisations/{org['id']}/access-managers/{alice}", "erin").status_code == 204
        _until(lambda: one.call("GET", f"/v1/assignments/{assignment}", "alice").status_code == 404, "a removal on node two, read on node one")
        revoked = one.call("POST", f"/v1/assignments/{assignment}/revoke", "erin", json={"reason": "left"})
        assert revoked.status_code == 200, revoked.text
        assert two.call("POST", "/v1/grant-tokens", "carol", json={"application": "healthstat"}).status_code == 403
    finally:
        one.stop()
        two.stop()


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        assert time.monotonic() < deadline, f"{what}: not seen within {PATIENCE} s"
        time.sleep(0.02)


async def test_changes_committed_out_of_order_are_all_applied(postgres_database: str) -> None:
    """PostgreSQL hands out log numbers without a lock: a writer holding number n can commit
    after the writer holding n + 1. A worker that read n + 1 first still applies n later."""
    from eam.core.database import create_engine, make_sessionmaker
    from eam.core.settings import Settings
    from tests.conftest import reset_postgres

    await reset_postgres(postgres_database)
    settings = Settings(database_url=postgres_database)
    engine = create_engine(postgres_database)
    sessionmaker = make_sessionmaker(engine)
    authz = Authorizer(settings.casbin_model_file, settings.permissions_file)
    try:
        async with transaction(sessionmaker, read_only=True) as session:
            await sync.load_batch(authz, session)
        slow_user, fast_user, org = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        slow = sessionmaker()
        await slow.begin()
        await PolicyStore(slow).appoint_access_manager(slow_user, org)  # takes number n, commits last
        async with transaction(sessionmaker) as fast:
            await PolicyStore(fast).appoint_access_manager(fast_user, org)  # n + 1, committed first
        async with transaction(sessionmaker, read_only=True) as session:
            await sync.catch_up(authz, session)
        assert authz.allows(f"user:{fast_user}", f"org:{org}", "access_request", "approve")
        assert not authz.allows(f"user:{slow_user}", f"org:{org}", "access_request", "approve")
        await slow.commit()
        await slow.close()
        async with transaction(sessionmaker, read_only=True) as session:
            await sync.catch_up(authz, session)  # number n was a hole: read again
        assert authz.allows(f"user:{slow_user}", f"org:{org}", "access_request", "approve")
        assert authz.batch_loads == 1
    finally:
        await engine.dispose()


def test_a_role_change_drops_only_that_subjects_cached_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    from eam.core.settings import Settings

    settings = Settings()
    authz = Authorizer(settings.casbin_model_file, settings.permissions_file)
    alice, bob = "user:alice", "user:bob"
    authz.reset_subject(bob, [("g", [bob, "role:access_manager", "org:1"])])
    assert not authz.allows(alice, "org:1", "access_request", "approve")
    assert authz.allows(bob, "org:1", "access_request", "approve")

    authz.reset_subject(alice, [("g", [alice, "role:access_manager", "org:1"])])  # alice appointed
    asked: list[tuple[str, ...]] = []
    enforce = authz._enforcer.enforce
    monkeypatch.setattr(authz._enforcer, "enforce", lambda *request: asked.append(request) or enforce(*request))
    assert authz.allows(alice, "org:1", "access_request", "approve")  # decided again
    assert authz.allows(bob, "org:1", "access_request", "approve")  # still cached
    assert asked == [(alice, "org:1", "access_request", "approve")]

    authz.reset_subject(bob, [])  # bob removed
    assert not authz.allows(bob, "org:1", "access_request", "approve")
    assert authz.allows(alice, "org:1", "access_request", "approve")
    assert asked == [(alice, "org:1", "access_request", "approve"), (bob, "org:1", "access_request", "approve")]
