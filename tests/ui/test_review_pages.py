"""The access review pages, used in-process as a person would (SQLite and PostgreSQL): an access
manager starts a review, reviews an access (keep, change, revoke with a reason), never their own,
and reads the report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.conftest import Api, Clock
from tests.ui.pages import Person, text_of


async def test_an_access_manager_starts_a_review_and_decides(api: Api, clock: Clock, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    await api.appoint(brugge["id"], "bob")
    carol = await api.approved_assignment(brugge["id"], "carol")
    own = await api.approved_assignment(brugge["id"], "alice", manager="bob")
    alice = person()
    await alice.sign_in("alice")
    listing = await alice.get("/reviews")
    assert listing.status_code == 200 and 'href="/reviews/new"' in listing.text
    form = await alice.get("/reviews/new")
    assert form.status_code == 200
    # no deadline: the form says so, nothing starts
    refused = await alice.post("/reviews", {"organisation_id": brugge["id"], "default_decision": "keep", "recurrence": "none", "deadline": ""})
    assert refused.status_code == 422
    assert (await api.get("/v1/access-reviews", "alice")).json()["items"] == []
    day = (clock.now + dt.timedelta(days=20)).date().isoformat()
    started = await alice.post("/reviews", {"organisation_id": brugge["id"], "application": "", "register": "", "default_decision": "revoke", "recurrence": "quarterly", "deadline": day})
    assert started.status_code == 303, started.text
    page = await alice.follow(started)
    text = text_of(page.text)
    assert "The access review has started." in text and "every quarter" in text
    # the deadline is shown as the day chosen (it ends at midnight after it)
    chosen = dt.date.fromisoformat(day)
    assert f"Deadline {chosen.strftime('%b')} {chosen.day}, {chosen.year}" in text
    [review] = (await api.get("/v1/access-reviews", "alice")).json()["items"]
    assert review["item_count"] == 2
    assert f'/reviews/{review["id"]}/items/{carol["id"]}' in page.text
    assert f'/reviews/{review["id"]}/items/{own["id"]}"' not in page.text  # never offered for oneself
    assert "Your own: another reviewer decides" in text

    item = f'/reviews/{review["id"]}/items/{carol["id"]}'
    assert (await alice.get(item)).status_code == 200
    no_reason = await alice.post(item, {"decision": "keep", "reason": ""})
    assert no_reason.status_code == 422
    changed = await alice.post(item, {"decision": "change", "reason": "Individual data only.", "profile_key": "data_provider/individual", "valid_until": ""})
    assert changed.status_code == 303, changed.text
    assert "Your decision was recorded." in text_of((await alice.follow(changed)).text)
    assert (await api.get(f"/v1/assignments/{carol['id']}", "alice")).json()["profile"]["data_level"] == "individual"
    again = await alice.post(item, {"decision": "revoke", "reason": "Changed my mind."})
    assert again.status_code == 409
    assert "This access has been reviewed already" in text_of(again.text)
    mine = await alice.post(f'/reviews/{review["id"]}/items/{own["id"]}', {"decision": "keep", "reason": "I need it."})
    assert mine.status_code == 403
    assert "Nobody reviews their own access" in text_of(mine.text)

    report = text_of((await alice.get(f'/reviews/{review["id"]}/report')).text)
    assert "0 kept, 1 changed, 0 revoked, 1 still to review" in report
    csv_file = await alice.get(f'/reviews/{review["id"]}/report.csv')
    assert csv_file.status_code == 200 and "Individual data only." in csv_file.text


async def test_the_review_pages_in_french_and_closed_to_employees(api: Api, clock: Clock, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    await api.approved_assignment(brugge["id"], "carol")
    review = (await api.post("/v1/access-reviews", "alice", json={"organisation_id": brugge["id"], "deadline": (clock.now + dt.timedelta(days=5)).isoformat(), "default_decision": "keep"})).json()
    alice = person("fr")
    await alice.sign_in("alice")
    page = text_of((await alice.get(f'/reviews/{review["id"]}')).text)
    assert "Revue des accès" in page
    carol = person()
    await carol.sign_in("carol")
    assert (await carol.get(f'/reviews/{review["id"]}')).status_code == 404
    assert (await carol.get("/reviews/new")).status_code == 403


async def test_an_auditor_finds_the_reviews_in_the_menu_and_only_reads_them(api: Api, clock: Clock, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    carol = await api.approved_assignment(brugge["id"], "carol")
    appointed = await api.post(f"/v1/organisations/{brugge['id']}/auditors", "alice", json={"user_id": await api.user_id("dora")})
    assert appointed.status_code == 201, appointed.text
    review = (await api.post("/v1/access-reviews", "alice", json={"organisation_id": brugge["id"], "deadline": (clock.now + dt.timedelta(days=5)).isoformat(), "default_decision": "keep"})).json()
    dora = person()
    await dora.sign_in("dora")
    listing = await dora.get("/reviews")
    assert listing.status_code == 200
    assert 'href="/reviews"' in listing.text and f'href="/reviews/{review["id"]}"' in listing.text
    assert 'href="/reviews/new"' not in listing.text
    assert (await dora.get(f'/reviews/{review["id"]}')).status_code == 200
    refused = await dora.post(f'/reviews/{review["id"]}/items/{carol["id"]}', {"decision": "revoke", "reason": "An auditor tries."})
    assert refused.status_code == 403
    assert (await api.get(f"/v1/assignments/{carol['id']}", "alice")).json()["status"] == "active"
