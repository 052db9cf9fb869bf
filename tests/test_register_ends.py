"""A register closed by an end date (issue 15, item 9): no new access to it, live access cut
back to its end, tokens stop listing it at that moment, the sweep records the end."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from eam.core.settings import SHIPPED_POLICIES_DIR, Settings
from eam.core.times import end_of_day
from eam.jobs import EXPIRE_ASSIGNMENTS
from tests.conftest import Api, Clock, assert_problem, run_jobs
from tests.test_catalogue import policies_dir
from tests.test_register_records import RECORD

#: HDBP0211 closes in the catalogue file ten days from today (Brussels).
FILE_END = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    text = (SHIPPED_POLICIES_DIR / "catalogue.toml").read_text(encoding="utf-8")
    text = text.replace("[registers.HDBP0211]\n", f"[registers.HDBP0211]\nends_on = {FILE_END.isoformat()}\n", 1)
    return Settings(database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0, policies_dir=policies_dir(tmp_path / "policies", text))


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def stroke_register(api: Api, **extra: Any) -> dict[str, Any]:
    body = {"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["healthstat"], "record": RECORD, **extra}
    added = await api.post("/v1/registers", json=body)
    assert added.status_code == 201, added.text
    return added.json()


async def test_an_end_set_later_cuts_live_access_back_and_then_ends_it(api: Api, clock: Clock, app: Any) -> None:
    await stroke_register(api)
    org = await api.managed_organisation("alice")
    submitted = await api.request_access(org["id"], register="HDBP0500")
    held = (await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json={})).json()
    ends_on = (clock.now + dt.timedelta(days=3)).date()
    assert_problem(await api.patch("/v1/registers/HDBP0500", "alice", json={"ends_on": ends_on.isoformat()}), 403, "forbidden")
    assert_problem(await api.patch("/v1/registers/HDBP0500", json={"ends_on": "30 June"}), 422, "validation-error")
    assert_problem(await api.patch("/v1/registers/HDBP0147", json={"ends_on": ends_on.isoformat()}), 409, "conflict")  # a file register
    patched = await api.patch("/v1/registers/HDBP0500", json={"ends_on": ends_on.isoformat()})
    assert patched.status_code == 200, patched.text
    ends_at = iso(end_of_day(ends_on))
    assert (patched.json()["ends_on"], patched.json()["ends_at"]) == (ends_on.isoformat(), ends_at)
    assignment = (await api.get(f"/v1/assignments/{held['assignment_id']}", "carol")).json()
    assert (assignment["status"], assignment["valid_until"]) == ("active", ends_at)
    events = (await api.get("/v1/audit-events", params={"target_id": held["assignment_id"], "action": "assignment.changed"})).json()["items"]
    assert [e["after"]["comment"] for e in events] == ["the register ends"]
    assert len((await api.get("/v1/audit-events", params={"action": "register.end_set"})).json()["items"]) == 1
    # an extension or a later end asked for is capped at the register's end
    assert_problem(await api.post(f"/v1/assignments/{held['assignment_id']}/extension", "alice", json={"valid_until": None}), 422, "validation-error")
    token = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert token.status_code == 200, token.text
    clock.advance(days=4)
    assert (await api.get(f"/v1/assignments/{held['assignment_id']}", "carol")).json()["status"] == "expired"
    assert (await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})).status_code != 200
    assert await run_jobs(app.state.services, EXPIRE_ASSIGNMENTS) == (1,)
    # no new requests, grants or renewals for a register that has ended
    assert_problem(await api.request_access(org["id"], user="dave", register="HDBP0500"), 409, "register-closed")
    dave = await api.user_id("dave")
    direct = {"user_id": dave, "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0500", "profile": {"role": "data_provider", "data_level": "hospital"}}
    assert_problem(await api.post("/v1/assignments", "alice", json=direct), 409, "register-closed")
    later = iso(clock.now + dt.timedelta(days=30))
    assert_problem(await api.post(f"/v1/assignments/{held['assignment_id']}/extension", "alice", json={"valid_until": later}), 409, "register-closed")
    # the end removed: the register gives access again (the expired assignment may be renewed)
    reopened = await api.patch("/v1/registers/HDBP0500", json={"ends_on": None})
    assert reopened.status_code == 200 and reopened.json()["ends_at"] is None
    renewed = await api.post(f"/v1/assignments/{held['assignment_id']}/extension", "alice", json={"valid_until": later})
    assert renewed.status_code == 200, renewed.text


async def test_a_register_added_with_an_end_caps_every_grant(api: Api, clock: Clock) -> None:
    ends_on = (clock.now + dt.timedelta(days=60)).date()
    added = await stroke_register(api, ends_on=ends_on.isoformat())
    assert added["ends_at"] == iso(end_of_day(ends_on))
    org = await api.managed_organisation("alice")
    submitted = await api.request_access(org["id"], register="HDBP0500", valid_until=iso(clock.now + dt.timedelta(days=365)))
    approved = await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    assignment = (await api.get(f"/v1/assignments/{approved.json()['assignment_id']}", "carol")).json()
    assert assignment["valid_until"] == added["ends_at"]
    assert_problem(await stroke_register_again(api), 409, "already-exists")


async def stroke_register_again(api: Api) -> Any:
    return await api.post("/v1/registers", json={"code": "HDBP0500", "name": "Again", "applications": ["healthstat"], "record": RECORD})


async def test_a_file_register_end_caps_access_granted_before_it_at_the_sweep(api: Api, app: Any) -> None:
    ends_at = iso(end_of_day(FILE_END))
    shown = (await api.get("/v1/registers/HDBP0211", "carol")).json()
    assert (shown["ends_on"], shown["ends_at"]) == (FILE_END.isoformat(), ends_at)
    org = await api.managed_organisation("alice")
    held = await api.approved_assignment(org["id"])  # HDBP0147: not touched
    submitted = await api.request_access(org["id"], register="HDBP0211")
    approved = (await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json={})).json()
    assert (await api.get(f"/v1/assignments/{approved['assignment_id']}", "carol")).json()["valid_until"] == ends_at
    # access given before the file had the end: the sweep cuts it back
    remove = await api.post(f"/v1/assignments/{approved['assignment_id']}/revoke", "alice", json={"reason": "test set-up"})
    assert remove.status_code == 200
    dave = await api.user_id("dave")
    from sqlalchemy import update

    from eam.assignments.models import Assignment

    direct = {"user_id": dave, "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0211", "profile": {"role": "data_provider", "data_level": "hospital"}}
    created = (await api.post("/v1/assignments", "alice", json=direct)).json()
    async with app.state.sessionmaker() as session, session.begin():  # set-up: granted before the file had an end
        await session.execute(update(Assignment).where(Assignment.id == uuid.UUID(created["id"])).values(valid_until=None))
    assert await run_jobs(app.state.services, EXPIRE_ASSIGNMENTS) == (0,)
    assert (await api.get(f"/v1/assignments/{created['id']}", "alice")).json()["valid_until"] == ends_at
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["valid_until"] is None


async def test_an_import_names_lines_for_a_register_that_has_ended(api: Api, clock: Clock) -> None:
    from tests.test_imports import ACCOUNTS, outcomes, problems, upload

    await stroke_register(api, applications=["healthstat", "hd4dp2"], ends_on=(clock.now + dt.timedelta(days=1)).date().isoformat())
    await api.managed_organisation("alice")
    open_preview = await upload(api, ACCOUNTS, dry_run=True, mode="pre_approved", register="HDBP0500")
    assert outcomes(open_preview.json()) == [(2, "created"), (3, "created"), (4, "created")]
    clock.advance(days=3)
    preview = await upload(api, ACCOUNTS, dry_run=True, mode="pre_approved", register="HDBP0500")
    assert preview.status_code == 200, preview.text
    assert outcomes(preview.json()) == [(2, "error"), (3, "error"), (4, "error")]
    assert problems(preview.json(), 2)["register"] == "register HDBP0500 has ended: it gives no new access"


async def test_a_direct_grant_starting_after_the_register_ends_is_refused(api: Api, clock: Clock) -> None:
    await stroke_register(api, ends_on=(clock.now + dt.timedelta(days=10)).date().isoformat())
    org = await api.managed_organisation("alice")
    dave = await api.user_id("dave")
    direct = {"user_id": dave, "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0500", "profile": {"role": "data_provider", "data_level": "hospital"}}
    late = await api.post("/v1/assignments", "alice", json={**direct, "valid_from": iso(clock.now + dt.timedelta(days=20))})
    body = assert_problem(late, 422, "validation-error")
    assert body["errors"][0]["field"] == "$.valid_from"
    assert (await api.post("/v1/assignments", "alice", json=direct)).status_code == 201


def test_a_file_register_end_must_be_a_toml_date(tmp_path: Path) -> None:
    from eam.catalogue.loader import CatalogueError, load_catalogue_file

    text = (SHIPPED_POLICIES_DIR / "catalogue.toml").read_text(encoding="utf-8")
    path = tmp_path / "catalogue.toml"
    path.write_text(text.replace("[registers.HDBP0211]\n", '[registers.HDBP0211]\nends_on = "end of June"\n', 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as refused:
        load_catalogue_file(path)
    assert "ends_on" in str(refused.value)
    path.write_text(text.replace("[registers.HDBP0211]\n", "[registers.HDBP0211]\nends_on = 2027-06-30\n", 1), encoding="utf-8")
    assert load_catalogue_file(path).registers["HDBP0211"].ends_on == dt.date(2027, 6, 30)
