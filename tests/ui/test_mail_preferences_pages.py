"""The pages set what e-mail a person gets: the language chosen on the pages (and at sign-in) is
the language of their mail; an access manager picks a mail per request or a daily digest; the
requester sees on their requests page that a request waiting too long was escalated."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from playwright.sync_api import expect

from eam.jobs import ESCALATE_REQUESTS, run_job
from tests.conftest import Api, Clock
from tests.ui.browser import BrowserThread, EamServer, visiting
from tests.ui.pages import Person, text_of
from tests.ui.test_journeys import sign_in


async def test_choosing_a_language_on_the_pages_sets_the_mail_language(api: Api, person: Callable[..., Person]) -> None:
    carol = person()
    await carol.sign_in("carol")
    assert (await api.get("/v1/me", "carol")).json()["language"] is None  # a browser's default is not a choice
    await carol.get("/")
    chosen = await carol.post("/language", {"language": "nl", "return_to": "/"})
    assert chosen.status_code == 303
    assert (await api.get("/v1/me", "carol")).json()["language"] == "nl"
    events = (await api.get("/v1/audit-events", "admin", params={"action": "user.updated"})).json()["items"]
    assert [event["after"] for event in events] == [{"language": "nl"}]
    # not signed in: the cookie only
    visitor = person()
    await visitor.get("/sign-in")
    assert (await visitor.post("/language", {"language": "fr", "return_to": "/sign-in"})).status_code == 303


async def test_signing_in_with_a_chosen_language_stores_it(api: Api, person: Callable[..., Person]) -> None:
    dave = person()
    dave.http.cookies.set("eam_lang", "fr")
    await dave.sign_in("dave")
    assert (await api.get("/v1/me", "dave")).json()["language"] == "fr"
    erin = person("nl-BE")
    erin.http.cookies.set("eam_lang", "xx")  # not offered: ignored
    await erin.sign_in("erin")
    assert (await api.get("/v1/me", "erin")).json()["language"] is None


async def test_an_access_manager_chooses_the_daily_digest_in_the_inbox(api: Api, person: Callable[..., Person]) -> None:
    await api.managed_organisation("alice")
    alice = person("fr")
    await alice.sign_in("alice")
    page = (await alice.get("/inbox")).text
    assert "Un récapitulatif par jour" in page and 'value="each" checked' in page
    refused = await alice.post("/inbox/notifications", {"notify": "weekly"})
    assert refused.status_code == 422
    saved = await alice.follow(await alice.post("/inbox/notifications", {"notify": "digest"}))
    assert "Votre choix d’e-mails a été enregistré." in text_of(saved.text) and 'value="digest" checked' in saved.text
    assert (await api.get("/v1/me", "alice")).json()["notify_digest"] is True


async def test_the_requester_sees_the_escalation_of_a_request_on_their_page(app: Litestar, api: Api, person: Callable[..., Person], clock: Clock) -> None:
    org = await api.managed_organisation("alice")
    assert (await api.request_access(org["id"], "carol")).status_code == 201
    carol = person("nl")
    await carol.sign_in("carol")
    assert "geëscaleerd" not in text_of((await carol.get("/requests")).text)
    clock.advance(hours=73)
    assert await run_job(app.state.services, ESCALATE_REQUESTS) == 1
    carol = person("nl")  # (the first session ended meanwhile)
    await carol.sign_in("carol")
    assert "geëscaleerd naar alle toegangsbeheerders van de organisatie" in text_of((await carol.get("/requests")).text)
    clock.advance(hours=100)
    assert await run_job(app.state.services, ESCALATE_REQUESTS) == 1
    english = person()
    await english.sign_in("carol")
    assert "Escalated to the platform admins on" in text_of((await english.get("/requests")).text)


def escalation_journey(browser: Any, eam: EamServer) -> None:
    """Dave's request (the demo data's) has waited 80 hours: the server's own housekeeping round
    escalates it, and Dave reads that on his requests page, in Dutch as he chose."""
    (pending,) = eam.api("GET", "/v1/access-requests", "dave", params={"status": "pending"}).json()["items"]
    with sqlite3.connect(eam.database) as db:  # time passes: the request was submitted 80 hours ago
        db.execute("UPDATE access_requests SET created_at = datetime(created_at, '-80 hours') WHERE id = ?", (uuid.UUID(pending["id"]).hex,))
        assert db.total_changes == 1
    for _ in range(100):
        seen = eam.api("GET", f"/v1/access-requests/{pending['id']}", "dave").json()
        if seen["escalation_level"] == 1:
            break
        time.sleep(0.1)
    assert seen["escalation_level"] == 1, seen
    with visiting(browser, eam, "escalation") as visitor:
        page = visitor.page
        sign_in(visitor, "Dave Employee")
        page.get_by_label("Language").select_option("nl")
        with page.expect_navigation():
            page.get_by_role("button", name="Change language").click()
        with page.expect_navigation():
            page.get_by_role("link", name="Mijn aanvragen", exact=True).click()
        visitor.check("my-requests-escalated")
        row = page.get_by_role("row").filter(has_text="HDBP0147")
        expect(row).to_contain_text("geëscaleerd naar alle toegangsbeheerders van de organisatie")


def test_the_requester_sees_the_escalation_in_chromium(chromium: BrowserThread) -> None:
    eam = EamServer(EAM_EXPIRY_SWEEP_SECONDS="0.5")
    try:
        chromium.journey(escalation_journey, eam)
    finally:
        eam.close()
