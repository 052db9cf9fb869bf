"""The pages of a person leaving an organisation and of organisations without an access
manager, used in-process as a person would (tests/ui/pages.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from playwright.sync_api import expect
from sqlalchemy import delete

from eam.access_managers.models import AccessManager
from tests.conftest import Api
from tests.ui.browser import BrowserThread, EamServer, visiting
from tests.ui.pages import Person, text_of
from tests.ui.test_journeys import open_menu, sign_in


async def test_an_access_manager_marks_a_person_as_having_left_after_confirming(api: Api, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    held = await api.approved_assignment(brugge["id"], "carol")
    carol = await api.user_id("carol")
    alice = person()
    await alice.sign_in("alice")
    page = await alice.get(f"/organisations/{brugge['id']}")
    departure = f"/organisations/{brugge['id']}/people/{carol}/departure"
    assert f'href="{departure}"' in page.text
    alice_id = await api.user_id("alice")
    assert f"/people/{alice_id}/departure" not in page.text  # never offered for oneself
    confirm = await alice.get(departure)
    assert confirm.status_code == 200
    assert "carol leaves AZ Sint-Jan Brugge" in text_of(confirm.text)
    # no reason: nothing happens, the form says why
    refused = await alice.post(departure, {"reason": ""})
    assert refused.status_code == 422
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["status"] == "active"
    done = await alice.follow(await alice.post(departure, {"reason": "Moved to another hospital."}))
    assert "The person was marked as having left: their access here ended." in text_of(done.text)
    assert (await api.get(f"/v1/assignments/{held['id']}", "alice")).json()["revoke_reason"] == "Moved to another hospital."
    # a second time is refused with a human message
    again = await alice.post(departure, {"reason": "Again."})
    assert again.status_code == 409
    assert "This person has left the organisation already." in text_of(again.text)


async def test_the_departure_page_in_dutch_and_refused_for_oneself(api: Api, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    await api.appoint(brugge["id"], "erin", by="alice")
    erin = await api.user_id("erin")
    alice = person("nl")
    await alice.sign_in("erin")
    page = await alice.get(f"/organisations/{brugge['id']}/people/{erin}/departure")
    assert page.status_code == 200
    assert "Bevestigen" in text_of(page.text)
    refused = await alice.post(f"/organisations/{brugge['id']}/people/{erin}/departure", {"reason": "Ik vertrek."})
    assert refused.status_code == 403
    managers = (await api.get(f"/v1/organisations/{brugge['id']}/access-managers", "alice")).json()["items"]
    assert erin in {m["user_id"] for m in managers}
    outsider = person()
    await outsider.sign_in("dave")
    assert (await outsider.get(f"/organisations/{brugge['id']}/people/{erin}/departure")).status_code == 403


async def test_admins_see_active_organisations_without_an_access_manager(api: Api, app: Litestar, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    await api.organisation(name="AZ Groeninge", nihdi="71000832")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AccessManager).where(AccessManager.organisation_id == uuid.UUID(brugge["id"])))
    admin = person()
    await admin.sign_in("admin")
    page = text_of((await admin.get("/admin/organisations")).text)
    flagged = page.split("Without an access manager", 1)[1].split("Find by name", 1)[0]
    assert "AZ Groeninge" in flagged and "AZ Sint-Jan Brugge" in flagged
    assert "UZ Leuven" not in flagged


def departure_journey(browser: Any, eam: EamServer) -> None:
    """Alice marks Dave as having left AZ Sint-Jan: his access ends and his pending request is
    withdrawn, after a confirmation page that insists on a reason."""
    brugge = eam.organisation_id("71000436")
    (pending,) = eam.api("GET", "/v1/access-requests", "alice", params={"status": "pending"}).json()["items"]
    approved = eam.api("POST", f"/v1/access-requests/{pending['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    assignment_id = approved.json()["assignment_id"]
    again = eam.api("POST", "/v1/access-requests", "dave", json={
        "organisation_id": brugge, "application": "hd4dp2", "register": "HDBP0147",
        "profile": {"role": "local_study_associate"}, "justification": "I register our patients too.",
    })
    assert again.status_code == 201, again.text
    with visiting(browser, eam, "departure") as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "My organisations", "my-organisations")
        with page.expect_navigation():
            page.get_by_role("link", name="AZ Sint-Jan Brugge").click()
        visitor.check("organisation")
        expect(page.get_by_role("link", name="Mark Alice Access-Manager as having left")).to_have_count(0)
        with page.expect_navigation():
            page.get_by_role("link", name="Mark Dave Employee as having left").first.click()
        visitor.check("departure-confirm")
        expect(page.get_by_role("heading", name="Dave Employee leaves AZ Sint-Jan Brugge")).to_be_visible()
        confirm = page.get_by_role("button", name="Confirm: Dave Employee has left")
        with page.expect_navigation():
            confirm.click()  # no reason: refused, nothing ended
        visitor.check("departure-no-reason")
        expect(page.get_by_label("Reason (kept in the audit trail)")).to_have_attribute("aria-invalid", "true")
        assert eam.api("GET", f"/v1/assignments/{assignment_id}", "alice").json()["status"] == "active"
        page.get_by_label("Reason (kept in the audit trail)").fill("Moved to UZ Gent on 1 December.")
        with page.expect_navigation():
            confirm.click()
        visitor.check("departure-done")
        expect(page.get_by_role("status")).to_have_text("The person was marked as having left: their access here ended.")
    ended = eam.api("GET", f"/v1/assignments/{assignment_id}", "alice").json()
    assert (ended["status"], ended["revoke_reason"]) == ("revoked", "Moved to UZ Gent on 1 December.")
    assert eam.api("GET", f"/v1/access-requests/{again.json()['id']}", "alice").json()["status"] == "withdrawn"


def test_an_access_manager_marks_a_person_as_having_left_in_chromium(chromium: BrowserThread, eam: EamServer) -> None:
    chromium.journey(departure_journey, eam)
