"""Access requests: submission rules, decisions, four-eyes, withdrawal, expiry."""

from __future__ import annotations

import datetime as dt

from tests.conftest import Api, Clock, casbin_rows


async def test_request_shows_the_organisation_so_a_wrong_choice_is_visible(api: Api) -> None:
    org = await api.managed_organisation()
    response = await api.request_access(org["id"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["organisation"] == {"id": org["id"], "name": "AZ Sint-Jan Brugge", "nihdi": "71000436", "status": "active"}
    detail = await api.get(f"/v1/access-requests/{body['id']}", "carol")
    assert detail.json()["organisation"]["nihdi"] == "71000436"


async def test_second_pending_request_is_refused_with_a_pointer(api: Api) -> None:
    org = await api.managed_organisation()
    first = await api.request_access(org["id"])
    second = await api.request_access(org["id"], profile={"role": "sponsor", "data_level": "sponsor"})
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.json()["type"] == "urn:eam:problem:duplicate-request"
    assert second.json()["existing"] == f"/v1/access-requests/{first.json()['id']}"


async def test_request_for_what_is_already_assigned_is_refused(api: Api) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    again = await api.request_access(org["id"])
    assert again.status_code == 409
    assert again.json()["type"] == "urn:eam:problem:already-assigned"
    assert again.json()["existing"] == f"/v1/assignments/{assignment['id']}"


async def test_catalogue_violations_are_422_naming_the_allowed_values(api: Api) -> None:
    org = await api.managed_organisation()
    unknown_register = await api.request_access(org["id"], register="HDBP9999")
    assert unknown_register.status_code == 422
    assert "HDBP0147" in unknown_register.json()["errors"][0]["allowed"]

    wrong_application = await api.request_access(
        org["id"], application="hd4dp2", register="HDBP0211", profile={"role": "local_study_lead"}
    )
    assert wrong_application.status_code == 422
    assert wrong_application.json()["errors"][0]["allowed"] == ["healthstat"]

    bad_profile = await api.request_access(org["id"], profile={"role": "data_provider", "data_level": "sponsor"})
    assert bad_profile.status_code == 422
    assert bad_profile.json()["errors"][0]["allowed"] == [
        "data_provider/hospital",
        "data_provider/individual",
        "sponsor/sponsor",
        "sponsor/individual",
    ]

    support_without_group = await api.request_access(org["id"], application="hd4dp2", profile={"role": "local_study_support"})
    assert support_without_group.status_code == 422
    assert support_without_group.json()["errors"][0]["field"] == "$.profile.author_group"

    lead_with_group = await api.request_access(
        org["id"], application="hd4dp2", profile={"role": "local_study_lead", "author_group": "team-a"}
    )
    assert lead_with_group.status_code == 422

    support = await api.request_access(
        org["id"], application="hd4dp2", profile={"role": "local_study_support", "author_group": "team-a"}
    )
    assert support.status_code == 201, support.text
    assert support.json()["profile"]["author_group"] == "team-a"


async def test_justification_length_and_unknown_fields(api: Api) -> None:
    org = await api.managed_organisation()
    short = await api.request_access(org["id"], justification="too short")
    assert short.status_code == 422
    assert any(error["field"] == "$.justification" for error in short.json()["errors"])
    long = await api.request_access(org["id"], justification="x" * 2001)
    assert long.status_code == 422
    blank = await api.request_access(org["id"], justification=" " * 12)
    assert blank.status_code == 422
    several = await api.request_access(org["id"], justification="short", colour="blue", register=7)
    assert several.status_code == 422
    fields = {error["field"] for error in several.json()["errors"]}
    assert {"$.justification", "$.colour", "$.register"} <= fields
    listed = await api.get("/v1/access-requests", "carol")
    assert listed.json()["items"] == []


async def test_requests_to_disabled_or_unknown_organisations_are_refused(api: Api) -> None:
    org = await api.managed_organisation()
    disabled = await api.patch(f"/v1/organisations/{org['id']}", json={"status": "disabled"})
    assert disabled.status_code == 200
    refused = await api.request_access(org["id"])
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:eam:problem:organisation-disabled"
    unknown = await api.request_access("00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "$.organisation_id"


async def test_end_date_in_the_past_is_refused(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    past = (clock.now - dt.timedelta(days=1)).isoformat()
    response = await api.request_access(org["id"], valid_until=past)
    assert response.status_code == 422
    naive = await api.request_access(org["id"], valid_until="2030-01-01T00:00:00")
    assert naive.status_code == 422


async def test_approval_creates_assignment_and_policy_in_one_step(api: Api, app) -> None:
    org = await api.managed_organisation()
    request = (await api.request_access(org["id"])).json()
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={"comment": "welcome"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    assert body["decision_comment"] == "welcome"
    assert body["decided_by"]["id"] == await api.user_id("alice")
    me = (await api.get("/v1/me", "carol")).json()
    assert [a["id"] for a in me["assignments"]] == [body["assignment_id"]]
    carol = await api.user_id("carol")
    rows = await casbin_rows(app, "p2")
    assert len(rows) == 1
    assert rows[0][1:5] == (f"user:{carol}", f"org:{org['id']}", "healthstat:HDBP0147", "data_provider/hospital")


async def test_approval_may_narrow_but_not_widen(api: Api) -> None:
    org = await api.managed_organisation()
    request = (await api.request_access(org["id"])).json()
    widened = await api.post(
        f"/v1/access-requests/{request['id']}/approve", "alice", json={"profile": {"role": "sponsor", "data_level": "sponsor"}}
    )
    assert widened.status_code == 422
    assert widened.json()["errors"][0]["allowed"] == ["data_provider/hospital", "data_provider/individual"]
    still_pending = await api.get(f"/v1/access-requests/{request['id']}", "alice")
    assert still_pending.json()["status"] == "pending"
    narrowed = await api.post(
        f"/v1/access-requests/{request['id']}/approve",
        "alice",
        json={"profile": {"role": "data_provider", "data_level": "individual"}, "valid_until": "2099-01-01T00:00:00Z"},
    )
    assert narrowed.status_code == 200, narrowed.text
    assignment = (await api.get(f"/v1/assignments/{narrowed.json()['assignment_id']}", "carol")).json()
    assert assignment["profile"] == {"role": "data_provider", "data_level": "individual", "author_group": None}
    assert assignment["valid_until"].startswith("2099-01-01T00:00:00")


async def test_only_an_access_manager_of_that_organisation_decides(api: Api) -> None:
    org = await api.managed_organisation()
    other = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    assert other["id"] != org["id"]
    request = (await api.request_access(org["id"])).json()
    for user in ("bob", "dave", "carol"):
        for action, body in (("approve", {}), ("reject", {"reason": "not this time"})):
            response = await api.post(f"/v1/access-requests/{request['id']}/{action}", user, json=body)
            assert response.status_code in (403, 404), (user, action, response.text)
    # bob and dave cannot even see it
    assert (await api.get(f"/v1/access-requests/{request['id']}", "bob")).status_code == 404
    assert (await api.get(f"/v1/access-requests/{request['id']}", "dave")).status_code == 404


async def test_four_eyes_no_one_approves_their_own_request(api: Api) -> None:
    org = await api.managed_organisation()
    await api.appoint(org["id"], "admin")
    own = (await api.request_access(org["id"], user="alice")).json()
    response = await api.post(f"/v1/access-requests/{own['id']}/approve", "alice", json={})
    assert response.status_code == 403
    admin_own = (await api.request_access(org["id"], user="admin")).json()
    response = await api.post(f"/v1/access-requests/{admin_own['id']}/approve", "admin", json={})
    assert response.status_code == 403
    by_colleague = await api.post(f"/v1/access-requests/{own['id']}/approve", "admin", json={})
    assert by_colleague.status_code == 200


async def test_reject_requires_a_reason_and_is_final(api: Api) -> None:
    org = await api.managed_organisation()
    request = (await api.request_access(org["id"])).json()
    missing = await api.post(f"/v1/access-requests/{request['id']}/reject", "alice", json={})
    assert missing.status_code == 422
    blank = await api.post(f"/v1/access-requests/{request['id']}/reject", "alice", json={"reason": "   "})
    assert blank.status_code == 422
    rejected = await api.post(f"/v1/access-requests/{request['id']}/reject", "alice", json={"reason": "Not in the study team"})
    assert rejected.status_code == 200
    assert rejected.json()["decision_comment"] == "Not in the study team"
    again = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert again.status_code == 409
    assert again.json()["type"] == "urn:eam:problem:request-not-pending"
    assert again.json()["current_status"] == "rejected"


async def test_requester_withdraws_while_pending_only(api: Api) -> None:
    org = await api.managed_organisation()
    request = (await api.request_access(org["id"])).json()
    by_other = await api.post(f"/v1/access-requests/{request['id']}/withdraw", "alice")
    assert by_other.status_code == 403
    withdrawn = await api.post(f"/v1/access-requests/{request['id']}/withdraw", "carol")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    again = await api.post(f"/v1/access-requests/{request['id']}/withdraw", "carol")
    assert again.status_code == 409
    # after withdrawal the same thing may be asked again
    assert (await api.request_access(org["id"])).status_code == 201


async def test_pending_requests_expire_at_once_and_are_swept_with_an_audit_event(api: Api, app, clock: Clock) -> None:
    from eam.jobs import EXPIRE_ASSIGNMENTS, EXPIRE_REQUESTS
    from tests.conftest import run_jobs

    org = await api.managed_organisation()
    request = (await api.request_access(org["id"])).json()
    clock.advance(days=30, seconds=1)
    shown = await api.get(f"/v1/access-requests/{request['id']}", "carol")
    assert shown.json()["status"] == "expired"
    assert (await api.get("/v1/access-requests?status=pending", "alice")).json()["items"] == []
    assert len((await api.get("/v1/access-requests?status=expired", "alice")).json()["items"]) == 1
    late = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert late.status_code == 409
    assert late.json()["current_status"] == "expired"
    assert await run_jobs(app.state.services, EXPIRE_REQUESTS, EXPIRE_ASSIGNMENTS) == (1, 0)
    events = (await api.get(f"/v1/audit-events?target_id={request['id']}", "alice")).json()["items"]
    assert [e["action"] for e in events] == ["access_request.expired", "access_request.submitted"]
    assert (await api.request_access(org["id"])).status_code == 201


async def test_listing_is_scoped_and_filterable(api: Api) -> None:
    brugge = await api.managed_organisation()
    leuven = await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    await api.request_access(brugge["id"], "carol")
    await api.request_access(brugge["id"], "dave", register="HDBP0031")
    await api.request_access(leuven["id"], "erin")
    assert len((await api.get("/v1/access-requests", "carol")).json()["items"]) == 1
    assert len((await api.get("/v1/access-requests", "alice")).json()["items"]) == 2
    assert len((await api.get("/v1/access-requests", "bob")).json()["items"]) == 1
    assert len((await api.get("/v1/access-requests", "admin")).json()["items"]) == 3
    by_register = (await api.get("/v1/access-requests?register=HDBP0031", "alice")).json()["items"]
    assert [r["requester"]["display_name"] for r in by_register] == ["dave"]
    page = (await api.get("/v1/access-requests?limit=2", "admin")).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest_response = await api.get("/v1/access-requests", "admin", params={"limit": 2, "cursor": page["next_cursor"]})
    assert rest_response.status_code == 200, rest_response.text
    rest = rest_response.json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = {r["id"] for r in page["items"]} | {r["id"] for r in rest["items"]}
    assert len(ids) == 3


async def test_the_approval_event_names_the_assignment_it_created(api: Api) -> None:
    org = await api.managed_organisation()
    request = (await api.request_access(org["id"])).json()
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={})
    assert approved.status_code == 200, approved.text
    assignment_id = approved.json()["assignment_id"]
    assert assignment_id is not None
    events = (await api.get("/v1/audit-events", "alice", params={"target_id": request["id"], "action": "access_request.approved"})).json()["items"]
    assert [event["after"]["assignment_id"] for event in events] == [assignment_id]
    assert (await api.get(f"/v1/assignments/{assignment_id}", "alice")).json()["request_id"] == request["id"]
