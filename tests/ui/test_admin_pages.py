"""Platform admin pages and the audit trail page, in process: a person signs in on the demo
sign-in form (development only), keeps their cookies, and posts the pages' forms with the CSRF
token the pages carry. Set-up and checks go through the API, which the pages share rules with."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

from eam.ui.i18n import BRUSSELS
from tests.conftest import Api, Clock
from tests.test_service_clients import assert_authenticates, assert_refused

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
NOT_ALLOWED = "You are not allowed to do this."


class Browser:
    """One person's browser: their own cookies, and the CSRF token of the forms they were shown."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token = ""

    async def sign_in(self, username: str) -> None:
        page = await self.http.get("/sign-in")
        assert page.status_code == 200, page.text
        match = CSRF.search(page.text)
        assert match, "the sign-in page carries a CSRF token"
        self.token = match.group(1)
        response = await self.http.post("/sign-in/demo", data={"_csrf_token": self.token, "username": username, "return_to": "/"})
        assert response.status_code == 303, response.text

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params)

    async def post(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, data={"_csrf_token": self.token, **(data or {})})


@pytest.fixture
async def browser(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[Callable[[str], Awaitable[Browser]]]:
    """Signs a person in, in a browser of their own (the app is already serving, through ``client``)."""
    opened: list[httpx.AsyncClient] = []

    async def open_as(username: str) -> Browser:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://eam.test")
        opened.append(http)
        person = Browser(http)
        await person.sign_in(username)
        return person

    yield open_as
    for http in opened:
        await http.aclose()


def field_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def shown_secret(html: str) -> str:
    match = re.search(r'id="client-secret" class="secret" readonly value="([^"]+)"', html)
    assert match, "the page shows the secret"
    return match.group(1)


def event_rows(html: str) -> list[str]:
    """The "What" cell of each event on an audit page."""
    return re.findall(r'data-label="What">([^<]*)', html)


async def test_admin_creates_an_organisation_and_keeps_what_was_typed_on_errors(api: Api, browser: Any) -> None:
    admin = await browser("admin")
    refused = await admin.post("/admin/organisations", {"name": "AZ Groeninge", "nihdi": "7100", "kbo": "BE 0207.946.026"})
    assert refused.status_code == 422
    assert "Some fields need your attention." in refused.text
    assert re.search(r'id="nihdi-error">This value is not valid.', refused.text)
    assert 'aria-invalid="true"' in refused.text
    assert (field_value(refused.text, "name"), field_value(refused.text, "nihdi"), field_value(refused.text, "kbo")) == ("AZ Groeninge", "7100", "BE 0207.946.026")
    assert (await api.get("/v1/organisations", params={"q": "groeninge"})).json()["items"] == []

    created = await admin.post("/admin/organisations", {"name": "AZ Groeninge", "nihdi": "71000535", "kbo": "BE 0207.946.026"})
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert location.startswith("/admin/organisations/") and location.endswith("?notice=organisation-created")
    [org] = (await api.get("/v1/organisations", params={"q": "71000535"})).json()["items"]
    assert (org["name"], org["kbo"], org["status"]) == ("AZ Groeninge", "0207946026", "active")
    page = await admin.get(location.split("?")[0], notice="organisation-created")
    assert "AZ Groeninge" in page.text and "(NIHDI 71000535)" in page.text and "0207.946.026" in page.text
    assert "The organisation was added." in page.text and "Appoint the first access manager" in page.text

    # the domain's own rule (one organisation per NIHDI number), with a link to the existing one
    duplicate = await admin.post("/admin/organisations", {"name": "Groeninge again", "nihdi": "71000535"})
    assert duplicate.status_code == 409
    assert "This already exists." in duplicate.text and f'href="/admin/organisations/{org["id"]}"' in duplicate.text
    assert field_value(duplicate.text, "name") == "Groeninge again"
    listed = await admin.get("/admin/organisations", q="groeninge", status="")
    assert listed.status_code == 200 and f'/admin/organisations/{org["id"]}' in listed.text


async def test_admin_disables_and_enables_an_organisation(api: Api, browser: Any) -> None:
    org = await api.organisation()
    admin = await browser("admin")
    disabled = await admin.post(f"/admin/organisations/{org['id']}/status", {"status": "disabled"})
    assert disabled.status_code == 303 and disabled.headers["location"].endswith("?notice=disabled")
    assert (await api.get(f"/v1/organisations/{org['id']}")).json()["status"] == "disabled"
    page = await admin.get(f"/admin/organisations/{org['id']}")
    assert "Enable this organisation again" in page.text and "status-disabled" in page.text
    # a disabled organisation takes no requests: the API says so with the same rule
    assert (await api.request_access(org["id"], "carol")).status_code in (409, 422)

    enabled = await admin.post(f"/admin/organisations/{org['id']}/status", {"status": "active"})
    assert enabled.status_code == 303
    assert (await api.get(f"/v1/organisations/{org['id']}")).json()["status"] == "active"
    assert (await admin.post(f"/admin/organisations/{org['id']}/status", {"status": "gone"})).status_code == 422


async def test_admin_appoints_the_first_access_manager_with_the_people_picker(api: Api, browser: Any) -> None:
    org = await api.organisation()
    erin = await api.user_id("erin")  # people exist once they have signed in
    admin = await browser("admin")

    choices = await admin.get("/people/search", q="eri", field="user_id")
    assert choices.status_code == 200
    assert re.search(rf'<input type="radio" id="user_id-{erin}" name="user_id" value="{erin}"', choices.text)
    assert "dave" not in choices.text
    assert "No one matches" in (await admin.get("/people/search", q="nobody-like-this", field="user_id")).text

    # without a choice, the form comes back with the people found for what was typed
    unchosen = await admin.post(f"/admin/organisations/{org['id']}/access-managers", {"q": "erin"})
    assert unchosen.status_code == 422 and "Choose the person to appoint." in unchosen.text
    assert f'value="{erin}"' in unchosen.text and field_value(unchosen.text, "q") == "erin"

    appointed = await admin.post(f"/admin/organisations/{org['id']}/access-managers", {"q": "erin", "user_id": erin})
    assert appointed.status_code == 303 and appointed.headers["location"].endswith("?notice=appointed")
    [manager] = (await api.get(f"/v1/organisations/{org['id']}/access-managers")).json()["items"]
    assert manager["user_id"] == erin and manager["appointed_by"]["display_name"] == "Platform Admin"
    page = await admin.get(f"/admin/organisations/{org['id']}")
    assert "Platform Admin" in page.text and "Appoint another access manager" in page.text

    again = await admin.post(f"/admin/organisations/{org['id']}/access-managers", {"user_id": erin})
    assert again.status_code == 409 and "already an access manager of this organisation" in again.text


async def test_admin_adds_a_register(api: Api, browser: Any) -> None:
    admin = await browser("admin")
    refused = await admin.post("/admin/registers", {"code": "hdbp0250", "name": "Cystic fibrosis"})
    assert refused.status_code == 422
    assert 'id="code-error"' in refused.text and 'id="applications-error"' in refused.text
    assert field_value(refused.text, "name") == "Cystic fibrosis"
    assert (await api.get("/v1/registers/hdbp0250")).status_code == 404

    record = {"controller": "Sciensano", "legal_basis": "GDPR Art. 6(1)(e) and 9(2)(i)", "purpose": "Quality of care", "retention_years": "30"}
    added = await admin.http.post(
        "/admin/registers",
        data={"_csrf_token": admin.token, "code": "HDBP0250", "name": "Cystic fibrosis", "applications": ["healthstat", "hd4dp2"], **record},
    )
    assert added.status_code == 303 and added.headers["location"] == "/registers/HDBP0250?notice=register-added"
    register = (await api.get("/v1/registers/HDBP0250")).json()
    assert (register["name"], sorted(register["applications"]), register["source"]) == ("Cystic fibrosis", ["hd4dp2", "healthstat"], "api")
    page = await admin.get("/admin/registers")
    assert re.search(r'data-label="Code"><a href="/registers/HDBP0250">HDBP0250</a></td>\s*<td data-label="Name">Cystic fibrosis</td>\s*<td data-label="Applications">healthstat, hd4dp2', page.text)
    duplicate = await admin.http.post("/admin/registers", data={"_csrf_token": admin.token, "code": "HDBP0250", "name": "Again", "applications": ["healthstat"], **record})
    assert duplicate.status_code == 409 and "This already exists." in duplicate.text


async def test_service_client_secret_is_shown_once_and_rotation_replaces_it(api: Api, browser: Any) -> None:
    admin = await browser("admin")
    created = await admin.http.post(
        "/admin/service-clients",
        data={"_csrf_token": admin.token, "name": "Report portal", "client_id": "healthstat-prod", "audiences": ["healthstat"], "scopes": ["tokens:introspect", "audit:read"]},
    )
    assert created.status_code == 200, created.text
    assert "it is shown only this once" in created.text
    secret = shown_secret(created.text)
    assert len(secret) >= 40
    await assert_authenticates(api, "healthstat-prod", secret)
    listed = await admin.get("/admin/service-clients")
    assert "healthstat-prod" in listed.text and "<code>audit:read</code>, <code>tokens:introspect</code>" in listed.text
    assert secret not in listed.text

    rotated = await admin.post("/admin/service-clients/healthstat-prod/rotate-secret")
    assert rotated.status_code == 200 and "The previous secret no longer works." in rotated.text
    new_secret = shown_secret(rotated.text)
    assert new_secret != secret
    await assert_refused(api, "healthstat-prod", secret)
    await assert_authenticates(api, "healthstat-prod", new_secret)

    disabled = await admin.post("/admin/service-clients/healthstat-prod/disable")
    assert disabled.status_code == 303
    await assert_refused(api, "healthstat-prod", new_secret)
    invalid = await admin.post("/admin/service-clients", {"name": "x", "client_id": "Not Valid"})
    assert invalid.status_code == 422 and 'id="client_id-error"' in invalid.text and field_value(invalid.text, "client_id") == "Not Valid"


async def test_admin_rotates_the_signing_key_with_a_reason(api: Api, browser: Any) -> None:
    admin = await browser("admin")
    before = {key["kid"] for key in (await api.get("/v1/signing-keys")).json()["items"]}
    too_short = await admin.post("/admin/signing-keys/rotate", {"reason": "x"})
    assert too_short.status_code == 422 and 'id="reason-error"' in too_short.text
    rotated = await admin.post("/admin/signing-keys/rotate", {"reason": "Yearly rotation"})
    assert rotated.status_code == 303 and rotated.headers["location"].endswith("?notice=rotated")
    keys = (await api.get("/v1/signing-keys")).json()["items"]
    [current] = [key for key in keys if key["status"] == "current"]
    assert current["kid"] not in before
    page = await admin.get("/admin/signing-keys")
    assert current["kid"] in page.text and current["alg"] in page.text
    [event] = (await api.get("/v1/audit-events", params={"action": "signing_key.rotated", "target_id": current["kid"]})).json()["items"]
    assert event["after"]["reason"] == "Yearly rotation"


@pytest.mark.parametrize(
    "path", ["/admin/organisations", "/admin/registers", "/admin/service-clients", "/admin/signing-keys", "/audit"]
)
async def test_employees_get_a_not_allowed_page(api: Api, browser: Any, path: str) -> None:
    org = await api.managed_organisation()
    carol = await browser("carol")
    page = await carol.get(path)
    assert page.status_code == 403 and NOT_ALLOWED in page.text
    assert (await carol.get(f"/admin/organisations/{org['id']}")).status_code == 403
    refused = await carol.post("/admin/organisations", {"name": "Carol's clinic", "nihdi": "71000535"})
    assert refused.status_code == 403 and NOT_ALLOWED in refused.text
    assert (await api.get("/v1/organisations", params={"q": "71000535"})).json()["items"] == []
    home = await carol.get("/")
    assert 'href="/admin/organisations"' not in home.text and 'href="/audit"' not in home.text


async def test_audit_page_filters_by_person_register_and_period(api: Api, browser: Any, clock: Clock) -> None:
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    dave = await api.user_id("dave")
    first_day = clock.now.astimezone(BRUSSELS).date()
    assert (await api.request_access(brugge["id"], "carol")).status_code == 201
    clock.advance(days=2)
    daves = (await api.request_access(brugge["id"], "dave", register="HDBP0031")).json()
    assert (await api.post(f"/v1/access-requests/{daves['id']}/approve", "alice", json={})).status_code == 200
    assert (await api.request_access(leuven["id"], "erin")).status_code == 201
    admin, alice = await browser("admin"), await browser("alice")

    page = await admin.get("/audit")
    assert page.status_code == 200 and 'href="/audit" aria-current="page"' in page.text
    assert "UZ Leuven" in page.text and "AZ Sint-Jan Brugge" in page.text

    by_person = await admin.get("/audit", person_id=dave, q="dave")
    assert event_rows(by_person.text) == ["Access granted", "Request approved", "Access requested"]
    assert by_person.text.count("for dave") == 3 and re.search(rf'name="person_id" value="{dave}"\s*checked', by_person.text)

    by_register = await admin.get("/audit", register="HDBP0031")
    assert event_rows(by_register.text) == ["Access granted", "Request approved", "Access requested"]
    assert "healthstat · HDBP0031" in by_register.text and "HDBP0147" not in by_register.text.split("<table")[1]

    on_first_day = await admin.get("/audit", from_day=first_day.isoformat(), to_day=first_day.isoformat())
    first_events = [row for row in event_rows(on_first_day.text) if row != "Signing key rotated"]  # the first start-up's key
    assert sorted(first_events) == sorted(["Organisation added", "Organisation added", "Access manager appointed", "Access manager appointed", "Access requested"])
    later = await admin.get("/audit", from_day=(first_day + dt.timedelta(days=1)).isoformat())
    assert "Organisation added" not in event_rows(later.text) and "Access granted" in event_rows(later.text)
    backwards = await admin.get("/audit", from_day=(first_day + dt.timedelta(days=1)).isoformat(), to_day=first_day.isoformat())
    assert backwards.status_code == 422 and 'id="to_day-error"' in backwards.text and event_rows(backwards.text) == []

    # an access manager: only their organisations' trail, the same rule as the API
    own = await alice.get("/audit")
    assert own.status_code == 200 and "AZ Sint-Jan Brugge" in own.text and "UZ Leuven" not in own.text
    assert "for erin" not in own.text and "for carol" in own.text
    assert len(event_rows(own.text)) == len((await api.get("/v1/audit-events", "alice")).json()["items"])
    assert (await alice.get("/audit", organisation_id=leuven["id"])).status_code == 403
    assert event_rows((await alice.get("/audit", person_id=dave)).text) == ["Access granted", "Request approved", "Access requested"]
    # the download link exports the events the page shows, with the page's filters, oldest first
    async def exported_actions(who: Any, **filters: str) -> list[str]:
        shown = await who.get("/audit", **filters)
        link = re.search(r'<a href="(/v1/audit-events/export\.jsonl[^"]*)" download>', shown.text)
        assert link, filters
        exported = await who.http.get(html.unescape(link.group(1)))  # signed in by the session cookie
        assert exported.status_code == 200 and exported.headers["content-disposition"].startswith("attachment"), exported.text
        actions = [json.loads(line)["action"] for line in exported.text.splitlines()]
        assert len(actions) == len(event_rows(shown.text)), filters
        return actions

    assert await exported_actions(admin, person_id=dave) == ["access_request.submitted", "access_request.approved", "assignment.created"]
    assert await exported_actions(admin, register="HDBP0031", action="assignment.created") == ["assignment.created"]
    assert "organisation.created" in await exported_actions(admin, from_day=first_day.isoformat(), to_day=first_day.isoformat())
    assert "organisation.created" not in await exported_actions(admin, from_day=(first_day + dt.timedelta(days=1)).isoformat())
    assert len(await exported_actions(alice)) == len(event_rows(own.text))
    assert "export.jsonl" not in backwards.text
    picker = await alice.get("/people/search", q="da", field="person_id")
    assert f'name="person_id" value="{dave}"' in picker.text
    assert "No one matches" in (await alice.get("/people/search", q="erin", field="person_id")).text
