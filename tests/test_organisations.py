"""Organisations: created by platform admins, identified by NIHDI and enterprise number, never deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, assert_problem, error_fields


async def audit_actions(api: Api, target_id: str) -> list[str]:
    response = await api.get("/v1/audit-events", params={"target_id": target_id})
    assert response.status_code == 200, response.text
    return [event["action"] for event in response.json()["items"]]


async def search(api: Api, q: str, user: str = "carol", **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/organisations", user, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_platform_admin_creates_an_organisation(api: Api) -> None:
    response = await api.post("/v1/organisations", json={"name": "  AZ Sint-Jan Brugge ", "nihdi": "71000436"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "AZ Sint-Jan Brugge"
    assert body["nihdi"] == "71000436"
    assert body["kbo"] is None
    assert body["status"] == "active"
    shown = await api.get(f"/v1/organisations/{body['id']}", "carol")
    assert shown.status_code == 200
    assert shown.json() == body
    assert await audit_actions(api, body["id"]) == ["organisation.created"]


async def test_employee_cannot_create_an_organisation(api: Api) -> None:
    response = await api.post("/v1/organisations", "carol", json={"name": "Rogue Clinic", "nihdi": "71000436"})
    assert_problem(response, 403, "forbidden")
    assert await search(api, "", user="admin") == []


async def test_access_manager_cannot_create_an_organisation(api: Api) -> None:
    await api.managed_organisation("alice")
    response = await api.post("/v1/organisations", "alice", json={"name": "UZ Leuven", "nihdi": "71000931"})
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("spelling", "stored"),
    [
        ("71000436", "71000436"),
        ("710 004 36", "71000436"),
        ("710.004.36", "71000436"),
        ("7-10004-36", "71000436"),
        (" 71000436 ", "71000436"),
    ],
)
async def test_nihdi_separators_are_accepted_and_normalised(api: Api, spelling: str, stored: str) -> None:
    org = await api.organisation(nihdi=spelling)
    assert org["nihdi"] == stored


@pytest.mark.parametrize(
    "nihdi",
    [
        "7100043",  # 7 digits
        "710004361",  # 9 digits
        "7100043A",  # a letter
        "ABCDEFGH",
        "71000436X",
        "710_004_36",  # not a separator
        "        ",  # only blanks
        "７１０００４３６",  # full-width digits are not NIHDI digits
        "٧١٠٠٠٤٣٦",  # Arabic-Indic digits neither
        "",
    ],
)
async def test_nihdi_must_be_eight_digits(api: Api, nihdi: str) -> None:
    response = await api.post("/v1/organisations", json={"name": "AZ Sint-Jan Brugge", "nihdi": nihdi})
    assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.nihdi"}
    assert await search(api, "", user="admin") == []


@pytest.mark.parametrize("spelling", ["0403.254.239", "BE 0403 254 239", "403254239", "0403254239", "be0403254239", "BE 0403.254.239"])
async def test_kbo_spellings_normalise_to_ten_digits(api: Api, spelling: str) -> None:
    org = await api.organisation(kbo=spelling)
    assert org["kbo"] == "0403254239"
    assert org["kbo_formatted"] == "0403.254.239"


@pytest.mark.parametrize(
    "kbo",
    [
        "0403170701",
        "1000000021",  # enterprise numbers may start with 1
        "0399998997",  # first eight digits a multiple of 97: the check digits are 97, not 00
    ],
)
async def test_kbo_check_digits_are_97_minus_the_first_eight_modulo_97(api: Api, kbo: str) -> None:
    org = await api.organisation(kbo=kbo)
    assert org["kbo"] == kbo


@pytest.mark.parametrize(
    "kbo",
    [
        "0403254238",  # check digits off by one
        "0403254293",  # check digits swapped
        "0399998900",  # a multiple of 97 with check digits 00
        "2403254239",  # must start with 0 or 1
        "04032542390",  # 11 digits
        "40325423",  # 8 digits
        "0403.254.23X",
        "NL 0403 254 239",
        "０４０３２５４２３９",  # full-width digits
        "４０３２５４２３９",  # nine full-width digits
        "0４０３２５４２３９",  # a leading ASCII 0, then full-width digits
    ],
)
async def test_kbo_with_bad_format_or_check_digits_is_refused(api: Api, kbo: str) -> None:
    response = await api.post("/v1/organisations", json={"name": "AZ Sint-Jan Brugge", "nihdi": "71000436", "kbo": kbo})
    assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.kbo"}
    assert await search(api, "", user="admin") == []


async def test_duplicate_nihdi_is_refused_with_a_pointer(api: Api) -> None:
    first = await api.organisation(nihdi="71000436")
    again = await api.post("/v1/organisations", json={"name": "Another name", "nihdi": "710.004.36"})
    body = assert_problem(again, 409, "already-exists")
    assert body["existing"] == f"/v1/organisations/{first['id']}"
    assert [org["id"] for org in await search(api, "", user="admin")] == [first["id"]]


async def test_duplicate_kbo_in_another_spelling_is_refused_with_a_pointer(api: Api) -> None:
    first = await api.organisation(kbo="0403.254.239")
    again = await api.post("/v1/organisations", json={"name": "UZ Leuven", "nihdi": "71000931", "kbo": "BE 403254239"})
    body = assert_problem(again, 409, "already-exists")
    assert body["existing"] == f"/v1/organisations/{first['id']}"
    # nor may a PATCH give another organisation that enterprise number
    other = await api.organisation(name="UZ Leuven", nihdi="71000931")
    patched = await api.patch(f"/v1/organisations/{other['id']}", json={"kbo": "0403254239"})
    assert assert_problem(patched, 409, "already-exists")["existing"] == f"/v1/organisations/{first['id']}"
    assert (await api.get(f"/v1/organisations/{other['id']}")).json()["kbo"] is None


async def test_every_invalid_field_is_listed_at_once(api: Api) -> None:
    # strings in the wrong shape (the published patterns): blank, a letter, a 2 leading the KBO
    response = await api.post("/v1/organisations", json={"name": "   ", "nihdi": "7100043X", "kbo": "2403254238"})
    assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.name", "$.nihdi", "$.kbo"}
    messages = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert messages == {
        "$.name": "must be non-blank text without NUL characters",
        "$.nihdi": "must be an 8-digit NIHDI number",
        "$.kbo": "must be a Belgian enterprise number (10 digits, valid check digits)",
    }
    # the right shape, wrong check digits: a rule no pattern can state
    response = await api.post("/v1/organisations", json={"name": "AZ", "nihdi": "71000436", "kbo": "0403254238"})
    assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.kbo"}
    # values that fail the schema itself, plus an unknown field
    response = await api.post("/v1/organisations", json={"name": "", "nihdi": 71000436, "colour": "blue"})
    assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {"$.name", "$.nihdi", "$.colour"}
    assert await search(api, "", user="admin") == []


async def test_search_by_nihdi(api: Api) -> None:
    brugge = await api.organisation()
    await api.organisation(name="UZ Leuven", nihdi="71000931")
    assert [org["id"] for org in await search(api, "71000436")] == [brugge["id"]]
    assert [org["id"] for org in await search(api, "710.004.36")] == [brugge["id"]]
    assert await search(api, "71009999") == []


@pytest.mark.parametrize("spelling", ["0403254239", "0403.254.239", "BE 0403 254 239", "403254239", "403.254.239"])
async def test_search_by_kbo_in_any_spelling(api: Api, spelling: str) -> None:
    brugge = await api.organisation(kbo="0403254239")
    await api.organisation(name="UZ Leuven", nihdi="71000931", kbo="0403170701")
    assert [org["id"] for org in await search(api, spelling)] == [brugge["id"]]


async def test_search_by_part_of_the_name_ignores_case_and_keeps_accents(api: Api) -> None:
    etienne = await api.organisation(name="Clinique Saint-Étienne", nihdi="71000535")
    await api.organisation(name="AZ Sint-Jan Brugge", nihdi="71000436")
    assert etienne["name"] == "Clinique Saint-Étienne"
    for q in ("Saint-Étienne", "saint-étienne", "SAINT-ÉTIENNE", "étienne", "clinique"):
        found = await search(api, q)
        assert [org["name"] for org in found] == ["Clinique Saint-Étienne"], q
    assert [org["name"] for org in await search(api, "sint-jan")] == ["AZ Sint-Jan Brugge"]
    assert [org["name"] for org in await search(api, "SINT")] == ["AZ Sint-Jan Brugge"]


async def test_search_treats_like_wildcards_literally(api: Api) -> None:
    await api.organisation(name="AZ Sint-Jan Brugge", nihdi="71000436")
    await api.organisation(name="Centre 100% Santé", nihdi="71000535")
    assert [org["name"] for org in await search(api, "100%")] == ["Centre 100% Santé"]
    assert [org["name"] for org in await search(api, "%")] == ["Centre 100% Santé"]
    assert await search(api, "S_nt") == []  # "_" is no single-character wildcard (and punctuation is ignored)
    assert [org["name"] for org in await search(api, "AZ_Sint")] == ["AZ Sint-Jan Brugge"]


async def test_search_pages_with_a_cursor(api: Api) -> None:
    for name, nihdi in (("Beta", "71000101"), ("alpha", "71000202"), ("Gamma", "71000303"), ("Delta", "71000404"), ("Epsilon", "71000505")):
        await api.organisation(name=name, nihdi=nihdi)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await api.get("/v1/organisations", "carol", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen.extend(org["name"] for org in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 5
    assert pages == 3
    assert len(seen) == 5 and len(set(seen)) == 5
    assert seen == ["alpha", "Beta", "Delta", "Epsilon", "Gamma"]
    # the cursor of a page keeps the search it came from
    first = (await api.get("/v1/organisations", "carol", params={"q": "a", "limit": 1})).json()
    second = (await api.get("/v1/organisations", "carol", params={"q": "a", "limit": 1, "cursor": first["next_cursor"]})).json()
    assert [org["name"] for org in first["items"]] == ["alpha"]
    assert [org["name"] for org in second["items"]] == ["Beta"]
    bad = await api.get("/v1/organisations", "carol", params={"cursor": "not-a-cursor"})
    assert_problem(bad, 422, "validation-error")


async def test_search_filters_by_status(api: Api) -> None:
    brugge = await api.organisation()
    leuven = await api.organisation(name="UZ Leuven", nihdi="71000931")
    await api.patch(f"/v1/organisations/{leuven['id']}", json={"status": "disabled"})
    active = await api.get("/v1/organisations", "carol", params={"status": "active"})
    assert [org["id"] for org in active.json()["items"]] == [brugge["id"]]
    disabled = await api.get("/v1/organisations", "carol", params={"status": "disabled"})
    assert [org["id"] for org in disabled.json()["items"]] == [leuven["id"]]


async def test_admin_renames_disables_and_reenables_with_an_audit_event_each(api: Api) -> None:
    org = await api.organisation()
    renamed = await api.patch(f"/v1/organisations/{org['id']}", json={"name": "AZ Sint-Jan Brugge-Oostende"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "AZ Sint-Jan Brugge-Oostende"
    assert [o["id"] for o in await search(api, "oostende")] == [org["id"]]

    disabled = await api.patch(f"/v1/organisations/{org['id']}", json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"

    enabled = await api.patch(f"/v1/organisations/{org['id']}", json={"status": "active"})
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "active"

    actions = await audit_actions(api, org["id"])
    assert actions == ["organisation.enabled", "organisation.disabled", "organisation.updated", "organisation.created"]
    events = (await api.get("/v1/audit-events", params={"target_id": org["id"], "action": "organisation.disabled"})).json()["items"]
    assert events[0]["before"]["status"] == "active"
    assert events[0]["after"]["status"] == "disabled"
    assert events[0]["actor_id"] == await api.user_id("admin")

    # a PATCH that changes nothing records nothing
    same = await api.patch(f"/v1/organisations/{org['id']}", json={"status": "active"})
    assert same.status_code == 200
    assert len(await audit_actions(api, org["id"])) == 4


async def test_only_platform_admins_patch_organisations(api: Api) -> None:
    org = await api.managed_organisation("alice")
    for user in ("alice", "carol"):
        for body in ({"name": "Renamed"}, {"status": "disabled"}, {"kbo": "0403254239"}):
            response = await api.patch(f"/v1/organisations/{org['id']}", user, json=body)
            assert_problem(response, 403, "forbidden")
    unchanged = (await api.get(f"/v1/organisations/{org['id']}")).json()
    assert (unchanged["name"], unchanged["status"], unchanged["kbo"]) == ("AZ Sint-Jan Brugge", "active", None)
    assert await audit_actions(api, org["id"]) == ["organisation.created"]


async def test_patch_validates_name_and_kbo(api: Api) -> None:
    org = await api.organisation()
    blank = await api.patch(f"/v1/organisations/{org['id']}", json={"name": "   "})
    assert_problem(blank, 422, "validation-error")
    assert error_fields(blank) == {"$.name"}
    bad_kbo = await api.patch(f"/v1/organisations/{org['id']}", json={"kbo": "0403254238"})
    assert_problem(bad_kbo, 422, "validation-error")
    assert error_fields(bad_kbo) == {"$.kbo"}
    nihdi = await api.patch(f"/v1/organisations/{org['id']}", json={"nihdi": "71000931"})
    assert_problem(nihdi, 422, "validation-error")
    assert error_fields(nihdi) == {"$.nihdi"}
    kbo = await api.patch(f"/v1/organisations/{org['id']}", json={"kbo": "BE 0403 254 239"})
    assert kbo.status_code == 200, kbo.text
    assert kbo.json()["kbo"] == "0403254239"
    assert (await api.get(f"/v1/organisations/{org['id']}")).json()["nihdi"] == "71000436"


async def test_organisations_are_never_deleted(api: Api) -> None:
    org = await api.organisation()
    response = await api.delete(f"/v1/organisations/{org['id']}")
    assert_problem(response, 405, "method-not-allowed")
    still = await api.get(f"/v1/organisations/{org['id']}")
    assert still.status_code == 200
    assert still.json()["status"] == "active"
    collection = await api.delete("/v1/organisations")
    assert_problem(collection, 405, "method-not-allowed")
    assert len(await search(api, "", user="admin")) == 1
