"""The catalogue: a validated file of applications, profiles and registers, plus API-added registers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from litestar import Litestar

from eam.app import create_app
from eam.catalogue.loader import CatalogueError, load_catalogue_file
from eam.core.settings import SHIPPED_POLICIES_DIR, Settings
from tests.conftest import Api, assert_problem, casbin_rows
from tests.test_register_records import RECORD

SHIPPED = SHIPPED_POLICIES_DIR / "catalogue.toml"
BASE = """\
# A small catalogue for the loader tests.
# Each broken variant below changes one thing in it.

[applications.healthstat]
name = "healthstat.be report portal"
profiles = [
  { role = "data_provider", data_level = "hospital", label = "Data Provider / Hospital", narrows_to = ["data_provider/individual"] },
  { role = "data_provider", data_level = "individual", label = "Data Provider / Individual" },
]

[applications.hd4dp2]
name = "HD4DP v2 data-entry tool"
profiles = [
  { role = "local_study_lead", label = "Local Study Lead", narrows_to = ["local_study_associate"] },
  { role = "local_study_associate", label = "Local Study Associate" },
  { role = "local_study_support", author_group = "required", label = "Local Study Support" },
]

[registers.HDBP0147]
name = "INTEGO (general-practice network register)"
applications = ["healthstat", "hd4dp2"]

[registers.HDBP0147.record]
controller = "KU Leuven, Academic Centre for General Practice"
legal_basis = "GDPR Art. 6(1)(e) and 9(2)(j)"
purpose = "Morbidity research in general practice"
retention = { years = 20, note = "after collection" }

[registers.HDBP0031]
name = "Belgian Cystic Fibrosis Registry"
applications = ["hd4dp2", "healthstat"]
"""

ASSOCIATE = '  { role = "local_study_associate", label = "Local Study Associate" },'

# (id, text replaced in BASE, replacement, which line of the replacement is at fault, words the message must contain)
BROKEN = [
    ("toml-unterminated-string", 'name = "HD4DP v2 data-entry tool"', 'name = "HD4DP v2 data-entry tool', 0, ["line"]),
    ("toml-unclosed-table-header", "[registers.HDBP0031]", "[registers.HDBP0031", 0, ["line"]),
    ("toml-table-declared-twice", "[registers.HDBP0031]", "[registers.HDBP0147]", 0, ["line"]),
    (
        "register-names-unknown-application",
        'applications = ["hd4dp2", "healthstat"]',
        'applications = ["hd4dp2", "healthstat", "hd4dp3"]',
        0,
        ["HDBP0031", "unknown application 'hd4dp3'", "hd4dp2", "healthstat"],
    ),
    (
        "profile-narrows-to-unknown-profile",
        ASSOCIATE,
        '  { role = "local_study_associate", label = "Local Study Associate", narrows_to = ["local_study_helper"] },',
        0,
        ["narrows to unknown profile 'local_study_helper'"],
    ),
    ("register-code-in-lower-case", "[registers.HDBP0031]", "[registers.hdbp0031]", 0, ["'hdbp0031'"]),
    ("register-code-too-short", "[registers.HDBP0031]", "[registers.HD]", 0, ["'HD'"]),
    (
        "unknown-key-in-an-application",
        'name = "HD4DP v2 data-entry tool"',
        'name = "HD4DP v2 data-entry tool"\ncolour = "blue"',
        1,
        ["unknown field", "colour"],
    ),
    (
        "unknown-key-in-a-register",
        'name = "Belgian Cystic Fibrosis Registry"',
        'name = "Belgian Cystic Fibrosis Registry"\nowner = "Sciensano"',
        1,
        ["unknown field", "owner"],
    ),
    (
        "unknown-key-in-a-profile",
        ASSOCIATE,
        '  { role = "local_study_associate", label = "Local Study Associate", colour = "blue" },',
        0,
        ["unknown field", "colour"],
    ),
    (
        "unknown-top-level-key",
        "# Each broken variant below changes one thing in it.",
        "version = 2",
        0,
        ["unknown field", "version"],
    ),
    ("wrong-type-in-the-second-application", 'name = "HD4DP v2 data-entry tool"', "name = 2", 0, ["str"]),
    (
        "register-without-a-name",
        '[registers.HDBP0031]\nname = "Belgian Cystic Fibrosis Registry"',
        "[registers.HDBP0031]",
        0,
        ["missing required field", "name"],
    ),
    ("record-with-a-blank-controller", 'controller = "KU Leuven, Academic Centre for General Practice"', 'controller = "   "', 0, ["record.controller"]),
    ("record-with-a-long-purpose", 'purpose = "Morbidity research in general practice"', f'purpose = "{"x" * 2001}"', 0, ["record.purpose", "2000"]),
    ("record-kept-for-no-time", 'retention = { years = 20, note = "after collection" }', "retention = { years = 0 }", 0, ["at least one month", "record.retention"]),
    ("record-retention-as-text", 'retention = { years = 20, note = "after collection" }', 'retention = "twenty years"', 0, ["record.retention"]),
    ("record-with-an-unknown-key", 'legal_basis = "GDPR Art. 6(1)(e) and 9(2)(j)"', 'legal_basis = "GDPR Art. 6(1)(e) and 9(2)(j)"\nowner = "x"', 1, ["unknown field", "owner"]),
    (
        "record-without-a-legal-basis",
        '[registers.HDBP0147.record]\ncontroller = "KU Leuven, Academic Centre for General Practice"\nlegal_basis = "GDPR Art. 6(1)(e) and 9(2)(j)"',
        '[registers.HDBP0147.record]\ncontroller = "KU Leuven, Academic Centre for General Practice"',
        0,
        ["missing required field", "legal_basis"],
    ),
]


def broken_catalogue(directory: Path, old: str, new: str, line_in_new: int) -> tuple[Path, int]:
    """Write BASE with ``old`` replaced by ``new``; return the file and the line at fault."""
    assert BASE.count(old) == 1, old
    expected_line = BASE[: BASE.index(old)].count("\n") + 1 + line_in_new
    path = directory / "catalogue.toml"
    path.write_text(BASE.replace(old, new), encoding="utf-8")
    return path, expected_line


def policies_dir(directory: Path, catalogue_text: str) -> Path:
    """A policies directory with the shipped Casbin files and the given catalogue."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("model.conf", "permissions.csv"):
        shutil.copy(SHIPPED_POLICIES_DIR / name, directory / name)
    (directory / "catalogue.toml").write_text(catalogue_text, encoding="utf-8")
    return directory


