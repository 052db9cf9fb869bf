"""The separation-of-duties page: the catalogue's rules and the people holding incompatible
profiles now, shown to the access managers of either side and to platform admins, refused to
everyone else. In process, as tests/ui/test_admin_pages.py."""

from __future__ import annotations

import re
from urllib.parse import unquote
from typing import Any

from litestar import Litestar
from playwright.sync_api import expect

from eam.ui.pages import duties as duties_pages
from tests.conftest import Api, Clock
from tests.test_separation_of_duties import LEAD, SPONSOR, insert_held, two_organisations
from tests.ui.browser import BrowserThread, EamServer, visiting
from tests.ui.pages import text_of
from tests.ui.test_journeys import inbox_card, open_menu, sign_in
from tests.ui.test_admin_pages import browser  # noqa: F401 (the fixture)


def conflict_links(html: str) -> list[str]:
    return re.findall(r'href="(/organisations/[0-9a-f-]+/assignments/[0-9a-f-]+)"', html)


async def test_access_managers_and_admins_see_who_holds_incompatible_profiles(
    api: Api, app: Litestar, clock: Clock, browser: Any, monkeypatch: Any  # noqa: F811
) -> None:
    brugge, leuven = await two_organisations(api)
    carol = await api.user_id("carol")
    sponsor = await insert_held(app, carol, leuven["id"], "healthstat", SPONSOR, clock())
    lead = await insert_held(app, carol, brugge["id"], "hd4dp2", LEAD, clock())
    await api.managed_organisation("dave", name="AZ Groeninge", nihdi="71000832")

    alice = await browser("alice")
    mine = await alice.get("/organisations")
    assert 'href="/separation-of-duties"' in mine.text
    page = await alice.get("/separation-of-duties")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    # the rules, so an empty table still says what was checked
    assert "provider_not_sponsor" in text and "lead_not_sponsor" in text
    assert "healthstat:data_provider/hospital · healthstat:sponsor/sponsor" in text
    # carol's two conflicts, each with both sides linked to the assignment pages
    assert text.count("carol") >= 2
    links = conflict_links(page.text)
    assert f"/organisations/{leuven['id']}/assignments/{sponsor}" in links
    assert f"/organisations/{brugge['id']}/assignments/{lead}" in links
    assert "UZ Leuven (NIHDI 71000931)" in text and "Sponsor / Sponsor" in text

    # the other side's access manager sees the same; an unrelated one sees none; admins see all
    bob = await browser("bob")
    assert sorted(conflict_links((await bob.get("/separation-of-duties")).text)) == sorted(links)
    dave = await browser("dave")
    calm = await dave.get("/separation-of-duties")
    assert calm.status_code == 200 and conflict_links(calm.text) == []
    assert "Nobody holds incompatible profiles now." in text_of(calm.text)
    admin = await browser("admin")
    listing = await admin.get("/separation-of-duties")
    assert sorted(conflict_links(listing.text)) == sorted(links)
    assert 'href="/separation-of-duties"' in (await admin.get("/admin/organisations")).text

    # a page at a time
    monkeypatch.setattr(duties_pages, "VIOLATIONS_PAGE", 1)
    first = await admin.get("/separation-of-duties")
    more = re.search(r'href="/separation-of-duties\?cursor=([^"&]+)"', first.text)
    assert more is not None and len(conflict_links(first.text)) == 2
    second = await admin.get("/separation-of-duties", cursor=unquote(more.group(1)))
    assert len(conflict_links(second.text)) == 2 and "More conflicts" not in second.text
    assert set(conflict_links(first.text)) | set(conflict_links(second.text)) >= {links[0], links[1]}


async def test_employees_are_not_shown_the_report(api: Api, browser: Any) -> None:  # noqa: F811
    await two_organisations(api)
    carol = await browser("carol")
    refused = await carol.get("/separation-of-duties")
    assert refused.status_code == 403
    assert conflict_links(refused.text) == [] and "provider_not_sponsor" not in refused.text


def refused_approval_journey(browser: Any, eam: EamServer) -> None:
    """Dave provides HDBP0147's data at AZ Sint-Jan (the demo request, approved) and asks UZ Leuven
    to be the register's Sponsor: Bob's approval is refused with the rule named, the request stays
    in the inbox, and the separation-of-duties page has nothing to report."""
    (pending,) = eam.api("GET", "/v1/access-requests", "alice", params={"status": "pending"}).json()["items"]
    assert eam.api("POST", f"/v1/access-requests/{pending['id']}/approve", "alice", json={}).status_code == 200
    sponsor = eam.api("POST", "/v1/access-requests", "dave", json={
        "organisation_id": eam.organisation_id("71000931"), "application": "healthstat", "register": "HDBP0147",
        "profile": {"role": "sponsor", "data_level": "sponsor"}, "justification": "I coordinate the register.",
    })
    assert sponsor.status_code == 201, sponsor.text
    with visiting(browser, eam, "separation-of-duties") as visitor:
        page = visitor.page
        sign_in(visitor, "Bob Access-Manager")
        open_menu(visitor, "Inbox", "inbox")
        card = inbox_card(visitor, "Dave Employee", "healthstat", "HDBP0147")
        with page.expect_navigation():
            card.get_by_role("button", name="Approve the request of Dave Employee for HDBP0147").click()
        visitor.check("approval-refused")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("separation of duties")
        expect(alert).to_contain_text("Rule: provider_not_sponsor.")
        visitor.goto("/inbox")
        expect(inbox_card(visitor, "Dave Employee", "healthstat", "HDBP0147")).to_have_count(1)
        visitor.goto("/separation-of-duties")
        visitor.check("separation-of-duties")
        expect(page.get_by_text("Nobody holds incompatible profiles now.")).to_be_visible()
        expect(page.get_by_text("provider_not_sponsor", exact=False).first).to_be_visible()
    assert eam.api("GET", f"/v1/access-requests/{sponsor.json()['id']}", "bob").json()["status"] == "pending"


def test_an_approval_breaking_a_rule_is_refused_with_the_rule_named_in_chromium(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(refused_approval_journey, eam)
