"""Access reviews through the API (SQLite and PostgreSQL): starting a campaign snapshots the live
assignments in scope; reviewers keep, change or revoke with a reason, never their own access;
racing reviewers get one success and one 409; the deadline gives the rest the default; a
recurring campaign starts its next round once; the report counts it all."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from litestar import Litestar

from eam.core.enums import ReviewRecurrence
from eam.jobs import CLOSE_REVIEWS, run_job
from eam.core.context import system_context
from eam.reviews.jobs import add_months, close_due_reviews, next_deadline
from tests.conftest import Api, Clock, assert_problem, error_fields


async def setup(api: Api) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An organisation managed by alice and bob; carol, erin and bob hold access there."""
    org = await api.managed_organisation("alice")
    assert (await api.appoint(org["id"], "bob")).status_code == 201
    held = {user: await api.approved_assignment(org["id"], user) for user in ("carol", "erin")}
    held["bob"] = await api.approved_assignment(org["id"], "bob", manager="alice")
    return org, held


async def start(api: Api, user: str = "alice", **body: Any) -> Any:
    return await api.post("/v1/access-reviews", user, json=body)


def deadline(clock: Clock, days: int = 14) -> str:
    return (clock.now + dt.timedelta(days=days)).isoformat()


async def decide(api: Api, review_id: str, assignment_id: str, user: str, decision: str = "keep", **extra: Any) -> Any:
    body = {"decision": decision, "reason": extra.pop("reason", "Still on the study team."), **extra}
    return await api.post(f"/v1/access-reviews/{review_id}/items/{assignment_id}/decision", user, json=body)


async def test_a_campaign_snapshots_the_live_assignments_and_reviewers_decide(api: Api, clock: Clock) -> None:
    org, held = await setup(api)
    other = await api.organisation(name="UZ Gent", nihdi="71000535")
    await api.appoint(other["id"], "frank")
    await api.approved_assignment(other["id"], "gina", manager="frank")  # outside the scope
    response = await start(api, organisation_id=org["id"], deadline=deadline(clock), default_decision="revoke")
    assert response.status_code == 201, response.text
    review = response.json()
    assert (review["status"], review["item_count"], review["recurrence"], review["created_by"]["display_name"]) == ("open", 3, "none", "alice")
    items = (await api.get(f"/v1/access-reviews/{review['id']}/items", "alice", params={"limit": 2})).json()
    assert len(items["items"]) == 2 and items["next_cursor"]
    rest = (await api.get(f"/v1/access-reviews/{review['id']}/items", "alice", params={"cursor": items["next_cursor"]})).json()
    assert {i["assignment_id"] for i in items["items"] + rest["items"]} == {a["id"] for a in held.values()}

    # keep, change (through the assignment's own change), revoke (through its revocation)
    kept = await decide(api, review["id"], held["carol"]["id"], "bob")
    assert kept.status_code == 200, kept.text
    assert (kept.json()["decision"], kept.json()["decided_by"]["display_name"]) == ("keep", "bob")
    changed = await decide(api, review["id"], held["erin"]["id"], "alice", "change", profile={"role": "data_provider", "data_level": "individual"}, reason="Individual data only now.")
    assert changed.status_code == 200, changed.text
    assignment = (await api.get(f"/v1/assignments/{held['erin']['id']}", "alice")).json()
    assert assignment["profile"]["data_level"] == "individual"
    # four eyes: bob does not review his own access, alice does
    assert_problem(await decide(api, review["id"], held["bob"]["id"], "bob", "revoke"), 403, "review-own-assignment")
    revoked = await decide(api, review["id"], held["bob"]["id"], "alice", "revoke", reason="No longer needs it.")
    assert revoked.status_code == 200, revoked.text
    assignment = (await api.get(f"/v1/assignments/{held['bob']['id']}", "alice")).json()
    assert (assignment["status"], assignment["revoke_reason"]) == ("revoked", "No longer needs it.")
    # decided once
    assert_problem(await decide(api, review["id"], held["carol"]["id"], "alice", "revoke"), 409, "review-item-decided")

    report = (await api.get(f"/v1/access-reviews/{review['id']}/report", "alice")).json()
    assert report["counts"] == {"pending": 0, "kept": 1, "changed": 1, "revoked": 1, "defaulted": 0}
    assert {(r["reviewer"]["display_name"], r["kept"], r["changed"], r["revoked"]) for r in report["reviewers"]} == {("alice", 0, 1, 1), ("bob", 1, 0, 0)}
    csv_response = await api.get(f"/v1/access-reviews/{review['id']}/report.csv", "alice")
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    lines = csv_response.text.strip().splitlines()
    assert lines[0].startswith("assignment_id,organisation_id,holder") and len(lines) == 4
    events = (await api.get("/v1/audit-events", "admin", params={"action": "access_review.decided"})).json()["items"]
    assert len(events) == 3

    # the other organisation's manager sees nothing of it; an auditor-less stranger neither
    assert_problem(await api.get(f"/v1/access-reviews/{review['id']}", "frank"), 404, "not-found")
    assert (await api.get("/v1/access-reviews", "frank")).json()["items"] == []
    assert [r["id"] for r in (await api.get("/v1/access-reviews", "bob")).json()["items"]] == [review["id"]]


