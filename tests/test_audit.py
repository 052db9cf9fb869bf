"""Audit trail: every state change is an event; reading is scoped; nothing rewrites history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from eam.audit.models import AuditEvent
from tests.conftest import Api, Clock
from tests.test_register_records import RECORD


def rid(step: str) -> dict[str, str]:
    return {"X-Request-ID": f"audit-{step}-{uuid.uuid4().hex[:12]}"}


async def all_events(api: Api, user: str = "admin", **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/audit-events", user, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def event_count(app: Litestar) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(AuditEvent))


async def test_every_state_change_writes_an_event_with_actor_before_after_and_request_id(api: Api) -> None:
    ids = {step: rid(step) for step in ("org", "appoint", "submit", "approve", "create", "change", "revoke")}
    admin = await api.user_id("admin")
    alice = await api.user_id("alice")
    carol = await api.user_id("carol")
    dave = await api.user_id("dave")

    org = await api.post("/v1/organisations", json={"name": "AZ Sint-Jan Brugge", "nihdi": "71000436"}, headers=ids["org"])
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    appointed = await api.post(
        f"/v1/organisations/{org_id}/access-managers", json={"user_id": alice}, headers=ids["appoint"]
    )
    assert appointed.status_code == 201, appointed.text
    submitted = await api.post(
        "/v1/access-requests",
        "carol",
        json={
            "organisation_id": org_id,
            "application": "healthstat",
            "register": "HDBP0147",
            "profile": {"role": "data_provider", "data_level": "hospital"},
            "justification": "I report on our hospital's registrations.",
        },
        headers=ids["submit"],
    )
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["id"]
    approved = await api.post(f"/v1/access-requests/{request_id}/approve", "alice", json={}, headers=ids["approve"])
    assert approved.status_code == 200, approved.text
    approved_assignment = approved.json()["assignment_id"]
    created = await api.post(
        "/v1/assignments",
        "alice",
        json={
            "user_id": dave,
            "organisation_id": org_id,
            "application": "healthstat",
            "register": "HDBP0031",
            "profile": {"role": "sponsor", "data_level": "sponsor"},
        },
        headers=ids["create"],
    )
    assert created.status_code == 201, created.text
    direct = created.json()["id"]
    changed = await api.patch(
        f"/v1/assignments/{direct}", "alice", json={"profile": {"role": "sponsor", "data_level": "individual"}}, headers=ids["change"]
    )
    assert changed.status_code == 200, changed.text
    revoked = await api.post(f"/v1/assignments/{direct}/revoke", "alice", json={"reason": "Study ended"}, headers=ids["revoke"])
    assert revoked.status_code == 200, revoked.text

    # The first start-up's signing-key event is the system's, not part of this flow.
    events = [event for event in await all_events(api) if event["target_type"] != "signing_key"]
    by_request = {}
    for event in events:
        by_request.setdefault(event["http_request_id"], []).append(event)

    def only(step: str, action: str) -> dict[str, Any]:
        matching = [e for e in by_request.get(ids[step]["X-Request-ID"], []) if e["action"] == action]
        assert len(matching) == 1, (step, action, by_request.get(ids[step]["X-Request-ID"]))
        return matching[0]

    org_created = only("org", "organisation.created")
    assert (org_created["actor_id"], org_created["actor"]) == (admin, "admin <admin>")
    assert org_created["target_id"] == org_id and org_created["organisation_id"] == org_id
    assert org_created["before"] is None and org_created["after"]["nihdi"] == "71000436"

    appointment = only("appoint", "access_manager.appointed")
    assert appointment["actor_id"] == admin
    assert appointment["target_id"] == alice and appointment["after"]["user_id"] == alice

    submission = only("submit", "access_request.submitted")
    assert (submission["actor_id"], submission["actor"]) == (carol, "carol <carol>")
    assert submission["target_id"] == request_id
    assert submission["after"]["status"] == "pending"

    approval = only("approve", "access_request.approved")
    assert approval["actor_id"] == alice
    assert approval["before"]["status"] == "pending" and approval["after"]["status"] == "approved"
    granted = only("approve", "assignment.created")
    assert granted["target_id"] == approved_assignment and granted["actor_id"] == alice
    assert granted["after"]["user_id"] == carol and granted["after"]["status"] == "active"

    creation = only("create", "assignment.created")
    assert creation["target_id"] == direct and creation["actor_id"] == alice
    assert creation["before"] is None and creation["after"]["user_id"] == dave

    change = only("change", "assignment.changed")
    assert change["before"]["data_level"] == "sponsor" and change["after"]["data_level"] == "individual"

    revocation = only("revoke", "assignment.revoked")
    assert revocation["before"]["status"] == "active" and revocation["after"]["status"] == "revoked"
    assert revocation["after"]["reason"] == "Study ended"

    for event in events:
        assert event["organisation_id"] == org_id
        assert event["occurred_at"]
    assert len(events) == 8


async def test_request_id_is_recorded_even_when_the_client_sends_none(api: Api) -> None:
    response = await api.post("/v1/organisations", json={"name": "UZ Leuven", "nihdi": "71000931"})
    assert response.status_code == 201
    [event] = await all_events(api, action="organisation.created")
    assert event["http_request_id"] == response.headers["x-request-id"]
    assert uuid.UUID(event["http_request_id"])


async def test_access_managers_read_only_their_organisations_events(api: Api) -> None:
    brugge = await api.managed_organisation()
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.request_access(brugge["id"], "carol")
    leuven_request = (await api.request_access(leuven["id"], "erin")).json()
    assert (await api.patch("/v1/me", "dave", json={"email": "dave@example.be"})).status_code == 200

    seen_by_alice = await all_events(api, "alice")
    assert seen_by_alice, "alice sees her organisation's events"
    assert {e["organisation_id"] for e in seen_by_alice} == {brugge["id"]}
    assert {e["action"] for e in seen_by_alice} == {"organisation.created", "access_manager.appointed", "access_request.submitted"}
    assert await all_events(api, "alice", target_id=leuven_request["id"]) == []

    other = await api.get("/v1/audit-events", "alice", params={"organisation_id": leuven["id"]})
    assert other.status_code == 403, other.text
    assert other.json()["type"] == "urn:eam:problem:forbidden"
    own = await all_events(api, "alice", organisation_id=brugge["id"])
    assert {e["id"] for e in own} == {e["id"] for e in seen_by_alice}

    seen_by_bob = await all_events(api, "bob")
    assert {e["organisation_id"] for e in seen_by_bob} == {leuven["id"]}


async def test_employees_may_not_read_audit_events(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"], "carol")
    for params in ({}, {"organisation_id": org["id"]}):
        response = await api.get("/v1/audit-events", "carol", params=params)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_platform_admins_read_every_event(api: Api) -> None:
    brugge = await api.managed_organisation()
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.patch("/v1/me", "dave", json={"email": "dave@example.be"})
    events = await all_events(api, "admin")
    assert {e["organisation_id"] for e in events} == {brugge["id"], leuven["id"], None}
    assert "user.updated" in {e["action"] for e in events}
    assert len(await all_events(api, "admin", organisation_id=leuven["id"])) == 2


async def test_filters_by_action_and_target(api: Api) -> None:
    org = await api.managed_organisation()
    first = (await api.request_access(org["id"], "carol")).json()
    second = (await api.request_access(org["id"], "dave")).json()
    await api.post(f"/v1/access-requests/{first['id']}/approve", "alice", json={})

    submitted = await all_events(api, "alice", action="access_request.submitted")
    assert {e["target_id"] for e in submitted} == {first["id"], second["id"]}
    assert {e["action"] for e in submitted} == {"access_request.submitted"}

    about_first = await all_events(api, "alice", target_id=first["id"])
    assert [e["action"] for e in about_first] == ["access_request.approved", "access_request.submitted"]
    both = await all_events(api, "alice", target_id=second["id"], action="access_request.submitted")
    assert [e["target_id"] for e in both] == [second["id"]]
    assert await all_events(api, "alice", action="access_request.rejected") == []


async def test_no_route_changes_or_deletes_audit_events(api: Api, app: Litestar) -> None:
    await api.managed_organisation()
    before = await event_count(app)
    assert before > 0
    for method in ("PUT", "PATCH", "DELETE"):
        response = await api.call(method, "/v1/audit-events", "admin", json={"action": "tampered"})
        assert response.status_code == 405, (method, response.text)
        assert response.json()["type"] == "urn:eam:problem:method-not-allowed"
    assert await event_count(app) == before
    assert "tampered" not in {e["action"] for e in await all_events(api)}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered'",
        "UPDATE audit_events SET actor = 'someone else' WHERE id = (SELECT MIN(id) FROM audit_events)",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE id = (SELECT MIN(id) FROM audit_events)",
    ],
)
async def test_database_refuses_update_and_delete_on_audit_events(api: Api, app: Litestar, statement: str) -> None:
    await api.managed_organisation()
    before = await all_events(api)
    assert before
    async with app.state.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement))
        await session.rollback()
    assert await all_events(api) == before
    # inserting stays possible: the table is append-only, not read-only
    await api.post("/v1/organisations", json={"name": "UZ Leuven", "nihdi": "71000931"})
    assert len(await all_events(api)) == len(before) + 1


async def test_filters_by_person_register_and_period_with_names(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    carol, dave = await api.user_id("carol"), await api.user_id("dave")
    clock.advance(hours=1)
    start = clock.now
    carols = (await api.request_access(org["id"], "carol")).json()
    clock.advance(days=2)
    daves = (await api.request_access(org["id"], "dave", register="HDBP0031")).json()
    await api.post(f"/v1/access-requests/{daves['id']}/approve", "alice", json={})
    assert (await api.post("/v1/registers", json={"code": "HDBP0250", "name": "Cystic fibrosis", "applications": ["healthstat"], "record": RECORD})).status_code == 201

    # person: what they did, and what was done about them (by alice, here)
    about_dave = await all_events(api, "alice", person_id=dave)
    assert [e["action"] for e in about_dave] == ["assignment.created", "access_request.approved", "access_request.submitted"]
    assert {e["subject"]["id"] for e in about_dave} == {dave}
    assert {e["subject"]["display_name"] for e in about_dave} == {"dave"}
    assert [e["target_id"] for e in await all_events(api, "alice", person_id=carol)] == [carols["id"]]
    alice = await api.user_id("alice")
    assert "access_manager.appointed" in {e["action"] for e in await all_events(api, "admin", person_id=alice)}

    # register: access to it, and the register itself (platform-wide: admins only)
    assert {e["target_id"] for e in await all_events(api, "alice", register="HDBP0147")} == {carols["id"]}
    assert len(await all_events(api, "alice", register="HDBP0031")) == 3
    [added] = await all_events(api, "admin", register="HDBP0250")
    assert (added["action"], added["organisation"], added["subject"]) == ("register.added", None, None)

    # period: since inclusive, until exclusive
    early = await all_events(api, "alice", since=start.isoformat(), until=(start + dt.timedelta(days=1)).isoformat())
    assert [e["action"] for e in early] == ["access_request.submitted"] and early[0]["target_id"] == carols["id"]
    late = await all_events(api, "alice", since=(start + dt.timedelta(days=1)).isoformat())
    assert {e["action"] for e in late} == {"access_request.submitted", "access_request.approved", "assignment.created"}

    # each event names its organisation (name and NIHDI number)
    assert {(e["organisation"]["name"], e["organisation"]["nihdi"]) for e in early + late} == {("AZ Sint-Jan Brugge", "71000436")}
