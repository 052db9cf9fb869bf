"""An access review in Chromium, as an access manager runs it: start a campaign for the
organisation, review each access (keep one, revoke one, each with a reason), read the completion
report and download it as CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.ui.browser import BrowserThread, EamServer, visiting
from tests.ui.test_journeys import open_menu, sign_in


def grant(eam: EamServer, organisation_id: str, user: str, register: str) -> str:
    me = eam.api("GET", "/v1/me", user)
    assert me.status_code == 200, me.text
    body = {"user_id": me.json()["id"], "organisation_id": organisation_id, "application": "healthstat", "register": register, "profile": {"role": "data_provider", "data_level": "hospital"}}
    created = eam.api("POST", "/v1/assignments", "alice", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def review_journey(browser: Any, eam: EamServer) -> None:
    brugge = eam.organisation_id("71000436")
    carol = grant(eam, brugge, "carol", "HDBP0147")
    dave = grant(eam, brugge, "dave", "HDBP0147")
    with visiting(browser, eam, "access-review") as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Reviews", "reviews")
        expect(page.get_by_text("No access review concerns your organisations yet.")).to_be_visible()
        with page.expect_navigation():
            page.get_by_role("link", name="Start an access review").click()
        visitor.check("review-form")
        page.get_by_label("Organisation").select_option(label="AZ Sint-Jan Brugge")
        page.get_by_label("Review by (the deadline is the end of that day)").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
        page.get_by_role("radio", name="Revoke it").check()
        page.get_by_label("Repeat").select_option("yearly")
        with page.expect_navigation():
            page.get_by_role("button", name="Start the review").click()
        visitor.check("review")
        expect(page.get_by_role("status")).to_have_text("The access review has started. Its reviewers were told.")
        expect(page.get_by_role("heading", name="Access review: AZ Sint-Jan Brugge")).to_be_visible()

        with page.expect_navigation():
            page.get_by_role("link", name="Review the access of Carol Employee to HDBP0147").click()
        visitor.check("review-item")
        # no reason: refused, nothing decided
        with page.expect_navigation():
            page.get_by_role("button", name="Keep", exact=True).click()
        expect(page.get_by_role("alert")).to_have_text("Some fields need your attention.")
        page.get_by_label("Reason (kept with the decision and in the audit trail)").fill("Still reports for the hospital.")
        with page.expect_navigation():
            page.get_by_role("button", name="Keep", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("Your decision was recorded.")
        expect(page.get_by_role("row").filter(has_text="Carol Employee")).to_contain_text("kept — Alice Access-Manager")

        with page.expect_navigation():
            page.get_by_role("link", name="Review the access of Dave Employee to HDBP0147").click()
        page.get_by_label("Reason (kept with the decision and in the audit trail)").fill("Moved to another team.")
        with page.expect_navigation():
            page.get_by_role("button", name="Revoke").click()
        visitor.check("review-decided")
        expect(page.get_by_role("row").filter(has_text="Dave Employee")).to_contain_text("revoked — Alice Access-Manager")

        with page.expect_navigation():
            page.get_by_role("link", name="Completion report").click()
        visitor.check("review-report")
        expect(page.get_by_role("status")).to_have_text("1 kept, 0 changed, 1 revoked, 0 still to review; 0 decided by default at the deadline.")
        expect(page.get_by_role("row").filter(has_text="Alice Access-Manager")).to_contain_text("1")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the decisions (CSV)").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert "Moved to another team." in text and "Still reports for the hospital." in text
    assert eam.api("GET", f"/v1/assignments/{dave}", "alice").json()["status"] == "revoked"
    assert eam.api("GET", f"/v1/assignments/{carol}", "alice").json()["status"] == "active"


def test_an_access_manager_runs_an_access_review(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(review_journey, eam)
