"""The audit trail's hash chain: built across concurrent commits, checked by ``eam audit verify``
(which names the first broken event after tampering), kept by the migration, and exported as
JSON Lines that anyone can check without EAM (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from sqlalchemy import func, select, text

from eam.audit import export as audit_export
from eam.audit.models import AuditEvent
from eam.audit.verify import CONTENT_CHANGED, LINK_BROKEN, MISSING_EVENT, verify_chain
from eam.cli import main
from eam.core.audit_chain import GENESIS, event_hash, instant
from tests.conftest import Api, Clock, assert_problem

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{op.lower()} BEFORE {op} ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for op in ("UPDATE", "DELETE")
]


async def stored(app: Litestar) -> list[Any]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(*AuditEvent.__table__.c).order_by(AuditEvent.id))).all())


async def tamper(app: Litestar, *statements: str, **params: Any) -> None:
    """What a DBA with table access could do: set the append-only trigger aside, change rows."""
    async with app.state.sessionmaker() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:
            await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        else:
            await session.execute(text("DROP TRIGGER audit_events_no_update"))
            await session.execute(text("DROP TRIGGER audit_events_no_delete"))
        for statement in statements:
            await session.execute(text(statement), params)
        if postgresql:
            await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        else:
            for statement in SQLITE_TRIGGERS:
                await session.execute(text(statement))
        await session.commit()


def run_verify(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("EAM_DATABASE_URL", database_url)
    return CliRunner().invoke(main, ["audit", "verify", *args])


async def some_history(api: Api) -> dict[str, Any]:
    """An organisation with a manager, an approved request, a rejected one: a dozen events."""
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"], "carol")
    submitted = await api.request_access(org["id"], "dave")
    assert (await api.post(f"/v1/access-requests/{submitted.json()['id']}/reject", "alice", json={"reason": "not on the study team"})).status_code == 200
    return org


def assert_chain_is_whole(rows: list[Any]) -> None:
    assert rows, "no events"
    assert [row.id for row in rows] == list(range(rows[0].id, rows[0].id + len(rows)))
    prev = GENESIS
    for row in rows:
        assert row.prev_hash == prev
        assert row.hash == event_hash(row._mapping, row.prev_hash)
        prev = row.hash


async def test_concurrent_commits_extend_one_chain_in_id_order(api: Api, app: Litestar, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    org = await api.managed_organisation()
    assert (await api.appoint(org["id"], "bob")).status_code == 201
    people = ["carol", "dave", "erin", "frank", "grace", "heidi"]
    requests = [(await api.request_access(org["id"], person)).json()["id"] for person in people]
    approvals = [api.post(f"/v1/access-requests/{rid}/approve", ("alice", "bob")[i % 2], json={}) for i, rid in enumerate(requests)]
    creations = [api.post("/v1/organisations", json={"name": f"Ziekenhuis {i}", "nihdi": f"7100{i:04d}"}) for i in range(8)]
    responses = await asyncio.gather(*approvals, *creations)
    assert sorted(r.status_code for r in responses) == [200] * len(approvals) + [201] * len(creations), [r.text for r in responses]

    rows = await stored(app)
    assert_chain_is_whole(rows)
    # each approval wrote its decision and the assignment it created, next to each other
    actions = [row.action for row in rows]
    assert actions.count("access_request.approved") == len(people) and actions.count("organisation.created") == 9
    for index, action in enumerate(actions):
        if action == "access_request.approved":
            assert actions[index + 1] == "assignment.created"

    result = await verify_chain(app.state.sessionmaker, batch=4)
    assert result.intact and result.events == len(rows) and result.head_id == rows[-1].id
    cli = await asyncio.to_thread(run_verify, database_url, monkeypatch)
    assert cli.exit_code == 0, cli.output
    assert f"audit chain intact: {len(rows)} events, ids {rows[0].id} to {rows[-1].id}" in cli.output
    assert f"head {rows[-1].id}:{rows[-1].hash}" in cli.output


async def test_a_bulk_decision_writes_its_events_once_despite_its_savepoints(api: Api, app: Litestar) -> None:
    org = await api.managed_organisation()
    ids = [(await api.request_access(org["id"], person)).json()["id"] for person in ("carol", "dave")]
    decided = await api.post("/v1/access-requests/approvals", "alice", json={"ids": [*ids, str(uuid.uuid4())]})
    assert decided.status_code == 200, decided.text
    rows = await stored(app)
    assert_chain_is_whole(rows)
    assert [row.action for row in rows].count("assignment.created") == 2
    assert len({(row.action, row.target_id) for row in rows}) == len(rows)


async def test_demo_data_at_scale_extends_the_chain(api: Api, app: Litestar, settings: Any, clock: Clock) -> None:
    """The seed writes its events in bulk (COPY on PostgreSQL), chained in the batches it prepares,
    after the events already there, and its own summary event after them at commit."""
    from eam.catalogue.loader import load_catalogue_file
    from eam.catalogue.service import Catalogue
    from eam.seed.run import scale_demo_data

    await api.managed_organisation()
    before = len(await stored(app))
    await scale_demo_data(app.state.sessionmaker, settings, Catalogue(load_catalogue_file(settings.catalogue_file)), scale=300, seed=5, clock=clock)
    await api.post("/v1/organisations", json={"name": "UZ Leuven", "nihdi": "71000931"})
    rows = await stored(app)
    assert len(rows) > before + 300
    assert_chain_is_whole(rows)
    assert [row.action for row in rows[-2:]] == ["demo_data.scaled", "organisation.created"]


def _expected_line(row: Any, problem: str) -> str:
    return f"audit chain BROKEN at event {row.id} ({row.action}, {instant(row.occurred_at)}): {problem}"


async def test_verify_names_an_event_whose_field_was_changed(api: Api, app: Litestar, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await some_history(api)
    rows = await stored(app)
    victim = rows[4]
    await tamper(app, "UPDATE audit_events SET actor = 'Mallory <mallory>' WHERE id = :id", id=victim.id)
    cli = await asyncio.to_thread(run_verify, database_url, monkeypatch)
    assert cli.exit_code == 1, cli.output
    assert _expected_line(victim, CONTENT_CHANGED) in cli.output
    assert f"{victim.id - rows[0].id} events before it are intact" in cli.output


async def test_verify_names_the_event_after_a_deleted_one(api: Api, app: Litestar, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await some_history(api)
    rows = await stored(app)
    await tamper(app, "DELETE FROM audit_events WHERE id = :id", id=rows[3].id)
    cli = await asyncio.to_thread(run_verify, database_url, monkeypatch)
    assert cli.exit_code == 1, cli.output
    assert _expected_line(rows[4], MISSING_EVENT) in cli.output
    assert f"event {rows[3].id} is missing before it" in cli.output


async def test_verify_names_the_first_event_when_the_start_was_deleted(api: Api, app: Litestar) -> None:
    await some_history(api)
    rows = await stored(app)
    await tamper(app, "DELETE FROM audit_events WHERE id <= :id", id=rows[1].id)
    result = await verify_chain(app.state.sessionmaker)
    assert result.broken is not None and (result.broken.id, result.broken.problem) == (rows[2].id, MISSING_EVENT)


async def test_verify_names_reordered_events(api: Api, app: Litestar, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await some_history(api)
    rows = await stored(app)
    first, second = rows[5], rows[6]
    await tamper(
        app,
        "UPDATE audit_events SET id = -1 WHERE id = :first",
        "UPDATE audit_events SET id = :first WHERE id = :second",
        "UPDATE audit_events SET id = :second WHERE id = -1",
        first=first.id, second=second.id,
    )
    cli = await asyncio.to_thread(run_verify, database_url, monkeypatch)
    assert cli.exit_code == 1, cli.output
    # the event now at the first id is the second one, hashed with its own id
    assert f"audit chain BROKEN at event {first.id} ({second.action}, {instant(second.occurred_at)}): {CONTENT_CHANGED}" in cli.output


async def test_verify_names_the_link_after_an_event_rewritten_with_a_fresh_hash(api: Api, app: Litestar) -> None:
    """A forger who knows the encoding re-hashes the event they changed: its successor's link breaks."""
    await some_history(api)
    rows = await stored(app)
    victim = rows[6]
    forged = {**victim._mapping, "actor": "Mallory <mallory>"}
    await tamper(
        app, "UPDATE audit_events SET actor = :actor, hash = :hash WHERE id = :id",
        actor=forged["actor"], hash=event_hash(forged, victim.prev_hash), id=victim.id,
    )
    result = await verify_chain(app.state.sessionmaker, batch=3)
    assert result.broken is not None
    assert (result.broken.id, result.broken.action, result.broken.problem) == (rows[7].id, rows[7].action, LINK_BROKEN)
    assert result.events == 7