# --- the loader ---------------------------------------------------------------------------------


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue_file(SHIPPED)
    assert set(catalogue.applications) == {"healthstat", "hd4dp2"}
    assert {"HDBP0147", "HDBP0031", "HDBP0211"} <= set(catalogue.registers)
    assert catalogue.registers["HDBP0211"].applications == ("healthstat",)
    # every shipped register has its record of processing
    assert all(register.record is not None for register in catalogue.registers.values())


def test_the_base_of_the_broken_variants_is_itself_valid(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(BASE, encoding="utf-8")
    catalogue = load_catalogue_file(path)
    assert [p.key for p in catalogue.applications["hd4dp2"].profiles] == [
        "local_study_lead",
        "local_study_associate",
        "local_study_support",
    ]
    record = catalogue.registers["HDBP0147"].record
    assert record is not None and (record.retention.years, record.retention.months, record.retention.note) == (20, 0, "after collection")
    assert catalogue.registers["HDBP0031"].record is None  # optional: "not recorded yet"


@pytest.mark.parametrize(("old", "new", "line_in_new", "words"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_catalogue_is_refused_naming_file_and_line(
    tmp_path: Path, old: str, new: str, line_in_new: int, words: list[str]
) -> None:
    path, line = broken_catalogue(tmp_path, old, new, line_in_new)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue_file(path)
    error = caught.value
    assert error.path == path
    assert error.line == line, (str(error), path.read_text().splitlines()[line - 1])
    assert str(error).startswith(f"{path}:{line}: ")
    for word in words:
        assert word in str(error)


def test_a_missing_catalogue_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(CatalogueError) as caught:
        load_catalogue_file(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_start_up_is_refused_with_a_broken_catalogue(tmp_path: Path) -> None:
    text = BASE.replace('"hd4dp2", "healthstat"]', '"hd4dp2", "healthstat", "hd4dp3"]')
    directory = policies_dir(tmp_path / "broken", text)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}", policies_dir=directory)
    with pytest.raises(CatalogueError) as caught:
        create_app(settings, run_housekeeping=False)
    assert str(caught.value).startswith(f"{directory / 'catalogue.toml'}:")
    # the same directory with a valid catalogue starts
    (directory / "catalogue.toml").write_text(BASE, encoding="utf-8")
    assert isinstance(create_app(settings, run_housekeeping=False), Litestar)


# --- applications and registers over HTTP ---------------------------------------------------------


async def test_applications_list_exactly_their_allowed_profiles(api: Api) -> None:
    response = await api.get("/v1/applications", "carol")
    assert response.status_code == 200, response.text
    applications = {app["code"]: app for app in response.json()}
    assert set(applications) == {"healthstat", "hd4dp2"}
    healthstat = applications["healthstat"]["profiles"]
    assert [p["key"] for p in healthstat] == [
        "data_provider/hospital",
        "data_provider/individual",
        "sponsor/sponsor",
        "sponsor/individual",
    ]
    assert all(p["author_group"] == "forbidden" for p in healthstat)
    hd4dp2 = {p["role"]: p for p in applications["hd4dp2"]["profiles"]}
    assert list(hd4dp2) == ["local_study_lead", "local_study_associate", "local_study_support"]
    assert {role: p["author_group"] for role, p in hd4dp2.items()} == {
        "local_study_lead": "forbidden",
        "local_study_associate": "forbidden",
        "local_study_support": "required",
    }
    assert all(p["data_level"] is None for p in hd4dp2.values())
    assert hd4dp2["local_study_lead"]["narrows_to"] == ["local_study_associate"]


async def test_registers_are_listed_and_filtered_by_application(api: Api) -> None:
    everything = await api.get("/v1/registers", "carol")
    assert everything.status_code == 200, everything.text
    assert [(r["code"], r["source"]) for r in everything.json()["items"]] == [
        ("HDBP0031", "catalogue"),
        ("HDBP0147", "catalogue"),
        ("HDBP0211", "catalogue"),
    ]
    hd4dp2 = (await api.get("/v1/registers", "carol", params={"application": "hd4dp2"})).json()["items"]
    assert [r["code"] for r in hd4dp2] == ["HDBP0031", "HDBP0147"]
    healthstat = (await api.get("/v1/registers", "carol", params={"application": "healthstat"})).json()["items"]
    assert [r["code"] for r in healthstat] == ["HDBP0031", "HDBP0147", "HDBP0211"]
    one = (await api.get("/v1/registers/HDBP0211", "carol")).json()
    assert one["record"]["controller"].startswith("Sciensano")
    assert {key: value for key, value in one.items() if key != "record"} == {
        "code": "HDBP0211",
        "name": "Quality indicators for hospitals",
        "applications": ["healthstat"],
        "source": "catalogue",
        "holders": None,
        "ends_on": None,
        "ends_at": None,
    }
    assert_problem(await api.get("/v1/registers/HDBP9999", "carol"), 404, "not-found")


async def test_registers_are_paged_by_code(api: Api) -> None:
    first = (await api.get("/v1/registers", "carol", params={"limit": 2})).json()
    assert [r["code"] for r in first["items"]] == ["HDBP0031", "HDBP0147"]
    second = (await api.get("/v1/registers", "carol", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [r["code"] for r in second["items"]] == ["HDBP0211"]
    assert second["next_cursor"] is None
    assert_problem(await api.get("/v1/registers", "carol", params={"cursor": "%%%"}), 422, "validation-error")


async def test_admin_adds_a_register_with_an_audit_event(api: Api) -> None:
    body = {"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["hd4dp2"], "record": RECORD}
    response = await api.post("/v1/registers", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == {**body, "source": "api", "ends_on": None, "ends_at": None}
    listed = (await api.get("/v1/registers", "carol")).json()["items"]
    assert [(r["code"], r["source"]) for r in listed] == [
        ("HDBP0031", "catalogue"),
        ("HDBP0147", "catalogue"),
        ("HDBP0211", "catalogue"),
        ("HDBP0500", "api"),
    ]
    assert "HDBP0500" in [r["code"] for r in (await api.get("/v1/registers?application=hd4dp2", "carol")).json()["items"]]
    assert "HDBP0500" not in [r["code"] for r in (await api.get("/v1/registers?application=healthstat", "carol")).json()["items"]]
    assert (await api.get("/v1/registers/HDBP0500", "carol")).json()["source"] == "api"
    events = (await api.get("/v1/audit-events", params={"action": "register.added"})).json()["items"]
    assert len(events) == 1
    assert events[0]["target_id"] == "HDBP0500"
    assert events[0]["actor_id"] == await api.user_id("admin")
    assert events[0]["after"] == {"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["hd4dp2"], "record": RECORD}


async def test_only_platform_admins_add_registers(api: Api) -> None:
    await api.managed_organisation("alice")
    for user in ("carol", "alice"):
        response = await api.post(
            "/v1/registers", user, json={"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["hd4dp2"], "record": RECORD}
        )
        assert_problem(response, 403, "forbidden")
    assert_problem(await api.get("/v1/registers/HDBP0500", "carol"), 404, "not-found")
    assert (await api.get("/v1/audit-events", params={"action": "register.added"})).json()["items"] == []


@pytest.mark.parametrize("code", ["HDBP0147", "HDBP0500"])
async def test_a_register_code_is_added_once(api: Api, code: str) -> None:
    first = await api.post("/v1/registers", json={"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["hd4dp2"], "record": RECORD})
    assert first.status_code == 201, first.text
    again = await api.post("/v1/registers", json={"code": code, "name": "Something else", "applications": ["healthstat"], "record": RECORD})
    body = assert_problem(again, 409, "already-exists")
    assert body["existing"] == f"/v1/registers/{code}"
    shown = (await api.get(f"/v1/registers/{code}")).json()
    assert shown["name"] != "Something else"
    assert len((await api.get("/v1/audit-events", params={"action": "register.added"})).json()["items"]) == 1


async def test_a_register_for_an_unknown_application_is_422_naming_the_allowed_ones(api: Api) -> None:
    response = await api.post(
        "/v1/registers", json={"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["healthstat", "hd4dp3"], "record": RECORD}
    )
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["field"] == "$.applications[1]"
    assert body["errors"][0]["allowed"] == ["hd4dp2", "healthstat"]
    assert_problem(await api.get("/v1/registers/HDBP0500"), 404, "not-found")


async def test_a_register_code_must_follow_the_pattern(api: Api) -> None:
    response = await api.post("/v1/registers", json={"code": "hdbp0500", "name": "", "applications": [], "record": RECORD})
    assert_problem(response, 422, "validation-error")
    assert {e["field"] for e in response.json()["errors"]} == {"$.code", "$.name", "$.applications"}


async def test_an_added_register_can_be_requested(api: Api, app: Litestar) -> None:
    added = await api.post("/v1/registers", json={"code": "HDBP0500", "name": "Belgian Stroke Register", "applications": ["hd4dp2"], "record": RECORD})
    assert added.status_code == 201, added.text
    org = await api.managed_organisation("alice")
    wrong_application = await api.request_access(org["id"], register="HDBP0500")
    assert_problem(wrong_application, 422, "validation-error")
    assert wrong_application.json()["errors"][0]["allowed"] == ["hd4dp2"]
    submitted = await api.request_access(
        org["id"], application="hd4dp2", register="HDBP0500", profile={"role": "local_study_lead"}
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["register"] == "HDBP0500"
    approved = await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    carol = await api.user_id("carol")
    rows = await casbin_rows(app, "p2")
    assert [row[1:5] for row in rows] == [(f"user:{carol}", f"org:{org['id']}", "hd4dp2:HDBP0500", "local_study_lead")]
