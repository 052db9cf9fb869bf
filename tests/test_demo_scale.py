"""``eam demo-data --scale N``: seeded data on top of the demo data, on SQLite and PostgreSQL.

Checked: counts; every live assignment has exactly one ``p2`` row and no ``p2`` row lacks one;
every appointed access manager has its ``g`` row; every reference points at a row (PostgreSQL
loads without row-by-row foreign-key checks); numbers pass EAM's own checks; the demo users
work as before; a seeded employee and a seeded access manager work through the API; a second
run adds as much again; the policy version moves, so running workers load in one batch.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from eam.authz import sync
from eam.catalogue.loader import load_catalogue_file
from eam.catalogue.service import Catalogue
from eam.cli import main
from eam.core.database import create_engine, make_sessionmaker, transaction
from eam.demo import load_demo_data
from eam.runtime import build_services
from eam.organisations.numbers import normalise_kbo, normalise_nihdi
from eam.seed.run import scale_demo_data
from eam.core.settings import Settings
from tests.conftest import Api, auth

N = 500


def catalogue(settings: Settings) -> Catalogue:
    return Catalogue(load_catalogue_file(settings.catalogue_file))


async def load_demo(app, settings: Settings, clock) -> None:
    assert await load_demo_data(build_services(settings, app.state.sessionmaker, clock))


async def scale(app, settings: Settings, clock, n: int = N, seed: int = 7):
    return await scale_demo_data(app.state.sessionmaker, settings, catalogue(settings), scale=n, seed=seed, clock=clock)


async def catch_up(app) -> None:
    """What the worker's policy sync does on its next round (reads do not wait for it)."""
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        await sync.catch_up(app.state.authorizer, session)


async def rows(app, sql: str, **params) -> list[tuple]:
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        return [tuple(row) for row in await session.execute(text(sql), params)]


async def count(app, table: str, where: str = "true", **params) -> int:
    return (await rows(app, f"SELECT count(*) FROM {table} WHERE {where}", **params))[0][0]


def live(now: dt.datetime) -> str:
    return "status = 'active' AND (valid_until IS NULL OR valid_until > :now)"


async def check_consistency(app, now: dt.datetime) -> None:
    # Every live assignment has exactly one p2 row, keyed user x org x application:register, and
    # no p2 row stands without one.
    assignments = await rows(app, f"SELECT user_id, organisation_id, application, register_code FROM assignments WHERE {live(now)}", now=now)
    keys = Counter((f"user:{_uuid(u)}", f"org:{_uuid(o)}", f"{a}:{r}") for u, o, a, r in assignments)
    p2 = Counter(await rows(app, "SELECT v0, v1, v2 FROM casbin_rule WHERE ptype = 'p2'"))
    assert max(keys.values()) == 1 and max(p2.values()) == 1
    assert set(keys) == set(p2)
    # Every access manager has its g row, and every g row of an organisation its appointment.
    managers = {(f"user:{_uuid(u)}", f"org:{_uuid(o)}") for u, o in await rows(app, "SELECT user_id, organisation_id FROM access_managers")}
    g = {(v0, v2) for v0, v2 in await rows(app, "SELECT v0, v2 FROM casbin_rule WHERE ptype = 'g' AND v1 = 'role:access_manager'")}
    assert managers == g
    assert not await rows(app, "SELECT o.id FROM organisations o LEFT JOIN access_managers m ON m.organisation_id = o.id WHERE m.user_id IS NULL")
    # Every assignment comes from an approved request decided by an access manager of its organisation.
    assert not await rows(
        app,
        """SELECT a.id FROM assignments a LEFT JOIN access_requests r ON r.id = a.request_id
           LEFT JOIN access_managers m ON m.organisation_id = r.organisation_id AND m.user_id = r.decided_by
           WHERE r.id IS NULL OR r.status <> 'approved' OR m.user_id IS NULL OR r.assignment_id <> a.id
              OR r.organisation_id <> a.organisation_id OR r.requester_id <> a.user_id""",
    )
    # Every reference points at a row (PostgreSQL loads without row-by-row foreign-key checks).
    for table, column, target in (
        ("assignments", "user_id", "users"), ("assignments", "organisation_id", "organisations"),
        ("assignments", "created_by", "users"), ("assignments", "revoked_by", "users"),
        ("access_requests", "requester_id", "users"), ("access_requests", "organisation_id", "organisations"),
        ("access_requests", "decided_by", "users"), ("access_managers", "user_id", "users"),
        ("access_managers", "organisation_id", "organisations"), ("access_managers", "appointed_by", "users"),
        ("registers", "created_by", "users"),
    ):
        orphans = await rows(app, f"SELECT x.{column} FROM {table} x LEFT JOIN {target} t ON t.{'code' if target == 'registers' else 'id'} = x.{column} WHERE x.{column} IS NOT NULL AND t.{'code' if target == 'registers' else 'id'} IS NULL")
        assert not orphans, (table, column)
    # At most one pending request per user x organisation x application x register, none for a live assignment.
    assert not await rows(
        app,
        """SELECT r.id FROM access_requests r JOIN assignments a ON a.user_id = r.requester_id AND a.organisation_id = r.organisation_id
            AND a.application = r.application AND a.register_code = r.register_code
            WHERE r.status = 'pending' AND a.status = 'active' AND (a.valid_until IS NULL OR a.valid_until > :now)""",
        now=now,
    )
    # Numbers pass EAM's own checks.
    for nihdi, kbo in await rows(app, "SELECT nihdi, kbo FROM organisations"):
        assert normalise_nihdi(nihdi) == nihdi and (kbo is None or normalise_kbo(kbo) == kbo)


