"""Separation of duties: the catalogue's rules, and every path that gives access refusing to break
them (approval, direct grant, change, import), plus the report of violations held now."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from eam.assignments.duties import Held, conflict
from eam.assignments.models import Assignment
from eam.catalogue.loader import CatalogueError, DutySeparationSpec, load_catalogue_file
from eam.core.enums import AssignmentStatus
from tests.conftest import Api, assert_problem
from tests.test_catalogue import BASE, SHIPPED
from tests.test_imports import JAN, outcomes, problems, upload

A, B = uuid.UUID(int=1), uuid.UUID(int=2)
HOSPITAL = {"role": "data_provider", "data_level": "hospital"}
INDIVIDUAL = {"role": "data_provider", "data_level": "individual"}
SPONSOR = {"role": "sponsor", "data_level": "sponsor"}
LEAD = {"role": "local_study_lead"}

RULES = (
    DutySeparationSpec("provider_not_sponsor", "why", ("healthstat:data_provider/hospital", "healthstat:sponsor/sponsor"), "register"),
    DutySeparationSpec("lead_not_support_here", "why", ("hd4dp2:local_study_lead", "healthstat:sponsor/individual"), "organisation_register"),
)

# (id, wanted (org, application, register, profile), held [(org, application, register, profile)], rule broken or None)
TABLE: list[tuple[str, tuple[uuid.UUID, str, str, str], list[tuple[uuid.UUID, str, str, str]], str | None]] = [
    ("nothing held", (A, "healthstat", "R1", "sponsor/sponsor"), [], None),
    ("provider elsewhere, same register", (A, "healthstat", "R1", "sponsor/sponsor"), [(B, "healthstat", "R1", "data_provider/hospital")], "provider_not_sponsor"),
    ("either order", (B, "healthstat", "R1", "data_provider/hospital"), [(A, "healthstat", "R1", "sponsor/sponsor")], "provider_not_sponsor"),
    ("another register", (A, "healthstat", "R1", "sponsor/sponsor"), [(B, "healthstat", "R2", "data_provider/hospital")], None),
    ("a profile not in the rule", (A, "healthstat", "R1", "sponsor/sponsor"), [(B, "healthstat", "R1", "data_provider/individual")], None),
    ("the same profile twice", (A, "healthstat", "R1", "sponsor/sponsor"), [(B, "healthstat", "R1", "sponsor/sponsor")], None),
    ("the access it replaces", (A, "healthstat", "R1", "sponsor/sponsor"), [(A, "healthstat", "R1", "data_provider/hospital")], None),
    ("across applications, same organisation", (A, "healthstat", "R1", "sponsor/individual"), [(A, "hd4dp2", "R1", "local_study_lead")], "lead_not_support_here"),
    ("organisation scope, another organisation", (A, "healthstat", "R1", "sponsor/individual"), [(B, "hd4dp2", "R1", "local_study_lead")], None),
    ("the first conflict of several", (A, "healthstat", "R1", "sponsor/sponsor"), [(B, "hd4dp2", "R1", "local_study_lead"), (B, "healthstat", "R1", "data_provider/hospital")], "provider_not_sponsor"),
]


@pytest.mark.parametrize(("wanted", "held", "broken"), [case[1:] for case in TABLE], ids=[case[0] for case in TABLE])
def test_rules_table(wanted: tuple[Any, ...], held: list[tuple[Any, ...]], broken: str | None) -> None:
    found = conflict(RULES, Held(*wanted), [Held(*row, ref=index) for index, row in enumerate(held)])
    assert (found[0].name if found else None) == broken
    if found:
        assert Held(*held[found[1].ref]) == Held(*held[found[1].ref][:4])


def test_the_shipped_rules_load() -> None:
    rules = {rule.name: rule for rule in load_catalogue_file(SHIPPED).separation_of_duties}
    assert set(rules) == {"provider_not_sponsor", "lead_not_sponsor"}
    assert all(rule.description for rule in rules.values())


RULE = """
[[separation_of_duties]]
name = "provider_not_lead"
description = "A reason"
profiles = ["healthstat:data_provider/hospital", "hd4dp2:local_study_lead"]
"""

# (id, text replaced in RULE, replacement, the line of RULE at fault (1 = the header), words of the message)
BROKEN_RULES = [
    ("unknown-profile", '"hd4dp2:local_study_lead"', '"hd4dp2:local_study_boss"', 4, ["hd4dp2:local_study_boss"]),
    ("unknown-application", '"hd4dp2:local_study_lead"', '"hd4dp3:local_study_lead"', 4, ["hd4dp3"]),
    ("one-profile", ', "hd4dp2:local_study_lead"', "", 4, ["at least two"]),
    ("cannot-be-broken", '"hd4dp2:local_study_lead"]', '"healthstat:data_provider/individual"]\nscope = "organisation_register"', 5, ["never be broken"]),
    ("bad-scope", '"hd4dp2:local_study_lead"]', '"hd4dp2:local_study_lead"]\nscope = "planet"', 5, ["scope"]),
    ("unknown-field", 'description = "A reason"', 'description = "A reason"\nseverity = "high"', 4, ["severity"]),
    ("bad-name", 'name = "provider_not_lead"', 'name = "Provider Not Lead"', 2, ["name"]),
]


def test_a_rule_of_one_application_can_still_be_broken_across_organisations(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(BASE + RULE.replace('"hd4dp2:local_study_lead"]', '"healthstat:data_provider/individual"]\nscope = "register"'), encoding="utf-8")
    assert load_catalogue_file(path).separation_of_duties[0].scope == "register"


@pytest.mark.parametrize(("old", "new", "line", "words"), [case[1:] for case in BROKEN_RULES], ids=[case[0] for case in BROKEN_RULES])
def test_a_broken_rule_is_refused_naming_file_and_line(tmp_path: Path, old: str, new: str, line: int, words: list[str]) -> None:
    path = tmp_path / "catalogue.toml"
    assert old in RULE
    path.write_text(BASE + RULE.replace(old, new), encoding="utf-8")
    header = len(BASE.splitlines()) + 2  # RULE starts with an empty line
    with pytest.raises(CatalogueError) as caught:
        load_catalogue_file(path)
    assert caught.value.line == header + line - 1, str(caught.value)
    for word in words:
        assert word in str(caught.value)


# --- through the API ------------------------------------------------------------------------------


async def assign(api: Api, org_id: str, holder: str, by: str, profile: dict[str, str], application: str = "healthstat") -> Any:
    body = {"user_id": await api.user_id(holder), "organisation_id": org_id, "application": application, "register": "HDBP0147", "profile": profile}
    return await api.post("/v1/assignments", by, json=body)


async def two_organisations(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """AZ Sint-Jan (alice manages) and UZ Leuven (bob manages); carol provides data at AZ Sint-Jan."""
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    assert (await assign(api, brugge["id"], "carol", "alice", HOSPITAL)).status_code == 201
    return brugge, leuven


def assert_refused(response: Any, rule: str) -> dict[str, Any]:
    body = assert_problem(response, 409, "separation-of-duties")
    assert body["rule"] == rule
    assert rule in body["detail"]
    return body


async def test_a_direct_grant_is_refused_naming_rule_and_held_assignment(api: Api) -> None:
    brugge, leuven = await two_organisations(api)
    held = (await api.get("/v1/assignments", "alice")).json()["items"][0]
    body = assert_refused(await assign(api, leuven["id"], "carol", "bob", SPONSOR), "provider_not_sponsor")
    assert body["conflicting_assignment"]["id"] == held["id"]
    assert body["conflicting_assignment"]["organisation_id"] == brugge["id"]
    assert "AZ Sint-Jan Brugge" in body["detail"] and "healthstat:data_provider/hospital" in body["detail"]
    # a profile no rule names is granted
    assert (await assign(api, leuven["id"], "carol", "bob", INDIVIDUAL)).status_code == 201


async def test_rules_across_applications_at_one_organisation(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    assert (await assign(api, brugge["id"], "carol", "alice", LEAD, application="hd4dp2")).status_code == 201
    assert_refused(await assign(api, brugge["id"], "carol", "alice", SPONSOR), "lead_not_sponsor")


async def test_an_approval_is_refused_and_the_request_stays_pending(api: Api) -> None:
    _, leuven = await two_organisations(api)
    submitted = await api.request_access(leuven["id"], "carol", profile=SPONSOR)
    assert submitted.status_code == 201, submitted.text
    assert_refused(await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "bob", json={}), "provider_not_sponsor")
    assert (await api.get(f"/v1/access-requests/{submitted.json()['id']}", "bob")).json()["status"] == "pending"
    # narrowing to a profile no rule names is approved
    narrowed = await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "bob", json={"profile": {"role": "sponsor", "data_level": "individual"}})
    assert narrowed.status_code == 200, narrowed.text


async def test_a_change_is_refused_and_the_profile_kept(api: Api) -> None:
    _, leuven = await two_organisations(api)
    created = await assign(api, leuven["id"], "carol", "bob", INDIVIDUAL)
    assignment_id = created.json()["id"]
    assert_refused(await api.patch(f"/v1/assignments/{assignment_id}", "bob", json={"profile": SPONSOR}), "provider_not_sponsor")
    assert (await api.get(f"/v1/assignments/{assignment_id}", "bob")).json()["profile"]["data_level"] == "individual"


async def test_an_import_refuses_a_line_against_held_access_and_other_lines(api: Api) -> None:
    await api.managed_organisation("alice")
    header = "first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup,register\n"
    text = header + (
        f"Jan,Peeters,jan@azsintjan.be,{JAN},71000436,hd4dp2,1,,HDBP0147\n"
        f"Jan,Peeters,jan@azsintjan.be,{JAN},71000436,healthstat,SPONSOR_SPONSOR,,HDBP0147\n"
    )
    for mode in ("pre_approved", "awaiting_approval"):
        receipt = (await upload(api, text, dry_run=True, mode=mode)).json()
        assert outcomes(receipt) == [(2, "created"), (3, "error")]
        message = problems(receipt, 3)["role"]
        assert "lead_not_sponsor" in message and "line 2" in message
    # line order does not matter: the other line is the one refused
    swapped = header + text.splitlines(keepends=True)[2] + text.splitlines(keepends=True)[1]
    assert outcomes((await upload(api, swapped, dry_run=True, mode="pre_approved")).json()) == [(2, "created"), (3, "error")]
    # against access held: Jan leads HDBP0147 once the first line is imported
    assert (await upload(api, header + text.splitlines(keepends=True)[1], mode="pre_approved")).status_code == 201
    receipt = (await upload(api, header + text.splitlines(keepends=True)[2], dry_run=True, mode="pre_approved")).json()
    assert outcomes(receipt) == [(2, "error")]
    assert "held at AZ Sint-Jan Brugge" in problems(receipt, 2)["role"]
    # a line changing the held access away from the conflict lets the other through
    fixed = header + f"Jan,Peeters,jan@azsintjan.be,{JAN},71000436,hd4dp2,2,,HDBP0147\n" + text.splitlines(keepends=True)[2]
    assert outcomes((await upload(api, fixed, dry_run=True, mode="pre_approved")).json()) == [(2, "updated"), (3, "created")]


async def insert_held(app: Litestar, user_id: str, org_id: str, application: str, profile: dict[str, str], now: dt.datetime) -> str:
    """An assignment written as if from before a rule existed (no check on this path)."""
    assignment = Assignment(
        user_id=uuid.UUID(user_id),
        organisation_id=uuid.UUID(org_id),
        application=application,
        register_code="HDBP0147",
        role=profile["role"],
        data_level=profile.get("data_level"),
        valid_from=now,
        status=AssignmentStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    async with app.state.sessionmaker() as session, session.begin():
        session.add(assignment)
    return str(assignment.id)


async def test_the_report_lists_violations_held_now(api: Api, app: Litestar, clock: Any) -> None:
    brugge, leuven = await two_organisations(api)
    carol = await api.user_id("carol")
    sponsor = await insert_held(app, carol, leuven["id"], "healthstat", SPONSOR, clock.now)
    await insert_held(app, carol, brugge["id"], "hd4dp2", LEAD, clock.now)
    await api.managed_organisation("dave", name="AZ Groeninge", nihdi="71000832")

    everything = await api.get("/v1/separation-of-duties/violations", "admin")
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    assert sorted(item["rule"] for item in items) == ["lead_not_sponsor", "provider_not_sponsor"]
    for item in items:
        assert item["user"]["id"] == carol
        assert sponsor in {access["assignment_id"] for access in item["assignments"]}
    # each side's organisation's access managers see it; others do not
    assert len((await api.get("/v1/separation-of-duties/violations", "bob")).json()["items"]) == 2
    assert len((await api.get("/v1/separation-of-duties/violations", "alice")).json()["items"]) == 2
    assert (await api.get("/v1/separation-of-duties/violations", "dave")).json()["items"] == []
    assert_problem(await api.get("/v1/separation-of-duties/violations", "carol"), 403, "forbidden")
    # paged
    first = (await api.get("/v1/separation-of-duties/violations", "admin", params={"limit": 1})).json()
    second = (await api.get("/v1/separation-of-duties/violations", "admin", params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert [first["items"][0]["rule"], second["items"][0]["rule"]] == ["lead_not_sponsor", "provider_not_sponsor"]
    assert second.get("next_cursor") is None
    # revoked access conflicts with nothing
    revoked = await api.post(f"/v1/assignments/{sponsor}/revoke", "bob", json={"reason": "conflict of interest"})
    assert revoked.status_code == 200, revoked.text
    assert (await api.get("/v1/separation-of-duties/violations", "admin")).json()["items"] == []


async def test_concurrent_conflicting_grants_let_exactly_one_through(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    people = ["carol", "dave", "erin", "frank"]
    for name in people:
        await api.user_id(name)
    grants = [assign(api, brugge["id"], name, "alice", HOSPITAL) for name in people]
    grants += [assign(api, leuven["id"], name, "bob", SPONSOR) for name in people]
    responses = await asyncio.gather(*grants)
    for index, name in enumerate(people):
        pair = sorted(response.status_code for response in (responses[index], responses[index + len(people)]))
        assert pair == [201, 409], (name, [r.text for r in responses])
    assert (await api.get("/v1/separation-of-duties/violations", "admin")).json()["items"] == []
