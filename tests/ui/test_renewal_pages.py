"""Extension in Chromium: the holder of access ending soon asks to extend it from their access
page, the access manager approves it in the inbox, the holder sees the new end. The pages of a
renewal after the end (ended list, the manager's "Extend") are driven in-process with the clock
moved (below)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from eam.core.times import end_of_day
from tests.conftest import Api, Clock
from tests.ui.browser import BrowserThread, EamServer, visiting
from tests.ui.pages import Person, text_of
from tests.ui.test_journeys import inbox_card, open_menu, shown_day, sign_in, sign_out


def held_access(eam: EamServer, ends: dt.date) -> str:
    """Carol holds healthstat HDBP0147 at AZ Sint-Jan until ``ends`` (asked, approved by Alice)."""
    body = {
        "organisation_id": eam.organisation_id("71000436"),
        "application": "healthstat",
        "register": "HDBP0147",
        "profile": {"role": "data_provider", "data_level": "hospital"},
        "justification": "I report on our hospital's registrations.",
        "valid_until": end_of_day(ends).isoformat(),
    }
    submitted = eam.api("POST", "/v1/access-requests", "carol", "Carol Employee", json=body)
    assert submitted.status_code == 201, submitted.text
    approved = eam.api("POST", f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", "Alice Access-Manager", json={})
    assert approved.status_code == 200, approved.text
    return str(approved.json()["assignment_id"])


def ask_to_extend_and_approve(browser: Any, eam: EamServer) -> None:
    ends = dt.date.today() + dt.timedelta(days=5)
    new_end = dt.date.today() + dt.timedelta(days=300)
    assignment_id = held_access(eam, ends)
    with visiting(browser, eam, "ask-to-extend") as visitor:
        page = visitor.page
        sign_in(visitor, "Carol Employee")
        held = page.get_by_role("table", name="Access you hold now").get_by_role("row").filter(has_text="HDBP0147")
        expect(held).to_contain_text(shown_day(ends))
        with page.expect_navigation():
            held.get_by_role("link", name="Ask to extend HDBP0147 in healthstat").click()
        expect(page.get_by_role("heading", name="Ask to extend")).to_be_visible()
        visitor.check("extend-form")
        page.get_by_label("Needed until").fill(new_end.isoformat())
        page.get_by_label("Justification (at least 10 characters)").fill("The study runs until next autumn.")
        with page.expect_navigation():
            page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_role("status")).to_have_text("Your request to extend your access was sent to the access managers.")
        visitor.check("extension-asked")
        sign_out(visitor)

        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Inbox", "inbox")
        card = inbox_card(visitor, "Carol Employee", "healthstat", "HDBP0147")
        expect(card).to_contain_text("The study runs until next autumn.")
        with page.expect_navigation():
            card.get_by_role("button", name="Approve the request of Carol Employee for HDBP0147").click()
        expect(page.get_by_role("status")).to_have_text("The request was approved.")
        sign_out(visitor)

        sign_in(visitor, "Carol Employee", "my-access-extended")
        held = page.get_by_role("table", name="Access you hold now").get_by_role("row").filter(has_text="HDBP0147")
        expect(held).to_contain_text(shown_day(new_end))
        expect(held.get_by_role("link", name="Ask to extend HDBP0147 in healthstat")).to_have_count(0)  # no longer ending soon
    assignment = eam.api("GET", f"/v1/assignments/{assignment_id}", "carol", "Carol Employee").json()
    assert assignment["valid_until"] == end_of_day(new_end).isoformat().replace("+00:00", "Z")


def test_the_holder_asks_to_extend_and_the_manager_approves(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(ask_to_extend_and_approve, eam)


# ------------------------------------------------------------------ after the end (in-process)


async def test_ended_access_is_offered_for_renewal_to_holder_and_manager_within_grace(api: Api, clock: Clock, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    held = await api.approved_assignment(brugge["id"], "carol")
    ends = clock.now + dt.timedelta(days=2)
    await api.patch(f"/v1/assignments/{held['id']}", "alice", json={"valid_until": ends.isoformat()})
    clock.advance(days=5)
    carol = person()
    await carol.sign_in("carol")
    home = text_of((await carol.get("/")).text)
    assert "Access that ended recently (it can still be renewed)" in home
    extend = f"/access/{held['id']}/extend"
    form = await carol.get(extend)
    assert form.status_code == 200 and "ended on" in text_of(form.text)
    refused = await carol.post(extend, {"valid_until": "", "justification": "short"})
    assert refused.status_code == 422
    new_end = (clock.now + dt.timedelta(days=90)).date()
    asked = await carol.follow(await carol.post(extend, {"valid_until": new_end.isoformat(), "justification": "The study runs three months longer."}))
    assert "Your request to extend your access was sent to the access managers." in text_of(asked.text)
    (pending,) = (await api.get("/v1/access-requests", "alice", params={"status": "pending"})).json()["items"]
    assert pending["changes_assignment_id"] == held["id"]

    alice = person()
    await alice.sign_in("alice")
    page = f"/organisations/{brugge['id']}/assignments/{held['id']}"
    assert f'action="{page}/extension"' in (await alice.get(page)).text
    past = await alice.post(f"{page}/extension", {"valid_until": (clock.now - dt.timedelta(days=1)).date().isoformat()})
    assert past.status_code == 422
    done = await alice.follow(await alice.post(f"{page}/extension", {"valid_until": new_end.isoformat(), "comment": "Renewed."}))
    assert "The access was extended." in text_of(done.text)
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["status"] == "active"
    # the holder no longer sees the access as ended
    assert "Access that ended recently" not in text_of((await carol.get("/")).text)


async def test_nothing_is_offered_after_the_grace_period(api: Api, clock: Clock, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    held = await api.approved_assignment(brugge["id"], "carol")
    await api.patch(f"/v1/assignments/{held['id']}", "alice", json={"valid_until": (clock.now + dt.timedelta(days=1)).isoformat()})
    clock.advance(days=40)
    carol = person()
    await carol.sign_in("carol")
    assert "Access that ended recently" not in text_of((await carol.get("/")).text)
    asked = await carol.post(f"/access/{held['id']}/extend", {"valid_until": (clock.now + dt.timedelta(days=90)).date().isoformat(), "justification": "The study runs three months longer."})
    assert asked.status_code == 409
    assert "This access ended too long ago to be renewed; ask for access again." in text_of(asked.text)
    alice = person()
    await alice.sign_in("alice")
    page = f"/organisations/{brugge['id']}/assignments/{held['id']}"
    shown = (await alice.get(page)).text
    assert f'action="{page}/extension"' not in shown and "This access has ended" in text_of(shown)