def _uuid(value: object) -> str:
    """A UUID column as PostgreSQL (uuid) or SQLite (32 hex digits) returns it, in canonical form."""
    import uuid

    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


async def test_scaled_data_is_consistent_and_the_demo_and_seeded_users_work(app, api: Api, settings: Settings, clock) -> None:
    await load_demo(app, settings, clock)
    authz = app.state.authorizer
    await catch_up(app)  # the worker is in step with the demo data
    loads, generation = authz.batch_loads, authz.position.generation
    before = {table: await count(app, table) for table in ("assignments", "access_requests", "audit_events", "organisations")}

    summary = await scale(app, settings, clock)
    assert summary.added["assignments"] == N
    assert await count(app, "assignments") == before["assignments"] + N
    assert summary.added["organisations"] == await count(app, "organisations") - before["organisations"] >= 3
    assert summary.added["access_requests"] == await count(app, "access_requests") - before["access_requests"] > N
    for action, at_least in (("access_request.submitted", summary.added["access_requests"]), ("access_request.approved", N), ("assignment.created", N)):
        assert await count(app, "audit_events", "action = :action", action=action) >= at_least
    statuses = dict(await rows(app, "SELECT status, count(*) FROM access_requests GROUP BY status"))
    assert {"approved", "pending", "rejected", "withdrawn"} <= set(statuses)
    now = clock()
    assert await count(app, "assignments", "status = 'active' AND valid_from > :now", now=now) > 0  # scheduled
    assert await count(app, "assignments", "status = 'revoked'") > 0 and await count(app, "assignments", "status = 'expired'") > 0
    await check_consistency(app, now)

    # The bulk-change generation moved: the worker loads in one batch when it catches up.
    assert (await rows(app, "SELECT version FROM policy_version"))[0][0] == generation + 1
    await catch_up(app)
    assert authz.batch_loads == loads + 1 and authz.position.generation == generation + 1

    # The demo users work exactly as before: alice sees only her organisation's pending demo request.
    pending = await api.get("/v1/access-requests?status=pending", "alice")
    assert [item["requester"]["display_name"] for item in pending.json()["items"]] == ["Dave Employee"]
    approved = await api.post(f"/v1/access-requests/{pending.json()['items'][0]['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    carol = await api.get("/v1/me", "carol")
    assert carol.status_code == 200 and carol.json()["assignments"] == []
    assert (await api.get("/v1/me", "dave")).json()["assignments"][0]["register"] == "HDBP0147"
    assert (await api.post("/v1/grant-tokens", "dave", json={"application": "healthstat"})).status_code == 200
    assert (await api.get("/v1/organisations?q=71000436", "carol")).json()["items"][0]["name"] == "AZ Sint-Jan Brugge"

    # A seeded employee is a dev-token user: act as them and get a grant token for what they hold.
    subject = summary.example[0]
    me = await api.client.get("/v1/me", headers=auth(subject))
    assert me.status_code == 200 and me.json()["id"] is not None
    application = summary.example[1].split()[0]
    grant = await api.client.post("/v1/grant-tokens", headers=auth(subject), json={"application": application})
    assert grant.status_code == 200, grant.text

    # A seeded access manager decides a seeded pending request of their organisation.
    request_id, manager = (
        await rows(
            app,
            """SELECT r.id, u.subject FROM access_requests r JOIN access_managers m ON m.organisation_id = r.organisation_id
               JOIN users u ON u.id = m.user_id WHERE r.status = 'pending' AND r.requester_id <> m.user_id
               AND r.expires_at > :now ORDER BY u.subject LIMIT 1""",
            now=now,
        )
    )[0]
    decided = await api.client.post(f"/v1/access-requests/{_uuid(request_id)}/reject", headers=auth(manager), json={"reason": "checked in the seed test"})
    assert decided.status_code == 200, decided.text
    await check_consistency(app, clock())


async def test_a_second_run_adds_as_much_again(app, client, settings: Settings, clock) -> None:
    await load_demo(app, settings, clock)
    tables = ("organisations", "users", "access_managers", "registers", "access_requests", "assignments", "casbin_rule", "audit_events")
    demo = {table: await count(app, table) for table in tables}
    first = await scale(app, settings, clock, n=300)
    after_first = {table: await count(app, table) for table in tables}
    second = await scale(app, settings, clock, n=300)
    after_second = {table: await count(app, table) for table in tables}
    assert (first.run, second.run) == (1, 2)
    assert after_second["assignments"] - demo["assignments"] == 600
    for table in tables:
        run_event = 1 if table == "audit_events" else 0  # each run records itself: demo_data.scaled
        assert after_first[table] - demo[table] == first.added[table] + run_event
        assert after_second[table] - after_first[table] == second.added[table] + run_event
        assert first.added[table] > 0 and second.added[table] > 0
    # A different run draws different data: new people, organisations and numbers.
    assert await count(app, "users", "subject LIKE '%.2-%'") == second.added["users"]
    await check_consistency(app, clock())


def test_the_command_loads_the_demo_data_first_and_prints_a_summary(database_url: str, monkeypatch) -> None:
    monkeypatch.setenv("EAM_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["demo-data", "--scale", "200", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "assignments      +      200" in result.output
    assert "eam dev-token " in result.output

    async def demo_users() -> list[str]:
        engine = create_engine(database_url)
        try:
            async with transaction(make_sessionmaker(engine), read_only=True) as session:
                return sorted((await session.scalars(text("SELECT subject FROM users WHERE subject NOT LIKE '%.%'"))).all())
        finally:
            await engine.dispose()

    import asyncio

    assert asyncio.run(demo_users()) == ["admin", "alice", "bob", "carol", "dave", "dora", "erin"]


async def test_the_same_seed_on_the_same_data_gives_the_same_data(sqlite_template: Path, tmp_path: Path, clock) -> None:
    names = []
    for index in range(2):
        path = tmp_path / f"copy{index}.db"
        shutil.copy(sqlite_template, path)
        settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", platform_admins=("admin",), expiry_sweep_seconds=0)
        engine = create_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await load_demo_data(build_services(settings, sessionmaker, clock))
            await scale_demo_data(sessionmaker, settings, catalogue(settings), scale=200, seed=5, clock=clock)
            async with transaction(sessionmaker, read_only=True) as session:
                names.append(
                    [tuple(row) for row in await session.execute(text("SELECT nihdi, kbo, name FROM organisations ORDER BY nihdi"))]
                    + [tuple(row) for row in await session.execute(text("SELECT subject, email FROM users ORDER BY subject"))]
                    + [tuple(row) for row in await session.execute(text("SELECT v0, v2, v3 FROM casbin_rule WHERE ptype = 'p2' ORDER BY v0, v2"))]
                )
        finally:
            await engine.dispose()
    assert names[0] == names[1]
