"""The employee's and the access manager's pages, in-process: the same rules as the API, told
as pages; a refused change writes nothing and keeps what was typed."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import Api
from tests.ui.pages import Person, text_of


async def request_via_page(carol: Person, organisation_id: str, justification: str = "I prepare our hospital's reports.", **extra: str) -> object:
    await carol.get("/requests/new")
    form = {
        "q": "sint jan",
        "organisation_id": organisation_id,
        "application": "healthstat",
        "register": "HDBP0147",
        "profile_key": "data_provider/hospital",
        "justification": justification,
        **extra,
    }
    return await carol.post("/requests", form)


async def test_an_employee_requests_and_an_access_manager_approves_narrowed(api: Api, person: Callable[..., Person]) -> None:
    org = await api.managed_organisation("alice")
    carol = person()
    await carol.sign_in("carol")
    # search as you type: a partial of matching organisations, name and NIHDI together
    found = await carol.get("/organisations/search", params={"q": "SINT-jan"})
    assert "AZ Sint-Jan Brugge (NIHDI 71000436)" in text_of(f'<main id="main">{found.text}</main>')
    # a validation error keeps what was typed and says what to fix
    refused = await request_via_page(carol, org["id"], justification="short", valid_until="2020-01-01")
    assert refused.status_code == 422
    page = refused.text
    assert "Please write at least 10 characters." in page and "Please give a date in the future." in page
    assert ">short</textarea>" in page and 'value="2020-01-01"' in page
    assert (await api.get("/v1/access-requests", "carol")).json()["items"] == []
    sent = await carol.follow(await request_via_page(carol, org["id"], valid_until="2030-06-30"))
    assert "Your request was sent" in text_of(sent.text) and "pending" in text_of(sent.text)
    # twice: the domain's duplicate rule, as a message
    again = await request_via_page(carol, org["id"])
    assert again.status_code == 409 and "You already have a pending request" in again.text

    alice = person()
    await alice.sign_in("alice")
    inbox = text_of((await alice.get("/inbox")).text)
    assert "Carol Employee — healthstat · HDBP0147" in inbox and "I prepare our hospital's reports." in inbox
    request_id = (await api.get("/v1/access-requests", "alice")).json()["items"][0]["id"]
    approved = await alice.post(f"/inbox/{request_id}/approve", {"profile_key": "data_provider/individual", "valid_until": "2029-12-31", "comment": "individual is enough"})
    assert "The request was approved." in text_of((await alice.follow(approved)).text)

    home = text_of((await carol.get("/")).text)
    assert "Data Provider / Individual" in home and "Dec 31, 2029" in home and "AZ Sint-Jan Brugge (NIHDI 71000436)" in home
    assignment = (await api.get("/v1/me", "carol")).json()["assignments"][0]
    assert assignment["valid_until"] == "2029-12-31T23:00:00Z"  # the end of that day in Brussels
    token_page = await carol.post("/grant-tokens", {"application": "healthstat"})
    assert token_page.status_code == 200 and re.search(r">eyJ[\w-]+\.[\w-]+\.[\w-]+</textarea>", token_page.text)


async def test_reject_with_reason_reaches_the_employee_and_withdraw_and_amend(api: Api, person: Callable[..., Person]) -> None:
    org = await api.managed_organisation("alice")
    carol, alice = person(), person()
    await carol.sign_in("carol")
    await alice.sign_in("alice")
    await carol.follow(await request_via_page(carol, org["id"]))
    request_id = (await api.get("/v1/access-requests", "carol")).json()["items"][0]["id"]
    # amend: the old one withdrawn, the new one pending, in one step
    await carol.get(f"/requests/{request_id}/amend")
    assert "I prepare our hospital" in carol.last_page and 'value="data_provider/hospital" checked' in carol.last_page
    amended = await carol.post(f"/requests/{request_id}/amend", {"organisation_id": org["id"], "application": "healthstat", "register": "HDBP0147", "profile_key": "sponsor/sponsor", "justification": "I coordinate the register for the sponsor."})
    assert "Your request was changed" in text_of((await carol.follow(amended)).text)
    items = (await api.get("/v1/access-requests", "carol")).json()["items"]
    items.sort(key=lambda item: item["status"])
    assert [(item["status"], item["profile"]["role"]) for item in items] == [("pending", "sponsor"), ("withdrawn", "data_provider")]
    # the access manager rejects without a reason: refused, nothing written
    await alice.get("/inbox")
    blank = await alice.post(f"/inbox/{items[0]['id']}/reject", {"reason": " "})
    assert blank.status_code == 422 and "This field is required." in blank.text
    assert (await api.get(f"/v1/access-requests/{items[0]['id']}", "carol")).json()["status"] == "pending"
    await alice.follow(await alice.post(f"/inbox/{items[0]['id']}/reject", {"reason": "Not part of the study team."}))
    mine = text_of((await carol.get("/requests")).text)
    assert "rejected" in mine and "Reason: Not part of the study team." in mine and "Alice Access-Manager" in mine


async def test_bulk_approve_reports_each_request(api: Api, person: Callable[..., Person]) -> None:
    org = await api.managed_organisation("alice")
    ids = []
    for index, register in enumerate(["HDBP0147", "HDBP0031", "HDBP0211"]):
        response = await api.request_access(org["id"], f"employee{index}", register=register)
        ids.append(response.json()["id"])
    alice = person()
    await alice.sign_in("alice")
    await alice.get("/inbox")
    await api.post(f"/v1/access-requests/{ids[1]}/withdraw", "employee1", json={})  # after the page was shown
    result = await alice.post("/inbox/decide", [("decision", "approve"), *[("ids", request_id) for request_id in ids]])
    assert result.status_code == 200
    page = text_of(result.text)
    assert "2 succeeded, 1 failed." in page
    assert "This request is no longer pending" in page
    statuses = {item["id"]: item["status"] for item in (await api.get("/v1/access-requests", "alice")).json()["items"]}
    assert [statuses[request_id] for request_id in ids] == ["approved", "withdrawn", "approved"]
    # nothing selected: said so, nothing decided
    await alice.get("/inbox")
    assert "Select at least one request." in (await alice.post("/inbox/decide", {"decision": "approve"})).text


async def test_an_access_manager_sees_and_decides_only_their_organisations(api: Api, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    request_id = (await api.request_access(brugge["id"], "carol")).json()["id"]
    bob = person()
    await bob.sign_in("bob")
    assert "Carol" not in text_of((await bob.get("/inbox")).text)
    refused = await bob.post(f"/inbox/{request_id}/approve", {})
    assert refused.status_code == 404 and "This does not exist, or you are not allowed to see it." in text_of(refused.text)
    assert (await api.get(f"/v1/access-requests/{request_id}", "carol")).json()["status"] == "pending"
    # an employee has no inbox entries and no approvals either
    carol = person()
    await carol.sign_in("carol")
    assert "Inbox" not in text_of((await carol.get("/")).text)


async def test_the_organisation_picker_tolerates_typos(api: Api, person: Callable[..., Person]) -> None:
    await api.managed_organisation("alice")
    await api.organisation(name="UZ Leuven", nihdi="71000931")
    carol = person()
    await carol.sign_in("carol")

    async def picked(q: str) -> str:
        response = await carol.get("/organisations/search", params={"q": q})
        assert response.status_code == 200
        return text_of(f'<main id="main">{response.text}</main>')

    assert (await picked("sint jan")).startswith("AZ Sint-Jan Brugge (NIHDI 71000436)")
    close = await picked("sint jna brugee")
    assert close.startswith("No exact match for “sint jna brugee”. Did you mean:") and "AZ Sint-Jan Brugge" in close
    assert "UZ Leuven" not in close
    assert "UZ Leuven" in await picked("leuvn")
    assert await picked("qqqqqq") == "No organisation matches “qqqqqq”."


async def test_a_holder_asks_for_an_extension_in_the_pages(api: Api, person: Callable[..., Person]) -> None:
    org = await api.managed_organisation("alice")
    held = await api.approved_assignment(org["id"])
    carol = person()
    await carol.sign_in("carol")
    form = await carol.get(f"/access/{held['id']}/change")
    assert "You hold Data Provider / Hospital for healthstat · HDBP0147 at AZ Sint-Jan Brugge (NIHDI 71000436)" in text_of(form.text)
    same = await carol.post(f"/access/{held['id']}/change", {"profile_key": "data_provider/hospital", "justification": "Nothing changes here at all."})
    assert same.status_code == 422 and "ask for another profile or another end date" in same.text
    asked = await carol.post(f"/access/{held['id']}/change", {"profile_key": "data_provider/hospital", "valid_until": "2031-06-30", "justification": "The study runs a year longer."})
    assert "You keep your current access meanwhile." in text_of((await carol.follow(asked)).text)
    alice = person()
    await alice.sign_in("alice")
    inbox = text_of((await alice.get("/inbox")).text)
    assert "Asks to change access they hold" in inbox
    request_id = (await api.get("/v1/access-requests", "alice", params={"status": "pending"})).json()["items"][0]["id"]
    await alice.follow(await alice.post(f"/inbox/{request_id}/approve", {"profile_key": "data_provider/hospital", "valid_until": "2031-06-30"}))
    home = text_of((await carol.get("/")).text)
    assert "Jun 30, 2031" in home
    # a stranger's access is not theirs to change
    dave = person()
    await dave.sign_in("dave")
    assert (await dave.get(f"/access/{held['id']}/change")).status_code == 404


async def test_a_form_no_page_sends_is_told_as_a_page_and_changes_nothing(api: Api, person: Callable[..., Person]) -> None:
    org = await api.managed_organisation("alice")
    request_id = (await api.request_access(org["id"], "carol")).json()["id"]
    alice = person()
    await alice.sign_in("alice")
    await alice.get("/inbox")
    twice = await alice.post(f"/inbox/{request_id}/approve", [("comment", "one"), ("comment", "two")])
    assert twice.status_code == 400 and twice.headers["content-type"].startswith("text/html")
    assert "The form could not be read. Please try again." in text_of(twice.text)
    json_body = await alice.http.post(f"/inbox/{request_id}/approve", json={"comment": "x"})
    assert json_body.status_code in (403, 415) and json_body.headers["content-type"].startswith("text/html")
    assert (await api.get(f"/v1/access-requests/{request_id}", "carol")).json()["status"] == "pending"


async def test_an_approval_breaking_a_separation_of_duties_is_refused_naming_the_rule(api: Api, person: Callable[..., Person]) -> None:
    brugge = await api.managed_organisation("alice")
    carol_id = await api.user_id("carol")
    lead = {"user_id": carol_id, "organisation_id": brugge["id"], "application": "hd4dp2", "register": "HDBP0147", "profile": {"role": "local_study_lead"}}
    assert (await api.post("/v1/assignments", "alice", json=lead)).status_code == 201
    request_id = (await api.request_access(brugge["id"], "carol", profile={"role": "sponsor", "data_level": "sponsor"})).json()["id"]
    alice = person()
    await alice.sign_in("alice")
    await alice.get("/inbox")
    refused = await alice.post(f"/inbox/{request_id}/approve", {})
    page = text_of(refused.text)
    assert refused.status_code == 409
    assert "must be held by different people (separation of duties)" in page and "Rule: lead_not_sponsor." in page
    assert (await api.get(f"/v1/access-requests/{request_id}", "carol")).json()["status"] == "pending"
