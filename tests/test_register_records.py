"""Register records (the basis of a GDPR Art. 30 record of processing): each register's
controller, legal basis, purpose and retention, from the catalogue file or given when a platform
admin adds one, and how many people hold access to it now, per organisation, for those who may
see it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from eam.app import create_app
from eam.catalogue.models import Register
from eam.core.settings import Settings
from eam.migrations import upgrade
from tests.conftest import Api, Clock, assert_problem, error_fields, serve_in_process
from tests.test_service_tokens import bearer, new_client, service_token

RECORD: dict[str, Any] = {
    "controller": "Sciensano, Rue Juliette Wytsmanstraat 14, 1050 Brussels",
    "legal_basis": "GDPR Art. 6(1)(e) and 9(2)(i); deliberation 22/118",
    "purpose": "Monitoring stroke care in Belgian hospitals",
    "retention": {"years": 10, "months": 6, "note": "after the end of the data collection"},
}
STROKE = {"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["hd4dp2", "healthstat"], "record": RECORD}


async def test_file_registers_carry_their_record(api: Api) -> None:
    shown = await api.get("/v1/registers/HDBP0031", "carol")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["source"] == "catalogue"
    assert body["record"]["controller"].startswith("Sciensano")
    assert "9(2)(i)" in body["record"]["legal_basis"] and "cystic fibrosis" in body["record"]["purpose"]
    assert body["record"]["retention"] == {"years": 30, "months": 0, "note": "after the last registration of the patient"}
    # anyone signed in reads the record; who holds it is not theirs to see
    assert body["holders"] is None
    listed = (await api.get("/v1/registers", "carol")).json()["items"]
    assert all(register["record"] is not None for register in listed)
    assert "holders" not in listed[0]


async def test_admin_adds_a_register_with_its_record(api: Api) -> None:
    padded = {**RECORD, "controller": "  Sciensano, Rue Juliette Wytsmanstraat 14, 1050 Brussels \n"}
    added = await api.post("/v1/registers", json={**STROKE, "record": padded})
    assert added.status_code == 201, added.text
    assert added.json() == {**STROKE, "source": "api", "ends_on": None, "ends_at": None}  # stored without the surrounding whitespace
    shown = (await api.get("/v1/registers/HDBP0500", "carol")).json()
    assert shown["record"] == RECORD and shown["source"] == "api"
    [event] = (await api.get("/v1/audit-events", params={"action": "register.added"})).json()["items"]
    assert event["after"]["record"] == RECORD
    # months default to 0, the note is optional
    years_only = {**STROKE, "code": "HDBP0501", "record": {**RECORD, "retention": {"years": 5}}}
    assert (await api.post("/v1/registers", json=years_only)).json()["record"]["retention"] == {"years": 5, "months": 0, "note": None}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (None, "$.record"),
        ({**RECORD, "controller": "   "}, "$.record.controller"),
        ({**RECORD, "legal_basis": ""}, "$.record.legal_basis"),
        ({**RECORD, "purpose": "x" * 2001}, "$.record.purpose"),
        ({**RECORD, "controller": "x" * 201}, "$.record.controller"),
        ({key: value for key, value in RECORD.items() if key != "purpose"}, "$.record.purpose"),
        ({**RECORD, "retention": {"years": 0, "months": 0, "note": "forever"}}, "$.record.retention"),
        ({**RECORD, "retention": {}}, "$.record.retention"),
        ({**RECORD, "retention": {"years": 2, "months": 12}}, "$.record.retention.months"),
        ({**RECORD, "retention": {"years": 101}}, "$.record.retention.years"),
        ({**RECORD, "retention": {"years": 1, "note": " "}}, "$.record.retention.note"),
        ({**RECORD, "retention": "ten years"}, "$.record.retention"),
        ({**RECORD, "owner": "Sciensano"}, "$.record.owner"),
    ],
)
async def test_a_new_register_needs_a_complete_record(api: Api, record: Any, field: str) -> None:
    body = {key: value for key, value in STROKE.items() if key != "record"}
    if record is not None:
        body["record"] = record
    refused = await api.post("/v1/registers", json=body)
    assert_problem(refused, 422, "validation-error")
    assert error_fields(refused) == {field}
    assert_problem(await api.get("/v1/registers/HDBP0500"), 404, "not-found")


def test_registers_added_before_records_are_not_recorded_yet(empty_database: str) -> None:
    """The migration keeps registers added through the API and gives them no record."""
    upgrade(empty_database, "0009")

    async def add_old_register() -> None:
        engine = create_async_engine(empty_database)
        async with engine.begin() as connection:
            # only the columns revision 0009 has
            await connection.execute(
                sa.insert(Register.__table__).values(code="HDBP0300", name="Old register", applications=["healthstat"], created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
            )
        await engine.dispose()

    asyncio.run(add_old_register())
    upgrade(empty_database)

    async def read() -> tuple[Any, Any]:
        app = create_app(Settings(database_url=empty_database, platform_admins=("admin",), expiry_sweep_seconds=0), clock=Clock(), run_housekeeping=False)
        async with serve_in_process(app) as client:
            api = Api(client)
            return (await api.get("/v1/registers/HDBP0300", "carol")).json(), (await api.get("/v1/registers", "carol")).json()["items"]

    shown, listed = asyncio.run(read())
    assert (shown["name"], shown["source"], shown["record"]) == ("Old register", "api", None)
    assert [r["record"] for r in listed if r["code"] == "HDBP0300"] == [None]


async def grant(api: Api, org: dict[str, Any], user: str, manager: str, **overrides: Any) -> dict[str, Any]:
    submitted = await api.request_access(org["id"], user, **overrides)
    assert submitted.status_code == 201, submitted.text
    approved = await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", manager, json={})
    assert approved.status_code == 200, approved.text
    return approved.json()


async def counts(api: Api, user: str, **params: Any) -> list[tuple[str, str, int]]:
    response = await api.get("/v1/registers/HDBP0147/holder-counts", user, params=params)
    assert response.status_code == 200, response.text
    return [(item["organisation"]["name"], item["organisation"]["nihdi"], item["holders"]) for item in response.json()["items"]]


async def test_holders_now_per_organisation_for_those_who_may_see_them(api: Api, clock: Clock) -> None:
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await grant(api, brugge, "carol", "alice")
    # carol through a second application counts once; dave in another register not at all
    await grant(api, brugge, "carol", "alice", application="hd4dp2", profile={"role": "local_study_associate"})
    await grant(api, brugge, "dave", "alice", register="HDBP0031")
    revoked = await grant(api, brugge, "dave", "alice")
    await api.post(f"/v1/assignments/{revoked['assignment_id']}/revoke", "alice", json={"reason": "left the study team"})
    await grant(api, leuven, "erin", "bob")
    await grant(api, leuven, "carol", "bob")
    # frank's access starts next week: scheduled, not held now
    frank = await api.user_id("frank")
    starts = (clock() + dt.timedelta(days=7)).isoformat()
    scheduled = await api.post("/v1/assignments", "bob", json={
        "user_id": frank, "organisation_id": leuven["id"], "application": "healthstat", "register": "HDBP0147",
        "profile": {"role": "data_provider", "data_level": "hospital"}, "valid_from": starts,
    })
    assert scheduled.status_code == 201, scheduled.text

    assert await counts(api, "admin") == [("AZ Sint-Jan Brugge", "71000436", 1), ("UZ Leuven", "71000931", 2)]
    assert await counts(api, "alice") == [("AZ Sint-Jan Brugge", "71000436", 1)]
    assert await counts(api, "bob") == [("UZ Leuven", "71000931", 2)]
    assert_problem(await api.get("/v1/registers/HDBP0147/holder-counts", "carol"), 403, "forbidden")
    assert_problem(await api.get("/v1/registers/NOPE0001/holder-counts"), 404, "not-found")

    everyone = (await api.get("/v1/registers/HDBP0147")).json()["holders"]
    assert {key: everyone[key] for key in ("all_organisations", "holders", "organisations", "holder_counts")} == {
        "all_organisations": True, "holders": 2, "organisations": 2, "holder_counts": "/v1/registers/HDBP0147/holder-counts",
    }  # carol (in both organisations) and erin
    alices = (await api.get("/v1/registers/HDBP0147", "alice")).json()["holders"]
    assert (alices["all_organisations"], alices["holders"], alices["organisations"]) == (False, 1, 1)
    assert (await api.get("/v1/registers/HDBP0147", "carol")).json()["holders"] is None

    # a week later frank holds it; carol's end in Leuven is still to come
    clock.advance(days=8)
    assert await counts(api, "bob") == [("UZ Leuven", "71000931", 3)]
    assert (await api.get("/v1/registers/HDBP0031")).json()["holders"]["holders"] == 1


async def test_holder_counts_are_paged_by_organisation_name(api: Api) -> None:
    names = [("Ziekenhuis Oost-Limburg", "71000139"), ("AZ Delta", "71000238"), ("Jessa Ziekenhuis", "71000337")]
    for name, nihdi in names:
        org = await api.managed_organisation("alice", name=name, nihdi=nihdi)
        await grant(api, org, "carol", "alice")
    first = (await api.get("/v1/registers/HDBP0147/holder-counts", params={"limit": 2})).json()
    assert [item["organisation"]["name"] for item in first["items"]] == ["AZ Delta", "Jessa Ziekenhuis"]
    second = (await api.get("/v1/registers/HDBP0147/holder-counts", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [item["organisation"]["name"] for item in second["items"]] == ["Ziekenhuis Oost-Limburg"]
    assert second["next_cursor"] is None
    assert_problem(await api.get("/v1/registers/HDBP0147/holder-counts", params={"cursor": "AAAA"}), 422, "validation-error")
    assert (await api.get("/v1/registers/HDBP0147")).json()["holders"]["holders"] == 1  # one person, three organisations


async def test_service_clients_see_counts_with_assignments_read(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await grant(api, org, "carol", "alice")
    credentials = await new_client(api, ["catalogue:read", "assignments:read"], client_id="dpo-reports")
    both = bearer(await service_token(api, credentials, "catalogue:read assignments:read"))
    shown = await api.get("/v1/registers/HDBP0147", None, headers=both)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["holders"]["all_organisations"], shown.json()["holders"]["holders"]) == (True, 1)
    listed = await api.get("/v1/registers/HDBP0147/holder-counts", None, headers=both)
    assert [item["holders"] for item in listed.json()["items"]] == [1]
    catalogue_only = bearer(await service_token(api, credentials, "catalogue:read"))
    assert (await api.get("/v1/registers/HDBP0147", None, headers=catalogue_only)).json()["holders"] is None
    assert_problem(await api.get("/v1/registers/HDBP0147/holder-counts", None, headers=catalogue_only), 403, "forbidden")