async def test_who_may_start_what(api: Api, clock: Clock) -> None:
    org, _held = await setup(api)
    assert_problem(await start(api, "carol", organisation_id=org["id"], deadline=deadline(clock), default_decision="keep"), 403, "forbidden")
    # platform-wide (by register): platform admins only
    assert_problem(await start(api, "alice", register="HDBP0147", deadline=deadline(clock), default_decision="keep"), 403, "forbidden")
    platform = await start(api, "admin", register="HDBP0147", deadline=deadline(clock), default_decision="keep")
    assert platform.status_code == 201, platform.text
    assert platform.json()["item_count"] == 3
    # alice sees the platform-wide campaign: it has items in her organisation
    assert platform.json()["id"] in {r["id"] for r in (await api.get("/v1/access-reviews", "alice")).json()["items"]}
    no_scope = await start(api, "admin", deadline=deadline(clock), default_decision="keep")
    assert_problem(no_scope, 422, "validation-error")
    past = await start(api, organisation_id=org["id"], deadline=(clock.now - dt.timedelta(days=1)).isoformat(), default_decision="keep")
    assert "$.deadline" in error_fields(past)
    assert_problem(await start(api, organisation_id=org["id"], deadline=deadline(clock), default_decision="change"), 422, "validation-error")
    unknown = await start(api, "admin", register="NOPE0001", deadline=deadline(clock), default_decision="keep")
    assert "$.register" in error_fields(unknown)


async def test_a_decision_needs_a_reason_and_a_change_needs_something_to_change(api: Api, clock: Clock) -> None:
    org, held = await setup(api)
    review = (await start(api, organisation_id=org["id"], deadline=deadline(clock), default_decision="keep")).json()
    url = f"/v1/access-reviews/{review['id']}/items/{held['carol']['id']}/decision"
    assert "$.reason" in error_fields(await api.post(url, "alice", json={"decision": "keep"}))
    assert "$.profile" in error_fields(await api.post(url, "alice", json={"decision": "change", "reason": "Something else."}))
    assert "$.decision" in error_fields(await api.post(url, "alice", json={"decision": "keep", "reason": "Fine.", "profile": {"role": "sponsor", "data_level": "sponsor"}}))
    assert_problem(await api.post(url, "alice", json={"decision": "keep", "reason": "Fine.", "extra": 1}), 422, "validation-error")
    # still pending: none of these decided it
    assert (await decide(api, review["id"], held["carol"]["id"], "alice")).status_code == 200