async def test_an_expected_head_catches_events_cut_off_the_end(api: Api, app: Litestar, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await some_history(api)
    rows = await stored(app)
    head = f"{rows[-1].id}:{rows[-1].hash}"
    assert (await asyncio.to_thread(run_verify, database_url, monkeypatch, "--expect-head", head)).exit_code == 0
    await tamper(app, "DELETE FROM audit_events WHERE id >= :id", id=rows[-2].id)
    cut = await asyncio.to_thread(run_verify, database_url, monkeypatch)
    assert cut.exit_code == 0, cut.output  # a shorter chain is intact on its own ...
    caught = await asyncio.to_thread(run_verify, database_url, monkeypatch, "--expect-head", head)
    assert caught.exit_code == 1, caught.output  # ... but not against the head recorded before
    assert f"audit chain BROKEN at event {rows[-1].id}: {MISSING_EVENT}" in caught.output
    bad = await asyncio.to_thread(run_verify, database_url, monkeypatch, "--expect-head", "12:nothex")
    assert bad.exit_code == 2 and "ID:HASH" in bad.output


# --- export -------------------------------------------------------------------------------------


def parse_lines(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.headers["content-disposition"] == 'attachment; filename="audit-events.jsonl"'
    assert response.text == "" or response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def check_lines(lines: list[dict[str, Any]]) -> None:
    """What an outside party can check with the standard library alone."""
    for previous, line in zip([None, *lines], lines, strict=False):
        document = {key: value for key, value in line.items() if key != "hash"}
        encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(encoded).hexdigest() == line["hash"]
        if previous is not None and previous["id"] + 1 == line["id"]:
            assert line["prev_hash"] == previous["hash"]


async def test_export_streams_the_whole_chain_oldest_first_in_batches(api: Api, app: Litestar, monkeypatch: pytest.MonkeyPatch) -> None:
    await some_history(api)
    monkeypatch.setattr(audit_export, "BATCH", 3)
    lines = parse_lines(await api.get("/v1/audit-events/export.jsonl"))
    rows = await stored(app)
    assert [line["id"] for line in lines] == [row.id for row in rows]
    assert lines[0]["prev_hash"] == GENESIS
    check_lines(lines)
    assert set(lines[0]) == {
        "id", "occurred_at", "actor_id", "actor", "action", "organisation_id", "target_type", "target_id",
        "before", "after", "http_request_id", "prev_hash", "hash",
    }


async def test_export_takes_the_list_filters_and_readers(api: Api, app: Litestar, clock: Clock) -> None:
    org = await some_history(api)
    other = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    clock.advance(hours=2)
    later = clock.now
    await api.approved_assignment(other["id"], "erin", "bob")
    carol = await api.user_id("carol")

    def ids(lines: list[dict[str, Any]]) -> list[int]:
        return [line["id"] for line in lines]

    async def listed(user: str, **params: Any) -> list[int]:
        response = await api.get("/v1/audit-events", user, params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return sorted(item["id"] for item in response.json()["items"])

    cases: list[tuple[str, dict[str, Any]]] = [
        ("alice", {}),
        ("bob", {}),
        ("admin", {"organisation_id": org["id"]}),
        ("admin", {"action": "access_request.rejected"}),
        ("admin", {"person_id": carol}),
        ("admin", {"register": "HDBP0147", "since": later.isoformat()}),
        ("admin", {"until": later.isoformat()}),
    ]
    for user, params in cases:
        lines = parse_lines(await api.get("/v1/audit-events/export.jsonl", user, params=params))
        assert ids(lines) == await listed(user, **params), (user, params)
        assert lines, (user, params)
        check_lines(lines)
    assert {line["organisation_id"] for line in parse_lines(await api.get("/v1/audit-events/export.jsonl", "alice"))} == {org["id"]}

    # a service client with audit:read exports the whole trail, as it lists it
    created = await api.post("/v1/service-clients", json={"name": "SIEM", "client_id": "siem", "scopes": ["audit:read"]})
    assert created.status_code == 201, created.text
    issued = await api.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("siem", created.json()["client_secret"]))
    assert issued.status_code == 200, issued.text
    exported = await api.client.get("/v1/audit-events/export.jsonl", headers={"Authorization": f"Bearer {issued.json()['access_token']}"})
    assert [line["id"] for line in parse_lines(exported)] == [row.id for row in await stored(app)]


async def test_export_refuses_bad_filters_and_readers_like_the_list(api: Api) -> None:
    org = await api.managed_organisation()
    url = "/v1/audit-events/export.jsonl"
    assert_problem(await api.get(url, "carol"), 403, "forbidden")
    assert_problem(await api.get(url, "bob", params={"organisation_id": org["id"]}), 403, "forbidden")
    assert_problem(await api.get(url, None), 401, "unauthenticated")
    for params in ({"since": "yesterday"}, {"until": "2030-01-01T00:00:00"}, {"organisation_id": "nope"}, {"action": "x" * 65}, {"colour": "red"}, {"limit": 5}):
        response = await api.get(url, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_export_is_a_slice_fixed_when_asked(api: Api, app: Litestar) -> None:
    """Events committed while an export streams are not in it: the slice ends at the newest event
    when the export was asked for."""
    await some_history(api)
    rows = await stored(app)
    fixed = audit_export.ExportSlice(conditions=[], last_id=rows[5].id)
    chunks = [chunk async for chunk in audit_export.export_lines(app.state.sessionmaker, fixed, batch=4)]
    assert len(chunks) == 2
    lines = [json.loads(line) for chunk in chunks for line in chunk.decode().splitlines()]
    assert [line["id"] for line in lines] == [row.id for row in rows[:6]]


# --- migration ----------------------------------------------------------------------------------


def test_the_migration_chains_existing_events_and_keeps_them_append_only(empty_database: str) -> None:
    """Events written before 0010 (ids with gaps, as a sequence leaves them) are chained in id
    order; UPDATE and DELETE stay refused after upgrading and after downgrading."""
    from alembic import command

    from eam.core.audit import Auditor
    from eam.core.database import create_engine, make_sessionmaker, transaction
    from eam.migrations import alembic_config, upgrade

    upgrade(empty_database, "0009")
    org = uuid.uuid4()

    async def insert_old_events() -> None:
        engine = create_engine(empty_database)
        try:
            async with engine.begin() as connection:
                for event_id in (1, 2, 5, 6, 9):  # the table as 0009 left it: no hash columns yet
                    await connection.execute(
                        AuditEvent.__table__.insert().values(
                            id=event_id, occurred_at=dt.datetime(2026, 1, event_id, 8, 30, 0, 123456 * (event_id % 2), tzinfo=dt.UTC),
                            actor_id=None if event_id % 2 else org, actor="Alice <alice>", action="organisation.updated",
                            organisation_id=org, target_type="organisation", target_id=str(org),
                            before=None if event_id == 1 else {"name": f"Zïekenhuis {event_id - 1}"},
                            after={"name": f"Zïekenhuis {event_id}", "numbers": [event_id, 2.5], "nested": {"b": 1, "a": None}},
                            http_request_id=None if event_id % 2 else f"req-{event_id}",
                        )
                    )
        finally:
            await engine.dispose()

    async def check(after_upgrade: bool) -> None:
        engine = create_engine(empty_database)
        try:
            if after_upgrade:
                result = await verify_chain(make_sessionmaker(engine), batch=2)
                assert result.intact and result.events == 5 and (result.first_id, result.head_id) == (1, 9)
            async with engine.connect() as connection:
                for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
                    transaction = await connection.begin()
                    with pytest.raises(Exception, match="append-only"):
                        await connection.execute(text(statement))
                    await transaction.rollback()
                assert await connection.scalar(select(func.count()).select_from(text("audit_events"))) == 5
        finally:
            await engine.dispose()

    asyncio.run(insert_old_events())
    upgrade(empty_database)
    asyncio.run(check(after_upgrade=True))
    command.downgrade(alembic_config(empty_database), "0009")
    asyncio.run(check(after_upgrade=False))
    upgrade(empty_database)
    asyncio.run(check(after_upgrade=True))

    async def append() -> Any:
        engine = create_engine(empty_database)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                Auditor(session, None, "system:test", dt.datetime.now(dt.UTC)).record("register.added", target_type="register", target_id="HDBP9999")
            return await verify_chain(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    appended = asyncio.run(append())
    assert appended.intact and (appended.events, appended.head_id) == (6, 10)
