"""The main journeys through the web pages, in Chromium, as a person would make them.

Elements are found by role and accessible name only (what a person sees and a screen reader
says), never by CSS. Every page a journey shows is checked by :class:`tests.ui.browser.Visitor`:
security headers, no inline script or style, axe-core with no serious or critical violation,
no Content-Security-Policy message in the console, no horizontal scrolling; and photographed
under ``test-output/screenshots/<journey>/``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from playwright.sync_api import expect

from tests.ui.browser import BrowserThread, EamServer, Visitor, visiting, wait_for_partial

BRUGGE = "AZ Sint-Jan Brugge (NIHDI 71000436)"
BRUSSELS = ZoneInfo("Europe/Brussels")
NOT_PENDING = "This request is no longer pending: it was decided, withdrawn or has expired."


def shown_day(day: dt.date) -> str:
    """How an English page writes a day (CLDR medium date: "Mar 5, 2027")."""
    return f"{day:%b} {day.day}, {day.year}"


# ------------------------------------------------------------------------------ steps


def sign_in(visitor: Visitor, name: str, page_name: str = "my-access") -> None:
    page = visitor.page
    if not page.url.startswith(visitor.server.base_url + "/sign-in"):
        visitor.goto("/sign-in")
        visitor.check("sign-in")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Sign in as {name}").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    visitor.check(page_name)


def sign_out(visitor: Visitor) -> None:
    page = visitor.page
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")


def open_menu(visitor: Visitor, link: str, page_name: str) -> None:
    page = visitor.page
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
    visitor.check(page_name)


def request_access(visitor: Visitor, *, register: str, profile: str, justification: str) -> None:
    """Carol's request: find the organisation as you type, choose the application, register and
    profile, say why."""
    page = visitor.page
    open_menu(visitor, "Request access", "request-form")
    search = page.get_by_role("searchbox", name="Find your organisation by name, NIHDI number or enterprise (KBO) number")
    search.press_sequentially("sint jan", delay=40)
    # Choose from the answer to the whole text typed (htmx asks again after each pause).
    wait_for_partial(page, "/organisations/search", q="sint jan")
    organisation = page.get_by_role("radio", name=BRUGGE)
    organisation.check()
    expect(page.get_by_role("radio")).to_have_count(1)  # UZ Leuven does not match "sint jan"
    page.get_by_label("Application", exact=True).select_option("healthstat")
    page.get_by_label("Register", exact=True).select_option(register)
    page.get_by_role("radio", name=profile, exact=True).check()
    page.get_by_label("Justification (at least 10 characters)").fill(justification)
    visitor.check("request-form-filled")
    expect(organisation).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("status")).to_have_text("Your request was sent to the access managers of the organisation.")
    mine = page.get_by_role("row").filter(has_text=register)
    expect(mine).to_contain_text(BRUGGE)
    expect(mine).to_contain_text("pending")
    visitor.check("my-requests")


def inbox_card(visitor: Visitor, requester: str, application: str, register: str) -> Any:
    page = visitor.page
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=f"{requester} — {application} · {register}"))


# ------------------------------------------------------------------------------ journeys


def request_approve_and_use(browser: Any, eam: EamServer, journey: str, width: int) -> None:
    """Carol asks for Data Provider / Hospital; Alice approves it narrowed to Data Provider /
    Individual with an end date; Carol sees exactly that and gets a grant token that a verifier
    (PyJWT, EAM's published keys) accepts and that states the narrowed access."""
    last_day = dt.date.today() + dt.timedelta(days=200)
    with visiting(browser, eam, journey, width=width) as visitor:
        page = visitor.page
        sign_in(visitor, "Carol Employee")
        expect(page.get_by_text("You hold no access yet.")).to_be_visible()
        request_access(visitor, register="HDBP0147", profile="Data Provider / Hospital", justification="I report on our hospital's registrations.")
        sign_out(visitor)

        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Inbox", "inbox")
        card = inbox_card(visitor, "Carol Employee", "healthstat", "HDBP0147")
        expect(card).to_contain_text(BRUGGE)
        expect(card).to_contain_text("Data Provider / Hospital")
        expect(card).to_contain_text("I report on our hospital's registrations.")
        card.get_by_label("Profile to grant").select_option(label="Data Provider / Individual")
        card.get_by_label("Access ends after (optional)").fill(last_day.isoformat())
        with page.expect_navigation():
            card.get_by_role("button", name="Approve the request of Carol Employee for HDBP0147").click()
        expect(page.get_by_role("status")).to_have_text("The request was approved.")
        expect(card).to_have_count(0)
        expect(inbox_card(visitor, "Dave Employee", "healthstat", "HDBP0147")).to_have_count(1)  # the demo data's request waits on
        visitor.check("inbox-after-approval")
        sign_out(visitor)

        sign_in(visitor, "Carol Employee")
        held = page.get_by_role("table", name="Access you hold now").get_by_role("row").filter(has_text="HDBP0147")
        expect(held).to_have_count(1)
        for shown in (BRUGGE, "healthstat", "Data Provider / Individual", shown_day(last_day)):
            expect(held).to_contain_text(shown)
        expect(held).not_to_contain_text("Data Provider / Hospital")
        open_menu(visitor, "My requests", "my-requests-approved")
        expect(page.get_by_role("row").filter(has_text="HDBP0147")).to_contain_text("approved")
        open_menu(visitor, "My access", "my-access-again")

        with page.expect_navigation():
            page.get_by_role("button", name="Get a grant token for healthstat").click()
        expect(page.get_by_role("heading", name="Grant token for healthstat")).to_be_visible()
        visitor.check("grant-token")
        token = page.get_by_label("Grant token", exact=True).input_value()

    keys = jwt.PyJWKClient(f"{eam.base_url}/.well-known/jwks.json")
    algorithm = jwt.get_unverified_header(token)["alg"]
    claims = jwt.decode(token, keys.get_signing_key_from_jwt(token).key, algorithms=[algorithm], audience="healthstat", issuer=eam.base_url)
    carol = eam.api("GET", "/v1/me", "carol").json()
    assert claims["sub"] == carol["id"]
    (access,) = claims["authorization_details"]
    assert access["register"] == "HDBP0147"
    assert (access["role"], access["data_level"]) == ("data_provider", "individual")
    assert access["organisation"]["nihdi"] == "71000436"
    # Access "until" a day ends at the midnight after it, Belgian time.
    ends = dt.datetime.fromisoformat(access["valid_until"].replace("Z", "+00:00")).astimezone(BRUSSELS)
    assert ends == dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=BRUSSELS)


