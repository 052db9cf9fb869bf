"""The access managers' organisation pages, driven like a browser (cookies, CSRF tokens taken from
the pages' forms) against the app in process: the people of an organisation and their access
(filters, paging), changing, extending and revoking one, granting directly through the people
picker, appointing and removing access managers, and the same refusals as the API."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from eam.ui.i18n import BRUSSELS, end_of_day
from eam.ui.pages import organisation as organisation_pages
from eam.demo import DEMO_USERS
from tests.conftest import Api, Clock, auth

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
NOT_ALLOWED = "You are not allowed to do this."


class Browser:
    """A person's browser: keeps cookies, and the CSRF token of the last page it was shown."""

    def __init__(self, app: Litestar) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://eam.test")
        self.csrf = ""

    async def sign_in(self, username: str) -> None:
        await self.get("/sign-in")
        response = await self.http.post("/sign-in/demo", data={"username": username, "return_to": "/", "_csrf_token": self.csrf})
        assert response.status_code == 303, response.text

    async def get(self, path: str, **params: Any) -> httpx.Response:
        response = await self.http.get(path, params=params or None)
        if found := CSRF_FIELD.search(response.text):
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> httpx.Response:
        return await self.http.post(path, data={**data, **({"_csrf_token": self.csrf} if csrf else {})})


