"""The auditor's pages: a data protection officer signs in, finds the organisation they audit,
reads its access, its requests and its audit trail, and is offered nothing that changes anything;
access managers and platform admins appoint and remove auditors from their pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.conftest import Api
from tests.ui.browser import BrowserThread, EamServer, Visitor, visiting
from tests.ui.pages import Person, text_of
from tests.ui.test_journeys import open_menu, sign_in

BRUGGE = "AZ Sint-Jan Brugge (NIHDI 71000436)"
#: What would change something, on any page an auditor reads.
DECISIONS = re.compile(r"^(Approve|Reject|Revoke|Grant|Appoint|Remove|Change the profile|Save the end date|Decide)", re.IGNORECASE)


def no_decisions(visitor: Visitor) -> None:
    """No button or link on the page decides, grants, changes or appoints anything."""
    page = visitor.page
    expect(page.get_by_role("button", name=DECISIONS)).to_have_count(0)
    expect(page.get_by_role("link", name=DECISIONS)).to_have_count(0)
    expect(page.locator("main form[method=post]")).to_have_count(0)


def dpo_reads(browser: Any, eam: EamServer) -> None:
    with visiting(browser, eam, "auditor-reads") as visitor:
        page = visitor.page
        sign_in(visitor, "Dora Data-Protection-Officer", "auditor-home")
        auditing = page.get_by_role("region", name="Auditing")
        expect(auditing).to_contain_text(BRUGGE)
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_have_count(0)

        # the access held at the organisation, read-only
        with page.expect_navigation():
            auditing.get_by_role("link", name="Access held at AZ Sint-Jan Brugge").click()
        visitor.check("organisation-access")
        expect(page.get_by_role("heading", name=BRUGGE, level=1)).to_be_visible()
        dave = page.get_by_role("row").filter(has_text="Dave Employee")
        expect(dave).to_contain_text("HDBP0147")
        expect(page.get_by_text("You read the access of this organisation as an auditor; you change nothing.")).to_be_visible()
        no_decisions(visitor)
        with page.expect_navigation():
            dave.get_by_role("link", name=re.compile("^View the access of Dave Employee")).click()
        visitor.check("assignment-read-only")
        expect(page.get_by_text("You read this access as an auditor; its organisation's access managers change it.")).to_be_visible()
        no_decisions(visitor)

        # its requests, with the one still pending and no way to decide it
        page.goto(eam.base_url + "/")
        with page.expect_navigation():
            page.get_by_role("region", name="Auditing").get_by_role("link", name="Requests at AZ Sint-Jan Brugge").click()
        visitor.check("organisation-requests")
        pending = page.get_by_role("row").filter(has_text="Carol Employee")
        expect(pending).to_contain_text("pending")
        expect(pending).to_contain_text("I prepare our hospital's reports.")
        expect(page.get_by_role("row").filter(has_text="Dave Employee")).to_contain_text("approved")
        no_decisions(visitor)

        # the audit trail of the organisation, from the menu
        open_menu(visitor, "Audit trail", "audit-trail")
        events = page.get_by_role("row")
        expect(events.filter(has_text="Request approved").first).to_be_visible()
        expect(events.filter(has_text="Auditor appointed")).to_have_count(1)

        # and the list of organisations audited
        open_menu(visitor, "Auditing", "auditing")
        expect(page.get_by_role("row").filter(has_text=BRUGGE)).to_have_count(1)
        expect(page.get_by_role("row").filter(has_text="UZ Leuven")).to_have_count(0)


def test_a_data_protection_officer_reads_and_finds_no_decision_buttons(chromium: BrowserThread, eam: EamServer) -> None:
    # the demo's pending request (Dave) approved, and one more pending (Carol)
    pending = eam.api("GET", "/v1/access-requests", "alice", params={"status": "pending"}).json()["items"]
    assert [r["requester"]["display_name"] for r in pending] == ["Dave Employee"]
    approved = eam.api("POST", f"/v1/access-requests/{pending[0]['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    body = {
        "organisation_id": eam.organisation_id("71000436"),
        "application": "healthstat",
        "register": "HDBP0031",
        "profile": {"role": "data_provider", "data_level": "hospital"},
        "justification": "I prepare our hospital's reports.",
    }
    assert eam.api("POST", "/v1/access-requests", "carol", name="Carol Employee", json=body).status_code == 201
    chromium.journey(dpo_reads, eam)


# -- in process: what an auditor may post, and appointing ------------------------------------------


async def test_an_auditor_posting_a_change_is_refused(api: Api, person: Callable[..., Person]) -> None:
    org = (await api.managed_organisation("alice"))["id"]
    assignment = await api.approved_assignment(org, "carol", "alice")
    await api.request_access(org, "erin")
    dora = await api.user_id("dora")
    assert (await api.post(f"/v1/organisations/{org}/auditors", "alice", json={"user_id": dora})).status_code == 201
    auditor = person()
    await auditor.sign_in("dora")
    page = await auditor.get(f"/organisations/{org}/assignments/{assignment['id']}")
    assert page.status_code == 200 and "Revoke the access" not in page.text
    refused = await auditor.post(f"/organisations/{org}/assignments/{assignment['id']}/revoke", {"reason": "curious"})
    assert refused.status_code == 403 and "You are not allowed to do this." in text_of(refused.text)
    assert (await api.get(f"/v1/assignments/{assignment['id']}")).json()["status"] == "active"
    assert (await auditor.get(f"/organisations/{org}/grant")).status_code == 403
    assert (await auditor.get(f"/organisations/{org}/access-managers")).status_code == 403
    assert (await auditor.get(f"/organisations/{org}/auditors")).status_code == 403
    # the inbox holds nothing to decide for an auditor
    inbox = await auditor.get("/inbox")
    assert inbox.status_code == 200 and "erin" not in text_of(inbox.text)
    requests = await auditor.get(f"/organisations/{org}/requests", params={"status": "pending"})
    assert "erin" in text_of(requests.text) and "Decide on pending requests" not in requests.text


async def test_an_access_manager_appoints_and_removes_an_auditor(api: Api, person: Callable[..., Person]) -> None:
    org = (await api.managed_organisation("alice"))["id"]
    await api.request_access(org, "erin")  # erin is one of the organisation's people: alice finds her
    erin = await api.user_id("erin")
    manager = person()
    await manager.sign_in("alice")
    page = await manager.get(f"/organisations/{org}")
    assert f'href="/organisations/{org}/auditors"' in page.text
    found = await manager.get(f"/organisations/{org}/people", params={"person_q": "eri"})
    assert f'value="{erin}"' in found.text
    listed = await manager.get(f"/organisations/{org}/auditors")
    assert "This organisation has no auditor." in text_of(listed.text)
    unchosen = await manager.post(f"/organisations/{org}/auditors", {"person_q": "erin"})
    assert unchosen.status_code == 422 and "Choose the person to appoint." in text_of(unchosen.text)
    appointed = await manager.follow(await manager.post(f"/organisations/{org}/auditors", {"user_id": erin}))
    assert "The auditor was appointed." in text_of(appointed.text) and "erin" in text_of(appointed.text)
    assert [a["user_id"] for a in (await api.get(f"/v1/organisations/{org}/auditors")).json()["items"]] == [erin]
    again = await manager.post(f"/organisations/{org}/auditors", {"user_id": erin})
    assert again.status_code == 409 and "This person is already an auditor here." in text_of(again.text)
    removed = await manager.follow(await manager.post(f"/organisations/{org}/auditors/{erin}/remove", {}))
    assert "The auditor was removed." in text_of(removed.text)
    assert (await api.get(f"/v1/organisations/{org}/auditors")).json()["items"] == []


async def test_a_platform_admin_appoints_a_platform_auditor_who_finds_every_organisation(api: Api, person: Callable[..., Person]) -> None:
    await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    inspector = await api.user_id("dave")  # an employee, now auditor of every organisation
    admin = person()
    await admin.sign_in("admin")
    assert "There is no platform-wide auditor." in text_of((await admin.get("/admin/auditors")).text)
    appointed = await admin.follow(await admin.post("/admin/auditors", {"user_id": inspector}))
    assert "The auditor was appointed." in text_of(appointed.text) and f"/admin/auditors/{inspector}/remove" in appointed.text
    auditor = person()
    await auditor.sign_in("dave")
    home = text_of((await auditor.get("/")).text)
    assert "You are an auditor of every organisation." in home
    listed = text_of((await auditor.get("/auditing")).text)
    assert "AZ Sint-Jan Brugge" in listed and "UZ Leuven" in listed
    assert "UZ Leuven" not in text_of((await auditor.get("/auditing", params={"q": "brugge"})).text)
    assert (await auditor.get("/admin/auditors")).status_code == 403
    removed = await admin.follow(await admin.post(f"/admin/auditors/{inspector}/remove", {}))
    assert "The auditor was removed." in text_of(removed.text)
    assert "You are not an auditor of any organisation." in text_of((await auditor.get("/auditing")).text)