def test_employee_requests_manager_approves_narrowed_employee_gets_a_grant_token(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(request_approve_and_use, eam, "request-approve-grant", 1280)


def test_the_main_journey_in_a_390_px_wide_viewport(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(request_approve_and_use, eam, "request-approve-grant-390px", 390)


def bulk_approve(browser: Any, eam: EamServer, requests: dict[str, tuple[str, str, str]]) -> None:
    """Alice opens the inbox, selects the ten requests; one is withdrawn before she decides."""
    withdrawn_id, (withdrawn_user, withdrawn_name, withdrawn_register) = next(iter(requests.items()))
    with visiting(browser, eam, "bulk-approve") as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Inbox", "inbox")
        for _user, name, register in requests.values():
            page.get_by_role("checkbox", name=f"Select the request of {name} for {register}").check()
        # Meanwhile its requester withdraws one of them.
        withdrawn = eam.api("POST", f"/v1/access-requests/{withdrawn_id}/withdraw", withdrawn_user, json={"reason": "not needed after all"})
        assert withdrawn.status_code == 200, withdrawn.text
        expect(page.get_by_role("radio", name="Approve as asked")).to_be_checked()
        with page.expect_navigation():
            page.get_by_role("button", name="Decide on the selected requests").click()
        expect(page.get_by_role("heading", name="Result of the bulk decision")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text("9 succeeded, 1 failed.")
        results = page.get_by_role("table", name="One line per selected request").get_by_role("row")
        expect(results).to_have_count(11)  # a header and one line per request
        failed = results.filter(has_text=withdrawn_name).filter(has_text=withdrawn_register)
        expect(failed).to_contain_text(NOT_PENDING)
        for request_id, (_user, name, register) in requests.items():
            if request_id != withdrawn_id:
                expect(results.filter(has_text=name).filter(has_text=register)).to_contain_text("Approved")
        expect(results.filter(has_text="Approved")).to_have_count(9)
        visitor.check("bulk-result")
        with page.expect_navigation():
            page.get_by_role("link", name="Back to the inbox").click()
        visitor.check("inbox-after-bulk")
        expect(inbox_card(visitor, "Dave Employee", "healthstat", "HDBP0147")).to_have_count(1)  # not selected: still waiting
        expect(page.get_by_role("checkbox")).to_have_count(1)


def test_bulk_approval_of_ten_with_one_withdrawn_meanwhile(chromium: BrowserThread, eam: EamServer) -> None:
    brugge = eam.organisation_id("71000436")
    requests: dict[str, tuple[str, str, str]] = {}
    for number in range(1, 6):
        user, name = f"bulk{number}", f"Bulk Employee {number}"
        for register in ("HDBP0147", "HDBP0031"):
            body = {
                "organisation_id": brugge,
                "application": "healthstat",
                "register": register,
                "profile": {"role": "data_provider", "data_level": "hospital"},
                "justification": f"Register {register} for our ward's reports.",
            }
            submitted = eam.api("POST", "/v1/access-requests", user, name=name, json=body)
            assert submitted.status_code == 201, submitted.text
            requests[submitted.json()["id"]] = (user, name, register)
    assert len(requests) == 10
    chromium.journey(bulk_approve, eam, requests)

    withdrawn_id = next(iter(requests))
    for request_id, (user, _name, _register) in requests.items():
        stored = eam.api("GET", f"/v1/access-requests/{request_id}", user).json()
        assert stored["status"] == ("withdrawn" if request_id == withdrawn_id else "approved"), stored
    # bulk1 withdrew HDBP0147 (the first request) and holds HDBP0031 only.
    assert requests[withdrawn_id][:1] == ("bulk1",) and requests[withdrawn_id][2] == "HDBP0147"
    held = eam.api("GET", "/v1/me", "bulk1").json()["assignments"]
    assert [a["register"] for a in held] == ["HDBP0031"]


def reject_with_reason(browser: Any, eam: EamServer) -> None:
    """Alice rejects Dave's request (the demo data's); a too-short reason is refused first and
    what she typed stays; Dave sees the decision and the reason on "My requests"."""
    reason = "Please ask for the individual profile: you only register your own patients."
    with visiting(browser, eam, "reject-with-reason") as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Inbox", "inbox")
        card = inbox_card(visitor, "Dave Employee", "healthstat", "HDBP0147")
        card.get_by_label("Reason, shown to the requester").fill("no")
        with page.expect_navigation():
            card.get_by_role("button", name="Reject the request of Dave Employee for HDBP0147").click()
        expect(card.get_by_role("alert")).to_have_text("Some fields need your attention.")
        expect(card).to_contain_text("Please write at least 3 characters.")
        expect(card.get_by_label("Reason, shown to the requester")).to_have_value("no")
        visitor.check("inbox-reason-too-short")
        card.get_by_label("Reason, shown to the requester").fill(reason)
        with page.expect_navigation():
            card.get_by_role("button", name="Reject the request of Dave Employee for HDBP0147").click()
        expect(page.get_by_role("status")).to_have_text("The request was rejected.")
        expect(page.get_by_text("No request is waiting for your decision.")).to_be_visible()
        visitor.check("inbox-after-rejection")
        sign_out(visitor)

        sign_in(visitor, "Dave Employee")
        open_menu(visitor, "My requests", "my-requests")
        row = page.get_by_role("row").filter(has_text="HDBP0147")
        expect(row).to_contain_text("rejected")
        expect(row).to_contain_text(f"Reason: {reason}")
        expect(row).to_contain_text("Alice Access-Manager")
        expect(row.get_by_role("button", name="Withdraw the request for HDBP0147")).to_have_count(0)


def test_reject_with_a_reason_the_employee_reads(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(reject_with_reason, eam)