@pytest.fixture
async def browser(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[Browser]:
    """A browser on the app ``client`` started (its lifespan runs while the test does)."""
    visitor = Browser(app)
    yield visitor
    await visitor.http.aclose()


def rows(page: httpx.Response, org_id: str) -> list[str]:
    """The assignments listed on an organisation page, by id, in order."""
    assert page.status_code == 200, page.text
    return re.findall(rf'href="/organisations/{org_id}/assignments/([0-9a-f-]{{36}})"', page.text)


def next_page(page: httpx.Response) -> str | None:
    found = re.search(r'<a href="([^"]+)">Next page</a>', page.text)
    return html.unescape(found.group(1)) if found else None


def instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def grant(api: Api, org_id: str, username: str, application: str, register: str, profile: dict[str, str], by: str = "alice", **extra: Any) -> dict[str, Any]:
    body = {"user_id": await api.user_id(username), "organisation_id": org_id, "application": application, "register": register, "profile": profile, **extra}
    response = await api.post("/v1/assignments", by, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(autouse=True)
async def people(api: Api) -> None:
    """The demo people, known to EAM by their names and e-mail addresses before anything else."""
    for username, (name, email) in DEMO_USERS.items():
        response = await api.get("/v1/me", username, headers=auth(username, name=name, email=email))
        assert response.status_code == 200 and response.json()["email"] == email, response.text


@pytest.fixture
async def brugge(api: Api) -> dict[str, Any]:
    return await api.managed_organisation("alice")


@pytest.fixture
async def leuven(api: Api) -> dict[str, Any]:
    return await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")


async def test_the_people_of_an_organisation_and_their_access_filtered_and_paged(
    api: Api, browser: Browser, brugge: dict[str, Any], leuven: dict[str, Any], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = brugge["id"]
    carol = await api.approved_assignment(org, "carol")  # active, granted by alice's approval
    lead = await grant(api, org, "dave", "hd4dp2", "HDBP0031", {"role": "local_study_lead"})
    later = (clock.now + dt.timedelta(days=10)).isoformat().replace("+00:00", "Z")
    scheduled = await grant(api, org, "dave", "healthstat", "HDBP0211", {"role": "sponsor", "data_level": "sponsor"}, valid_from=later)
    ended = await grant(api, org, "erin", "healthstat", "HDBP0211", {"role": "data_provider", "data_level": "individual"})
    assert (await api.post(f"/v1/assignments/{ended['id']}/revoke", "alice", json={"reason": "Left the team."})).status_code == 200
    elsewhere = await grant(api, leuven["id"], "erin", "healthstat", "HDBP0147", {"role": "sponsor", "data_level": "sponsor"}, by="bob")

    await browser.sign_in("alice")
    home = await browser.get("/")
    assert f'href="/organisations/{org}"' in home.text and 'href="/organisations"' in home.text
    page = await browser.get(f"/organisations/{org}")
    assert "AZ Sint-Jan Brugge" in page.text and "71000436" in page.text
    everyone = rows(page, org)
    assert set(everyone) == {carol["id"], lead["id"], scheduled["id"], ended["id"]} and elsewhere["id"] not in everyone
    assert everyone[0] == carol["id"]  # by person: Carol, Dave, Dave, Erin
    assert "Alice Access-Manager" in page.text  # who granted
    assert everyone[1:] == [lead["id"], scheduled["id"], ended["id"]]  # then by application and register

    assert rows(await browser.get(f"/organisations/{org}", person="CAROL"), org) == [carol["id"]]
    assert rows(await browser.get(f"/organisations/{org}", person="dave@azsintjan"), org) == [lead["id"], scheduled["id"]]
    assert rows(await browser.get(f"/organisations/{org}", application="hd4dp2"), org) == [lead["id"]]
    assert rows(await browser.get(f"/organisations/{org}", register="HDBP0211"), org) == [scheduled["id"], ended["id"]]
    assert rows(await browser.get(f"/organisations/{org}", status="active"), org) == [carol["id"], lead["id"]]
    assert rows(await browser.get(f"/organisations/{org}", status="scheduled"), org) == [scheduled["id"]]
    assert rows(await browser.get(f"/organisations/{org}", status="ended"), org) == [ended["id"]]
    nobody = await browser.get(f"/organisations/{org}", person="nobody", status="active")
    assert rows(nobody, org) == [] and "No access matches these filters." in nobody.text

    monkeypatch.setattr(organisation_pages, "ASSIGNMENTS_PAGE", 3)
    first = await browser.get(f"/organisations/{org}")
    assert rows(first, org) == everyone[:3]
    following = next_page(first)
    assert following is not None and "cursor=" in following
    second = await browser.get(following)
    assert rows(second, org) == everyone[3:] and next_page(second) is None

    monkeypatch.setattr(organisation_pages, "ASSIGNMENTS_PAGE", 1)
    seen, path = [], f"/organisations/{org}?status=active"
    while path:
        page = await browser.get(path)
        seen += rows(page, org)
        path = next_page(page)
        assert path is None or "status=active" in path  # the filters stay on every page
    assert seen == [carol["id"], lead["id"]]
    assert (await browser.get(f"/organisations/{org}", cursor="not-a-cursor")).status_code == 422


async def test_change_the_profile_and_the_end_date_in_place(api: Api, browser: Browser, brugge: dict[str, Any], clock: Clock) -> None:
    org = brugge["id"]
    held = await api.approved_assignment(org, "carol")
    path = f"/organisations/{org}/assignments/{held['id']}"
    await browser.sign_in("alice")
    page = await browser.get(path)
    assert page.status_code == 200 and "Carol Employee" in page.text and "Data Provider / Hospital" in page.text

    changed = await browser.post(f"{path}/profile", {"profile_key": "sponsor/individual", "comment": "Now coordinates the study."})
    assert changed.status_code == 303 and changed.headers["location"] == f"{path}?notice=changed"
    now = (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()
    assert now["profile"] == {"role": "sponsor", "data_level": "individual", "author_group": None} and now["status"] == "active"

    refused = await browser.post(f"{path}/profile", {"profile_key": "local_study_lead", "comment": "typed comment"})
    assert refused.status_code == 422 and "Some fields need your attention." in refused.text
    assert 'value="typed comment"' in refused.text

    today = clock.now.astimezone(BRUSSELS).date()
    day = today + dt.timedelta(days=90)
    extended = await browser.post(f"{path}/end-date", {"valid_until": day.isoformat()})
    assert extended.status_code == 303, extended.text
    assert instant((await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["valid_until"]) == end_of_day(day)
    shown = await browser.get(path)
    assert f'value="{day.isoformat()}"' in shown.text

    past = (today - dt.timedelta(days=2)).isoformat()
    refused = await browser.post(f"{path}/end-date", {"valid_until": past})
    assert refused.status_code == 422 and "Please give a date in the future." in refused.text and f'value="{past}"' in refused.text
    assert (await browser.post(f"{path}/end-date", {"valid_until": ""})).status_code == 422
    assert instant((await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["valid_until"]) == end_of_day(day)

    removed = await browser.post(f"{path}/end-date", {"valid_until": "", "remove": "1"})
    assert removed.status_code == 303
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["valid_until"] is None


async def test_a_support_profile_needs_a_valid_author_group(api: Api, browser: Browser, brugge: dict[str, Any]) -> None:
    org = brugge["id"]
    held = await grant(api, org, "dave", "hd4dp2", "HDBP0147", {"role": "local_study_associate"})
    path = f"/organisations/{org}/assignments/{held['id']}"
    await browser.sign_in("alice")
    await browser.get(path)
    missing = await browser.post(f"{path}/profile", {"profile_key": "local_study_support"})
    assert missing.status_code == 422 and 'id="author_group-error"' in missing.text  # the domain's rule, on the field
    invalid = await browser.post(f"{path}/profile", {"profile_key": "local_study_support", "author_group": "<cardio>"})
    assert invalid.status_code == 422 and "This value is not valid." in invalid.text and 'value="&lt;cardio&gt;"' in invalid.text
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["profile"]["role"] == "local_study_associate"
    done = await browser.post(f"{path}/profile", {"profile_key": "local_study_support", "author_group": "cardio team"})
    assert done.status_code == 303
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["profile"] == {"role": "local_study_support", "data_level": None, "author_group": "cardio team"}


async def test_revoke_needs_a_reason_and_keeps_what_was_typed(api: Api, browser: Browser, brugge: dict[str, Any]) -> None:
    org = brugge["id"]
    held = await api.approved_assignment(org, "carol")
    path = f"/organisations/{org}/assignments/{held['id']}"
    await browser.sign_in("alice")
    await browser.get(path)

    blank = await browser.post(f"{path}/revoke", {"reason": "   "})
    assert blank.status_code == 422 and "This field is required." in blank.text
    short = await browser.post(f"{path}/revoke", {"reason": "ab"})
    assert short.status_code == 422 and "Please write at least 3 characters." in short.text and ">ab</textarea>" in short.text
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["status"] == "active"

    revoked = await browser.post(f"{path}/revoke", {"reason": "Left the organisation."})
    assert revoked.status_code == 303 and revoked.headers["location"] == f"{path}?notice=revoked"
    after = (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()
    assert after["status"] == "revoked" and after["revoke_reason"] == "Left the organisation."
    shown = await browser.get(revoked.headers["location"])
    assert "The access was revoked." in shown.text and "Left the organisation." in shown.text and f"{path}/revoke" not in shown.text

    again = await browser.post(f"{path}/revoke", {"reason": "Twice."})
    assert again.status_code == 409 and "This access is no longer active." in again.text


async def test_grant_access_directly_through_the_people_picker(api: Api, browser: Browser, brugge: dict[str, Any], clock: Clock) -> None:
    org = brugge["id"]
    assert (await api.request_access(org, "carol")).status_code == 201  # carol is now one of the organisation's people
    carol = await api.user_id("carol")
    await browser.sign_in("alice")
    form = await browser.get(f"/organisations/{org}/grant")
    assert form.status_code == 200 and 'hx-get="/organisations/' in form.text
    picked = await browser.get(f"/organisations/{org}/people", person_q="carol")
    assert picked.status_code == 200 and f'name="user_id" value="{carol}"' in picked.text and "Carol Employee" in picked.text
    assert "Erin" not in (await browser.get(f"/organisations/{org}/people", person_q="e")).text  # not one of alice's people

    incomplete = await browser.post(f"/organisations/{org}/assignments", {"person_q": "carol", "user_id": carol, "application": "healthstat", "register": "HDBP0031", "comment": "kept"})
    assert incomplete.status_code == 422 and 'id="profile_key-error"' in incomplete.text  # no profile chosen
    assert ">kept</textarea>" in incomplete.text and 'value="carol"' in incomplete.text and f'value="{carol}" checked' in incomplete.text

    day = clock.now.astimezone(BRUSSELS).date() + dt.timedelta(days=30)
    body = {"person_q": "carol", "user_id": carol, "application": "healthstat", "register": "HDBP0031", "profile_key": "sponsor/sponsor", "valid_until": day.isoformat(), "comment": "Coordinator."}
    granted = await browser.post(f"/organisations/{org}/assignments", body)
    assert granted.status_code == 303, granted.text
    location = granted.headers["location"]
    assignment_id = re.fullmatch(rf"/organisations/{org}/assignments/([0-9a-f-]{{36}})\?notice=granted", location).group(1)  # type: ignore[union-attr]
    created = (await api.get(f"/v1/assignments/{assignment_id}", "alice")).json()
    assert created["user"]["id"] == carol and created["register"] == "HDBP0031" and created["status"] == "active"
    assert created["profile"]["role"] == "sponsor" and instant(created["valid_until"]) == end_of_day(day)
    assert created["created_by"]["id"] == await api.user_id("alice")
    assert "The access was granted." in (await browser.get(location)).text

    twice = await browser.post(f"/organisations/{org}/assignments", body)
    assert twice.status_code == 409 and "This person already holds access to this register in this application." in twice.text


async def test_granting_access_to_yourself_is_refused(api: Api, browser: Browser, brugge: dict[str, Any]) -> None:
    org = brugge["id"]
    alice = await api.user_id("alice")
    await browser.sign_in("alice")
    await browser.get(f"/organisations/{org}/grant")
    assert f'value="{alice}"' in (await browser.get(f"/organisations/{org}/people", person_q="alice")).text
    body = {"person_q": "alice", "user_id": alice, "application": "healthstat", "register": "HDBP0147", "profile_key": "sponsor/sponsor", "comment": "for me"}
    refused = await browser.post(f"/organisations/{org}/assignments", body)
    assert refused.status_code == 403
    assert NOT_ALLOWED in refused.text and "another access manager (four-eyes rule)" in refused.text
    assert ">for me</textarea>" in refused.text
    listed = await api.get("/v1/assignments", "admin", params={"organisation_id": org})
    assert listed.json()["items"] == []


async def test_appoint_and_remove_access_managers_but_never_the_last(api: Api, browser: Browser, brugge: dict[str, Any]) -> None:
    org = brugge["id"]
    assert (await api.request_access(org, "dave")).status_code == 201
    dave, alice = await api.user_id("dave"), await api.user_id("alice")
    await browser.sign_in("alice")
    page = await browser.get(f"/organisations/{org}/access-managers")
    assert page.status_code == 200 and "Alice Access-Manager" in page.text and "alice@azsintjan.example" in page.text
    assert "Platform Admin" in page.text  # who appointed alice

    found = await browser.get(f"/organisations/{org}/people", person_q="dav")
    assert f'value="{dave}"' in found.text
    appointed = await browser.post(f"/organisations/{org}/access-managers", {"person_q": "dav", "user_id": dave})
    assert appointed.status_code == 303
    managers = (await api.get(f"/v1/organisations/{org}/access-managers", "alice")).json()["items"]
    assert {m["user_id"]: m["appointed_by"]["id"] for m in managers}[dave] == alice
    shown = await browser.get(appointed.headers["location"])
    assert "The access manager was appointed." in shown.text and "Dave Employee" in shown.text

    again = await browser.post(f"/organisations/{org}/access-managers", {"person_q": "dav", "user_id": dave})
    assert again.status_code == 409 and "This person is already an access manager here." in again.text and 'value="dav"' in again.text
    nobody = await browser.post(f"/organisations/{org}/access-managers", {"person_q": "x"})
    assert nobody.status_code == 422 and "This field is required." in nobody.text

    removed = await browser.post(f"/organisations/{org}/access-managers/{dave}/remove", {})
    assert removed.status_code == 303
    assert [m["user_id"] for m in (await api.get(f"/v1/organisations/{org}/access-managers", "alice")).json()["items"]] == [alice]
    last = await browser.post(f"/organisations/{org}/access-managers/{alice}/remove", {})
    assert last.status_code == 409 and "An organisation always keeps at least one access manager." in last.text
    assert [m["user_id"] for m in (await api.get(f"/v1/organisations/{org}/access-managers", "alice")).json()["items"]] == [alice]


async def test_another_organisations_pages_and_changes_are_refused(api: Api, browser: Browser, brugge: dict[str, Any], leuven: dict[str, Any]) -> None:
    theirs = leuven["id"]
    held = await grant(api, theirs, "erin", "healthstat", "HDBP0147", {"role": "sponsor", "data_level": "sponsor"}, by="bob")
    bob, erin = await api.user_id("bob"), await api.user_id("erin")
    await browser.sign_in("alice")
    await browser.get("/")
    for path in ["", "/grant", "/access-managers", f"/assignments/{held['id']}", "/people?person_q=erin"]:
        refused = await browser.get(f"/organisations/{theirs}{path}")
        assert refused.status_code == 403 and NOT_ALLOWED in refused.text, path
        assert "Erin" not in refused.text
    assert (await browser.get(f"/organisations/{brugge['id']}/assignments/{held['id']}")).status_code == 404
    assert (await browser.get(f"/organisations/{uuid.uuid4()}")).status_code == 404

    on_theirs = f"/organisations/{theirs}/assignments/{held['id']}"
    for path, body in [
        (f"{on_theirs}/revoke", {"reason": "Not yours to revoke."}),
        (f"{on_theirs}/profile", {"profile_key": "sponsor/individual"}),
        (f"{on_theirs}/end-date", {"valid_until": "2031-01-01"}),
        (f"/organisations/{brugge['id']}/assignments/{held['id']}/revoke", {"reason": "Through my own organisation."}),
        (f"/organisations/{theirs}/assignments", {"user_id": erin, "application": "healthstat", "register": "HDBP0031", "profile_key": "sponsor/sponsor"}),
        (f"/organisations/{theirs}/access-managers", {"user_id": await api.user_id("alice")}),
        (f"/organisations/{theirs}/access-managers/{bob}/remove", {}),
    ]:
        refused = await browser.post(path, body)
        assert refused.status_code in (403, 404), (path, refused.status_code)
    after = (await api.get(f"/v1/assignments/{held['id']}", "bob")).json()
    assert after["status"] == "active" and after["profile"]["data_level"] == "sponsor" and after["valid_until"] is None
    assert len((await api.get("/v1/assignments", "admin", params={"organisation_id": theirs})).json()["items"]) == 1
    assert [m["user_id"] for m in (await api.get(f"/v1/organisations/{theirs}/access-managers", "bob")).json()["items"]] == [bob]

    await browser.sign_in("carol")  # an employee manages no organisation
    assert 'href="/organisations"' not in (await browser.get("/")).text
    assert (await browser.get(f"/organisations/{brugge['id']}")).status_code == 403


async def test_changes_without_a_csrf_token_are_refused(api: Api, browser: Browser, brugge: dict[str, Any]) -> None:
    org = brugge["id"]
    held = await api.approved_assignment(org, "carol")
    await browser.sign_in("alice")
    await browser.get(f"/organisations/{org}/assignments/{held['id']}")
    refused = await browser.post(f"/organisations/{org}/assignments/{held['id']}/revoke", {"reason": "No token."}, csrf=False)
    assert refused.status_code == 403 and "This form has expired" in refused.text
    forged = await browser.post(f"/organisations/{org}/access-managers/{await api.user_id('alice')}/remove", {"_csrf_token": "forged"}, csrf=False)
    assert forged.status_code == 403
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["status"] == "active"


async def test_a_grant_breaking_a_separation_of_duties_is_refused_naming_the_rule(api: Api, browser: Browser, brugge: dict[str, Any]) -> None:
    org = brugge["id"]
    carol = await api.user_id("carol")
    lead = {"user_id": carol, "organisation_id": org, "application": "hd4dp2", "register": "HDBP0031", "profile": {"role": "local_study_lead"}}
    assert (await api.post("/v1/assignments", "alice", json=lead)).status_code == 201
    await browser.sign_in("alice")
    await browser.get(f"/organisations/{org}/grant")
    body = {"person_q": "carol", "user_id": carol, "application": "healthstat", "register": "HDBP0031", "profile_key": "sponsor/sponsor", "comment": "Coordinator."}
    refused = await browser.post(f"/organisations/{org}/assignments", body)
    assert refused.status_code == 409
    assert "must be held by different people (separation of duties)" in refused.text and "Rule: lead_not_sponsor." in refused.text
    assert ">Coordinator.</textarea>" in refused.text
