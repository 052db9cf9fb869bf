"""A register's page: its record of processing, how many people hold it now per organisation, and
who held it at a chosen moment (Brussels time), for the people who may see each part. In
process, as tests/ui/test_admin_pages.py: a person signs in on the demo form, keeps their
cookies, and reads the pages; set-up goes through the API."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from litestar import Litestar
from playwright.sync_api import expect

from eam.catalogue.models import Register
from eam.ui.i18n import BRUSSELS
from eam.ui.pages import registers as register_pages
from tests.conftest import Api, Clock
from tests.ui.browser import BrowserThread, EamServer, visiting
from tests.ui.test_journeys import open_menu, sign_in
from tests.ui.pages import text_of
from tests.ui.test_admin_pages import browser, field_value  # noqa: F401 (the fixture)
from tests.test_register_records import RECORD


def local(moment: dt.datetime) -> str:
    """What a person types in the date-and-time field: Brussels time."""
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M")


def holder_rows(html: str) -> list[tuple[str, str, str]]:
    """(person, profile, granted by) of each row of the holders table."""
    table = html.split('class="responsive holders"', 1)[1].split("</table>", 1)[0] if 'class="responsive holders"' in html else ""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL):
        cells = dict(re.findall(r'data-label="([^"]+)">(.*?)</td>', row, re.DOTALL))
        if cells:
            rows.append((cells["Person"], cells["Profile"], re.sub(r"<[^>]+>", "", cells["Granted by"]).split(",")[0]))
    return rows


def count_rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'data-label="Organisation">([^<]*)</td>\s*<td data-label="NIHDI number">(\d+)</td>\s*<td data-label="People">(\d+)</td>', html)


async def history(api: Api, clock: Clock) -> dict[str, Any]:
    """Brugge (alice): carol granted, then dave; carol revoked later. Leuven (bob): erin."""
    brugge = await api.managed_organisation("alice")
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    carol = (await api.request_access(brugge["id"], "carol", justification="I report on our hospital's registrations.")).json()
    first = (await api.post(f"/v1/access-requests/{carol['id']}/approve", "alice", json={})).json()
    clock.advance(hours=2)
    only_carol = clock()
    clock.advance(hours=2)
    dave = (await api.request_access(brugge["id"], "dave", profile={"role": "sponsor", "data_level": "sponsor"})).json()
    await api.post(f"/v1/access-requests/{dave['id']}/approve", "alice", json={})
    erin = (await api.request_access(leuven["id"], "erin")).json()
    await api.post(f"/v1/access-requests/{erin['id']}/approve", "bob", json={})
    clock.advance(days=1)
    await api.post(f"/v1/assignments/{first['assignment_id']}/revoke", "alice", json={"reason": "left the study team"})
    clock.advance(hours=1)
    return {"brugge": brugge, "leuven": leuven, "only_carol": only_carol}


async def test_access_manager_reads_the_record_and_the_holders_now_and_at_a_past_moment(api: Api, clock: Clock, browser: Any) -> None:  # noqa: F811
    moments = await history(api, clock)
    alice = await browser("alice")
    listed = await alice.get("/registers")
    assert listed.status_code == 200, listed.text
    assert 'href="/registers/HDBP0147"' in listed.text and 'href="/registers"' in listed.text  # in the menu too

    page = await alice.get("/registers/HDBP0147")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert "KU Leuven, Academic Centre for General Practice" in text
    assert "GDPR Art. 6(1)(e) and 9(2)(j)" in text and "Morbidity and prescription research" in text
    assert "Retention 20 years, after the data were collected, in pseudonymised form" in text
    # now: dave only, in alice's organisation only
    assert "People holding access now 1" in text and "Counted in the organisations you manage only." in text
    assert count_rows(page.text) == [("AZ Sint-Jan Brugge", "71000436", "1")]
    assert holder_rows(page.text) == [("dave", "Sponsor / Sponsor", "Alice Access-Manager")]  # her name since she signed in
    assert field_value(page.text, "at") == local(clock())
    assert "erin" not in text and "UZ Leuven" not in text

    past = await alice.get("/registers/HDBP0147", at=local(moments["only_carol"]))
    assert past.status_code == 200, past.text
    assert holder_rows(past.text) == [("carol", "Data Provider / Hospital", "Alice Access-Manager")]
    past_text = text_of(past.text)
    assert "I report on our hospital's registrations." in past_text and "AZ Sint-Jan Brugge (NIHDI 71000436)" in past_text
    assert f"Holders on {moments['only_carol'].astimezone(BRUSSELS).strftime('%b %-d, %Y')}" in past_text
    assert field_value(past.text, "at") == local(moments["only_carol"])

    before = await alice.get("/registers/HDBP0147", at="2020-01-01T09:00")
    assert holder_rows(before.text) == [] and "Nobody held access to this register on" in text_of(before.text)
    wrong = await alice.get("/registers/HDBP0147", at="yesterday")
    assert wrong.status_code == 422 and 'id="at-error">Please give a date and a time.' in wrong.text
    assert field_value(wrong.text, "at") == "yesterday"
    assert (await alice.get("/registers/NOPE0001")).status_code == 404


async def test_platform_admin_sees_every_organisation_and_pages_through_the_holders(
    api: Api, clock: Clock, browser: Any, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    await history(api, clock)
    monkeypatch.setattr(register_pages, "HOLDERS_PAGE", 1)
    monkeypatch.setattr(register_pages, "COUNTS_PAGE", 1)
    admin = await browser("admin")
    registers = await admin.get("/admin/registers")
    assert 'href="/registers/HDBP0147"' in registers.text
    page = await admin.get("/registers/HDBP0147")
    text = text_of(page.text)
    assert "People holding access now 2" in text and "Organisations where they hold it 2" in text
    assert "Counted in the organisations you manage only." not in text
    assert count_rows(page.text) == [("AZ Sint-Jan Brugge", "71000436", "1")]
    more = re.search(r'href="(/registers/HDBP0147\?counts_cursor=[^"]+)"', page.text)
    assert more, "a link to the next organisations"
    assert count_rows((await admin.http.get(more.group(1).replace("&amp;", "&"))).text) == [("UZ Leuven", "71000931", "1")]

    first = holder_rows(page.text)
    following = re.search(r'href="(/registers/HDBP0147\?at=[^"]+)">More holders', page.text)
    assert following, "a link to the next holders"
    clock.advance(hours=1)  # the next page is of the same moment, whatever happened since
    for held in (await api.get("/v1/assignments", params={"register": "HDBP0147", "status": "active"})).json()["items"]:
        revoked = await api.post(f"/v1/assignments/{held['id']}/revoke", json={"reason": "the study ended"})
        assert revoked.status_code == 200, revoked.text
    second = holder_rows((await admin.http.get(following.group(1).replace("&amp;", "&"))).text)
    assert sorted(first + second) == [("dave", "Sponsor / Sponsor", "alice"), ("erin", "Data Provider / Hospital", "bob")]


async def test_an_employee_reads_the_record_only(api: Api, clock: Clock, browser: Any) -> None:  # noqa: F811
    await history(api, clock)
    carol = await browser("carol")
    page = await carol.get("/registers/HDBP0031")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert "Belgian Cystic Fibrosis Registry" in text and "Retention 30 years, after the last registration of the patient" in text
    assert "Holders now" not in text and "Who held access" not in text


async def test_a_register_without_a_record_says_so(api: Api, app: Litestar, clock: Clock, browser: Any) -> None:  # noqa: F811
    async with app.state.sessionmaker() as session, session.begin():
        session.add(Register(code="HDBP0300", name="Old register", applications=["healthstat"], created_at=clock()))
    admin = await browser("admin")
    page = await admin.get("/registers/HDBP0300")
    assert "The record of processing of this register is not recorded yet." in text_of(page.text)
    assert "not recorded yet" in text_of((await admin.get("/admin/registers")).text)


async def test_admin_adds_a_register_with_its_record(api: Api, browser: Any) -> None:  # noqa: F811
    admin = await browser("admin")
    form = {
        "code": "HDBP0250", "name": "Cystic fibrosis", "applications": ["healthstat"], "controller": RECORD["controller"],
        "legal_basis": RECORD["legal_basis"], "purpose": "", "retention_years": "0", "retention_months": "12", "retention_note": "",
    }
    refused = await admin.http.post("/admin/registers", data={"_csrf_token": admin.token, **form})
    assert refused.status_code == 422
    assert 'id="purpose-error"' in refused.text and 'id="retention_months-error"' in refused.text
    assert field_value(refused.text, "controller") == RECORD["controller"]
    none = await admin.http.post("/admin/registers", data={"_csrf_token": admin.token, **form, "purpose": "Care", "retention_months": "0"})
    assert none.status_code == 422 and 'id="retention_years-error">Please give a period of at least one month.' in none.text

    added = await admin.http.post(
        "/admin/registers",
        data={"_csrf_token": admin.token, **form, "purpose": RECORD["purpose"], "retention_years": "10", "retention_months": "6", "retention_note": RECORD["retention"]["note"]},
    )
    assert added.status_code == 303 and added.headers["location"] == "/registers/HDBP0250?notice=register-added"
    assert (await api.get("/v1/registers/HDBP0250")).json()["record"] == RECORD
    page = await admin.get("/registers/HDBP0250", notice="register-added")
    assert "Retention 10 years and 6 months, after the end of the data collection" in text_of(page.text)


async def test_admin_ends_a_register_from_its_page_and_live_access_ends_with_it(api: Api, clock: Clock, browser: Any) -> None:  # noqa: F811
    from tests.test_register_records import STROKE

    assert (await api.post("/v1/registers", "admin", json=STROKE)).status_code == 201
    brugge = await api.managed_organisation("alice")
    held = (await api.request_access(brugge["id"], "carol", register="HDBP0500")).json()
    assignment_id = (await api.post(f"/v1/access-requests/{held['id']}/approve", "alice", json={})).json()["assignment_id"]
    admin = await browser("admin")
    page = await admin.get("/registers/HDBP0500")
    assert 'action="/registers/HDBP0500/end"' in page.text
    assert 'action="/registers/HDBP0147/end"' not in (await admin.get("/registers/HDBP0147")).text  # a file register: the file says
    alice = await browser("alice")
    assert 'action="/registers/HDBP0500/end"' not in (await alice.get("/registers/HDBP0500")).text  # platform admins only
    assert (await alice.post("/registers/HDBP0500/end", {"ends_on": "2030-06-30"})).status_code == 403

    refused = await admin.post("/registers/HDBP0500/end", {"ends_on": "30/06/2030"})
    assert refused.status_code == 422 and 'id="ends_on-error"' in refused.text, text_of(refused.text)[:1500]
    last_day = (clock.now + dt.timedelta(days=30)).astimezone(BRUSSELS).date()
    saved = await admin.post("/registers/HDBP0500/end", {"ends_on": last_day.isoformat()})
    assert saved.status_code == 303 and saved.headers["location"] == "/registers/HDBP0500?notice=register-end-set"
    shown = text_of((await admin.get("/registers/HDBP0500", notice="register-end-set")).text)
    assert "The register's end date was saved" in shown
    assert f"This register ends on {last_day.strftime('%b')} {last_day.day}, {last_day.year}" in shown
    ends = dt.datetime.fromisoformat((await api.get(f"/v1/assignments/{assignment_id}", "alice")).json()["valid_until"])
    assert ends.astimezone(BRUSSELS) == dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=BRUSSELS)
    # removed again: the register no longer ends (access keeps the end it was given)
    assert (await admin.post("/registers/HDBP0500/end", {"ends_on": ""})).status_code == 303
    assert (await api.get("/v1/registers/HDBP0500")).json().get("ends_on") is None


# ------------------------------------------------------------------------------ in Chromium


def register_journey(browser: Any, eam: EamServer) -> None:
    """An access manager opens a register from the menu, reads its record, and asks who held it
    a moment ago (before a revocation) in the date-and-time field."""
    organisation = eam.organisation_id("71000436")
    submitted = eam.api("POST", "/v1/access-requests", "carol", "Carol Employee", json={
        "organisation_id": organisation, "application": "healthstat", "register": "HDBP0147",
        "profile": {"role": "data_provider", "data_level": "hospital"}, "justification": "I report on our GP network data.",
    })
    assert submitted.status_code == 201, submitted.text
    approved = eam.api("POST", f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", "Alice Access-Manager", json={})
    assert approved.status_code == 200, approved.text
    time.sleep(1.1)
    held_then = dt.datetime.now(BRUSSELS).strftime("%Y-%m-%dT%H:%M:%S")
    time.sleep(1.1)
    revoked = eam.api("POST", f"/v1/assignments/{approved.json()['assignment_id']}/revoke", "alice", "Alice Access-Manager", json={"reason": "left the practice"})
    assert revoked.status_code == 200, revoked.text
    with visiting(browser, eam, "register-record") as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Registers", "registers")
        with page.expect_navigation():
            page.get_by_role("link", name="HDBP0147").click()
        visitor.check("register-now")
        expect(page.get_by_role("heading", name="Record of processing")).to_be_visible()
        expect(page.get_by_text("KU Leuven, Academic Centre for General Practice", exact=False)).to_be_visible()
        expect(page.get_by_text("20 years, after the data were collected, in pseudonymised form")).to_be_visible()
        expect(page.get_by_text("Nobody holds access to this register now.")).to_be_visible()  # carol's was revoked
        page.get_by_label("Date and time (Belgian time)").fill(held_then)
        with page.expect_navigation():
            page.get_by_role("button", name="Show the holders").click()
        visitor.check("register-then")
        row = page.get_by_role("row").filter(has_text="Carol Employee")
        expect(row).to_contain_text("Data Provider / Hospital")
        expect(row).to_contain_text("Alice Access-Manager")
        expect(row).to_contain_text("I report on our GP network data.")
        expect(page.get_by_label("Date and time (Belgian time)")).to_have_value(held_then)


def test_an_access_manager_reads_a_register_in_chromium(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(register_journey, eam)