async def test_racing_reviewers_get_one_success_and_one_conflict(api: Api, clock: Clock) -> None:
    org, held = await setup(api)
    review = (await start(api, organisation_id=org["id"], deadline=deadline(clock), default_decision="keep")).json()
    responses = await asyncio.gather(
        decide(api, review["id"], held["carol"]["id"], "alice", "revoke", reason="Left."),
        decide(api, review["id"], held["carol"]["id"], "bob", "keep"),
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["type"] in ("urn:eam:problem:review-item-decided", "urn:eam:problem:conflict")
    events = (await api.get("/v1/audit-events", "admin", params={"action": "access_review.decided"})).json()["items"]
    assert len(events) == 1


async def test_bulk_decisions_each_on_their_own(api: Api, clock: Clock) -> None:
    org, held = await setup(api)
    review = (await start(api, organisation_id=org["id"], deadline=deadline(clock), default_decision="revoke")).json()
    ids = [held[user]["id"] for user in ("carol", "erin", "bob")]
    response = await api.post(f"/v1/access-reviews/{review['id']}/decisions", "bob", json={"assignment_ids": ids, "decision": "keep", "reason": "All still needed."})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    [failed] = [item for item in body["items"] if item["outcome"] == "failed"]
    assert (failed["assignment_id"], failed["problem"]["type"]) == (held["bob"]["id"], "urn:eam:problem:review-own-assignment")


async def run_close(app: Litestar) -> int:
    return await run_job(app.state.services, CLOSE_REVIEWS)


async def test_at_the_deadline_the_rest_gets_the_default_and_a_recurring_campaign_starts_again(api: Api, app: Litestar, clock: Clock) -> None:
    org, held = await setup(api)
    review = (await start(api, organisation_id=org["id"], deadline=deadline(clock, 10), default_decision="revoke", recurrence="monthly")).json()
    assert (await decide(api, review["id"], held["carol"]["id"], "bob")).status_code == 200
    assert await run_close(app) == 0  # not due yet
    clock.advance(days=11)
    assert_problem(await decide(api, review["id"], held["erin"]["id"], "alice"), 409, "review-closed")
    assert await run_close(app) == 3  # two defaults and the close
    assert await run_close(app) == 0  # once
    closed = (await api.get(f"/v1/access-reviews/{review['id']}", "alice")).json()
    assert closed["status"] == "closed"
    for user in ("erin", "bob"):
        assignment = (await api.get(f"/v1/assignments/{held[user]['id']}", "alice")).json()
        assert assignment["status"] == "revoked"
    assert (await api.get(f"/v1/assignments/{held['carol']['id']}", "alice")).json()["status"] == "active"
    report = (await api.get(f"/v1/access-reviews/{review['id']}/report", "alice")).json()
    assert report["counts"] == {"pending": 0, "kept": 1, "changed": 0, "revoked": 2, "defaulted": 2}
    items = (await api.get(f"/v1/access-reviews/{review['id']}/items", "alice")).json()["items"]
    defaulted = [item for item in items if item["defaulted"]]
    assert len(defaulted) == 2 and all(item["decided_by"] is None for item in defaulted)
    events = (await api.get("/v1/audit-events", "admin", params={"action": "access_review.decided"})).json()["items"]
    assert len(events) == 3 and [event["actor"] for event in events].count("system:reviews") == 2

    # the next round: over what is live now (carol only), deadline a month after the last
    reviews = (await api.get("/v1/access-reviews", "alice")).json()["items"]
    [following] = [r for r in reviews if r["previous_id"] == review["id"]]
    assert (following["status"], following["item_count"], following["created_by"]) == ("open", 1, None)
    assert dt.datetime.fromisoformat(following["deadline"]) > clock.now
    assert dt.datetime.fromisoformat(following["deadline"]) == add_months(dt.datetime.fromisoformat(review["deadline"]), 1)
    assert (await api.get(f"/v1/access-reviews/{following['id']}/items", "alice")).json()["items"][0]["assignment_id"] == held["carol"]["id"]


def test_months_are_added_to_the_same_day_or_the_last_one() -> None:
    moment = dt.datetime(2027, 1, 31, 22, 0, tzinfo=dt.UTC)
    assert add_months(moment, 1) == dt.datetime(2027, 2, 28, 22, 0, tzinfo=dt.UTC)
    assert add_months(moment, 3) == dt.datetime(2027, 4, 30, 22, 0, tzinfo=dt.UTC)
    assert add_months(moment, 12) == dt.datetime(2028, 1, 31, 22, 0, tzinfo=dt.UTC)
    assert next_deadline(moment, ReviewRecurrence.QUARTERLY, dt.datetime(2027, 8, 1, tzinfo=dt.UTC)) == dt.datetime(2027, 10, 31, 22, 0, tzinfo=dt.UTC)


async def test_a_platform_wide_campaign_is_reviewed_per_organisation_and_auditors_only_read(api: Api, clock: Clock) -> None:
    org, held = await setup(api)
    other = await api.organisation(name="UZ Gent", nihdi="71000535")
    assert (await api.appoint(other["id"], "frank")).status_code == 201
    gina = await api.approved_assignment(other["id"], "gina", manager="frank")
    dpo = await api.user_id("dpo")
    assert (await api.post(f"/v1/organisations/{org['id']}/auditors", "alice", json={"user_id": dpo})).status_code == 201
    review = (await start(api, "admin", application="healthstat", deadline=deadline(clock), default_decision="keep")).json()
    assert review["item_count"] == 4
    # each manager sees and decides the items of their own organisation only
    franks = (await api.get(f"/v1/access-reviews/{review['id']}/items", "frank")).json()["items"]
    assert [item["assignment_id"] for item in franks] == [gina["id"]]
    assert_problem(await decide(api, review["id"], held["carol"]["id"], "frank"), 404, "not-found")
    assert (await decide(api, review["id"], gina["id"], "frank")).status_code == 200
    assert (await api.get(f"/v1/access-reviews/{review['id']}/report", "frank")).json()["counts"] == {"pending": 0, "kept": 1, "changed": 0, "revoked": 0, "defaulted": 0}
    # the organisation's auditor reads, never decides
    assert len((await api.get(f"/v1/access-reviews/{review['id']}/items", "dpo")).json()["items"]) == 3
    assert_problem(await decide(api, review["id"], held["carol"]["id"], "dpo"), 403, "forbidden")
    assert_problem(await start(api, "dpo", organisation_id=org["id"], deadline=deadline(clock), default_decision="keep"), 403, "forbidden")
    # a platform admin may decide (never on their own access)
    assert (await decide(api, review["id"], held["carol"]["id"], "admin", "revoke", reason="Platform-wide clean-up.")).status_code == 200


async def test_the_deadline_is_worked_through_in_batches(api: Api, app: Litestar, clock: Clock) -> None:
    org, held = await setup(api)
    review = (await start(api, organisation_id=org["id"], deadline=deadline(clock, 1), default_decision="keep")).json()
    clock.advance(days=2)
    async with system_context(app.state.services, "reviews") as ctx:
        assert await close_due_reviews(ctx, limit=2) == 2
    assert (await api.get(f"/v1/access-reviews/{review['id']}", "alice")).json()["status"] == "open"
    async with system_context(app.state.services, "reviews") as ctx:
        assert await close_due_reviews(ctx, limit=2) == 2  # the last item and the close
    assert (await api.get(f"/v1/access-reviews/{review['id']}", "alice")).json()["status"] == "closed"
    assert all(item["decision"] == "keep" for item in (await api.get(f"/v1/access-reviews/{review['id']}/items", "alice")).json()["items"])
    assert {(await api.get(f"/v1/assignments/{a['id']}", "alice")).json()["status"] for a in held.values()} == {"active"}


async def test_workers_closing_a_recurring_campaign_at_once_start_one_next_round(api: Api, app: Litestar, clock: Clock) -> None:
    org, _held = await setup(api)
    review = (await start(api, organisation_id=org["id"], deadline=deadline(clock, 1), default_decision="revoke", recurrence="yearly")).json()
    clock.advance(days=2)
    outcomes = await asyncio.gather(*(run_close(app) for _ in range(4)), return_exceptions=True)
    assert sorted(outcomes) == [0, 0, 0, 4], outcomes  # one worker defaulted the three items and closed it
    assert await run_close(app) == 0
    reviews = (await api.get("/v1/access-reviews", "alice")).json()["items"]
    assert len([r for r in reviews if r["previous_id"] == review["id"]]) == 1
    report = (await api.get(f"/v1/access-reviews/{review['id']}/report", "alice")).json()
    assert report["counts"] == {"pending": 0, "kept": 0, "changed": 0, "revoked": 3, "defaulted": 3}
    events = (await api.get("/v1/audit-events", "admin", params={"action": "access_review.decided"})).json()["items"]
    assert len(events) == 3
