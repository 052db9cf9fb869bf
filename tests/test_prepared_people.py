"""People registered by an access manager before their first sign-in, and linked at that sign-in."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, assert_problem, auth, error_fields

JAN = "85073003328"  # a valid NISS (check digits 28)
LIES = "90020112305"


def person(number: str = JAN, name: str = "Jan Peeters", email: str = "jan.peeters@azsintjan.be") -> dict[str, Any]:
    return {"national_number": number, "display_name": name, "email": email}


async def test_a_prepared_person_receives_access_and_keeps_it_at_first_sign_in(api: Api) -> None:
    org = await api.managed_organisation("alice")
    registered = await api.post(f"/v1/organisations/{org['id']}/people", "alice", json=person("85.07.30-033.28"))
    assert registered.status_code == 201, registered.text
    prepared = registered.json()
    assert prepared["signed_in"] is False and prepared["display_name"] == "Jan Peeters"
    assert [o["nihdi"] for o in prepared["organisations"]] == [org["nihdi"]]
    assert JAN not in registered.text

    # the same national number again: the same person, nothing new
    again = await api.post(f"/v1/organisations/{org['id']}/people", "alice", json=person())
    assert again.status_code == 200 and again.json()["id"] == prepared["id"]

    granted = await api.post(
        "/v1/assignments",
        "alice",
        json={"user_id": prepared["id"], "organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147",
              "profile": {"role": "data_provider", "data_level": "hospital"}},
    )
    assert granted.status_code == 201, granted.text

    # first sign-in with that national number: linked, not duplicated
    me = await api.client.get("/v1/me", headers=auth("jan", national_number=JAN, name="Jan Peeters"))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == prepared["id"]
    assert [a["register"] for a in me.json()["assignments"]] == ["HDBP0147"]
    found = (await api.get("/v1/people", "alice", params={"q": "Jan"})).json()["items"]
    assert [(p["id"], p["signed_in"]) for p in found] == [(prepared["id"], True)]
    events = (await api.get("/v1/audit-events", "admin", params={"action": "person.linked"})).json()["items"]
    assert [e["target_id"] for e in events] == [prepared["id"]]


async def test_a_known_person_is_added_not_duplicated(api: Api) -> None:
    org = await api.managed_organisation("alice")
    me = await api.client.get("/v1/me", headers=auth("lies", national_number=LIES, name="Lies Maes"))
    registered = await api.post(f"/v1/organisations/{org['id']}/people", "alice", json=person(LIES, "Someone Else"))
    assert registered.status_code == 201
    body = registered.json()
    assert body["id"] == me.json()["id"] and body["signed_in"] is True
    assert body["display_name"] == "Lies Maes"  # a signed-in person's name is their provider's


async def test_registering_checks_input_and_rights(api: Api) -> None:
    org = await api.managed_organisation("alice")
    bad = await api.post(f"/v1/organisations/{org['id']}/people", "alice", json=person("85073003329", name=" ", email="nope"))
    assert_problem(bad, 422, "validation-error")
    assert error_fields(bad) >= {"$.display_name"} or error_fields(bad) >= {"$.national_number"}
    bad_number = await api.post(f"/v1/organisations/{org['id']}/people", "alice", json=person("85073003329"))
    assert error_fields(assert_problem(bad_number, 422, "validation-error") and bad_number) == {"$.national_number"}
    assert_problem(await api.post(f"/v1/organisations/{org['id']}/people", "carol", json=person()), 403, "forbidden")
    listed = (await api.get("/v1/people", "alice", params={"q": "Jan"})).json()["items"]
    assert listed == []
