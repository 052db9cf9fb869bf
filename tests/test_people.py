"""The people directory: access managers find the people of their organisations, admins everyone."""

from __future__ import annotations

from tests.conftest import Api, assert_problem


async def names(api: Api, user: str, q: str | None = None) -> list[str]:
    response = await api.get("/v1/people", user, params={"q": q} if q is not None else {})
    assert response.status_code == 200, response.text
    return [person["display_name"] for person in response.json()["items"]]


async def test_access_managers_find_only_people_related_to_their_organisations(api: Api) -> None:
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    assert (await api.request_access(brugge["id"], "carol")).status_code == 201
    assert (await api.request_access(leuven["id"], "erin")).status_code == 201
    await api.user_id("dave")  # signed in once, related to no organisation

    alice_sees = await names(api, "alice")
    assert "carol" in alice_sees and "alice" in alice_sees
    assert "erin" not in alice_sees and "bob" not in alice_sees and "dave" not in alice_sees
    assert "dave" in await names(api, "admin")
    # by part of the name or e-mail, any case; LIKE wildcards are literal
    assert await names(api, "alice", "CAR") == ["carol"]
    assert await names(api, "alice", "%") == []
    response = await api.get("/v1/people", "alice", params={"q": "carol"})
    person = response.json()["items"][0]
    assert [org["nihdi"] for org in person["organisations"]] == ["71000436"]
    assert "national_number" not in response.text


async def test_employees_cannot_look_people_up(api: Api) -> None:
    await api.managed_organisation("alice")
    assert_problem(await api.get("/v1/people", "carol"), 403, "forbidden")
