"""CSV imports as access managers upload them: today's healthdata.be files, spreadsheet quirks,
any line order, dry runs, all-or-nothing, idempotence, and the export that imports back unchanged."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, assert_problem

JAN, LIES, PIET = "85073003328", "90020112305", "72010112308"


def nn(birth: str, serial: str = "123") -> str:
    base = birth + serial
    return base + "%02d" % (97 - int(base) % 97)


async def upload(api: Api, text: str | bytes, user: str = "alice", **params: Any) -> Any:
    body = text.encode() if isinstance(text, str) else text
    query = {key: str(value).lower() if isinstance(value, bool) else value for key, value in params.items()}
    return await api.post("/v1/imports", user, content=body, params=query, headers={"Content-Type": "text/csv"})


def outcomes(receipt: dict[str, Any]) -> list[tuple[int, str]]:
    return [(line["line"], line["outcome"]) for line in receipt["lines"]]


def problems(receipt: dict[str, Any], line: int) -> dict[str, str]:
    found = next(entry for entry in receipt["lines"] if entry["line"] == line)
    return {problem["column"]: problem["message"] for problem in found.get("problems", [])}


async def count(api: Api, path: str, **params: Any) -> int:
    response = await api.get(path, "admin", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


ACCOUNTS = (
    "first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup\r\n"
    f"Piet,Claes,piet.claes@azsintjan.be,{PIET},71000436,hd4dp2,3,cardio team\r\n"  # role 3 first
    f"Jan,Peeters,jan.peeters@azsintjan.be,{JAN},71000436,hd4dp2,1,\r\n"
    f"Lies,Maes,lies.maes@azsintjan.be,{LIES},71000436,healthstat,DATA_PROVIDER_HOSPITAL,\r\n"
    "\r\n\r\n"
)


async def test_accounts_file_pre_approved_creates_access_and_reimport_changes_nothing(api: Api) -> None:
    await api.managed_organisation("alice")
    preview = await upload(api, ACCOUNTS, dry_run=True, mode="pre_approved", register="HDBP0147")
    assert preview.status_code == 200, preview.text
    assert outcomes(preview.json()) == [(2, "created"), (3, "created"), (4, "created")]
    assert preview.json()["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "error": 0}
    assert await count(api, "/v1/assignments") == 0  # a dry run writes nothing

    applied = await upload(api, ACCOUNTS, mode="pre_approved", register="HDBP0147", file_name="accounts.csv")
    assert applied.status_code == 201, applied.text
    receipt = applied.json()
    assert applied.headers["location"] == f"/v1/imports/{receipt['id']}"
    assert await count(api, "/v1/assignments", status="active") == 3
    again = await upload(api, ACCOUNTS, mode="pre_approved", register="HDBP0147")
    assert outcomes(again.json()) == [(2, "unchanged"), (3, "unchanged"), (4, "unchanged")]

    stored = await api.get(f"/v1/imports/{receipt['id']}", "alice")
    assert stored.status_code == 200 and stored.json()["lines"] == receipt["lines"]
    csv_receipt = await api.get(f"/v1/imports/{receipt['id']}/receipt.csv", "alice")
    assert csv_receipt.headers["content-type"].startswith("text/csv") and "line,outcome,column,message" in csv_receipt.text
    events = (await api.get("/v1/audit-events", "alice", params={"action": "import.applied"})).json()["items"]
    assert len(events) == 2 and events[-1]["after"]["file_digest"] == receipt["file_digest"]
    assert events[-1]["after"]["mode"] == "pre_approved" and events[-1]["after"]["created"] == 3


async def test_awaiting_approval_needs_a_second_access_manager(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "bob")
    applied = await upload(api, ACCOUNTS, register="HDBP0147")
    assert applied.status_code == 201, applied.text
    pending = (await api.get("/v1/access-requests", "alice", params={"status": "pending"})).json()["items"]
    assert len(pending) == 3
    assert_problem(await api.post(f"/v1/access-requests/{pending[0]['id']}/approve", "alice", json={}), 403, "forbidden")
    assert (await api.post(f"/v1/access-requests/{pending[0]['id']}/approve", "bob", json={})).status_code == 200
    again = await upload(api, ACCOUNTS, register="HDBP0147")
    assert outcomes(again.json()) == [(2, "unchanged"), (3, "unchanged"), (4, "unchanged")]


async def test_spreadsheet_quirks_bom_semicolons_quotes_and_mixed_line_ends(api: Api) -> None:
    await api.managed_organisation("alice")
    text = (
        "\ufeffFirst_Name;LAST NAME;Email;SSIN;Org_NIHDI;Role\r\n"
        f'"Jan";"Peeters, ""JP""";jan.peeters@azsintjan.be;{JAN};71000436;access_manager\n'
        f"Lies;Maes;lies.maes@azsintjan.be;85.07.30-033.28;71000436;default\r"
        f"Lies;Maes;lies.maes@azsintjan.be;{LIES};71000436;default\r\n"
        f"Lies;Maes;lies.maes@azsintjan.be;{LIES};71000436;default\r\n"
    )
    preview = (await upload(api, text.encode("utf-8"), dry_run=True)).json()
    assert outcomes(preview) == [(2, "created"), (3, "error"), (4, "created"), (5, "unchanged")]
    assert set(problems(preview, 3)) == {"name"}  # Jan's number named Lies on line 2


async def test_every_problem_of_every_line_is_named_and_nothing_is_written(api: Api) -> None:
    await api.managed_organisation("alice")
    people_before = await count(api, "/v1/people")
    text = (
        "first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup\n"
        f"Piet,Claes,piet.claes@azsintjan.be,{PIET},71000436,hd4dp2,3,\n"  # author group missing
        f"Jan,Peeters,not-an-address,12345678901,99999999,hd4dp2,1,\n"  # bad e-mail, ssin, unknown org
        f"Lies,Maes,lies.maes@azsintjan.be,{LIES},71000436,hd4dp2,2,team\n"  # author group not allowed
        f"Ann,Smet,ann.smet@azsintjan.be,{nn('880505')},71000436,healthstat,SPONSOR,\n"  # unknown role
        f"Tom,Wouters,tom@azsintjan.be,{nn('770707')},71000436,hd4dp2,1,\n"
    )
    refused = await upload(api, text, register="HDBP0147")
    body = assert_problem(refused, 422, "import-has-errors")
    receipt = body["receipt"]
    assert outcomes(receipt) == [(2, "error"), (3, "error"), (4, "error"), (5, "error"), (6, "created")]
    assert set(problems(receipt, 2)) == {"authorgroup"}
    assert set(problems(receipt, 3)) == {"email", "ssin", "org_nihdi"}
    assert set(problems(receipt, 4)) == {"authorgroup"}
    assert "SPONSOR_SPONSOR" in problems(receipt, 5)["role"]
    assert await count(api, "/v1/people") == people_before  # nothing was written


async def test_a_file_that_cannot_be_read(api: Api) -> None:
    await api.managed_organisation("alice")
    assert_problem(await upload(api, "name,colour\nx,y\n"), 422, "validation-error")
    assert_problem(await upload(api, "first_name;ssin\n".encode("utf-16")), 422, "validation-error")
    assert_problem(await upload(api, ""), 400, "malformed-body")
    response = await api.post("/v1/imports", "alice", content=b"a,b\n", headers={"Content-Type": "application/json"})
    assert_problem(response, 415, "unsupported-media-type")
    assert_problem(await upload(api, ACCOUNTS, "carol"), 403, "forbidden")


async def test_export_imports_back_unchanged_and_neutralises_formulas(api: Api) -> None:
    org = await api.managed_organisation("alice")
    text = (
        "first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup,register,valid_until\n"
        f"=HYPERLINK(\"x\"),-Claes,piet.claes@azsintjan.be,{PIET},71000436,hd4dp2,3,cardio,HDBP0147,2031-01-31\n"
        f"Jan,Peeters,jan.peeters@azsintjan.be,{JAN},71000436,healthstat,SPONSOR_SPONSOR,,HDBP0031,\n"
    )
    assert (await upload(api, text, mode="pre_approved")).status_code == 201
    exported = await api.get(f"/v1/organisations/{org['id']}/export.csv", "alice")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"].startswith("attachment")
    assert "'=HYPERLINK" in exported.text and '"=HYPERLINK' not in exported.text
    back = await upload(api, exported.text, mode="pre_approved")
    assert back.status_code == 201, back.text
    assert {line["outcome"] for line in back.json()["lines"]} == {"unchanged"}
    assert back.json()["summary"]["unchanged"] == len(exported.text.strip().splitlines()) - 1


async def test_users_file_appoints_access_managers_and_never_removes_one(api: Api) -> None:
    org = await api.managed_organisation("alice")
    text = (
        "first_name,last_name,email,ssin,org_nihdi,role\n"
        f"Jan,Peeters,jan.peeters@azsintjan.be,{JAN},71000436,access_manager\n"
        f"Lies,Maes,lies.maes@azsintjan.be,{LIES},71000436,default\n"
    )
    applied = await upload(api, text)
    assert outcomes(applied.json()) == [(2, "created"), (3, "created")]
    managers = (await api.get(f"/v1/organisations/{org['id']}/access-managers", "alice")).json()["items"]
    assert sorted(m["display_name"] for m in managers) == ["Jan Peeters", "alice"]
    # Jan as "default" now: an import never removes an access manager
    demoted = await upload(api, text.replace("access_manager\n", "default\n"), dry_run=True)
    assert outcomes(demoted.json()) == [(2, "unchanged"), (3, "unchanged")]


async def test_what_a_line_may_not_do(api: Api) -> None:
    await api.managed_organisation("alice")
    await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    carol = await api.user_id("carol")
    text = (
        "first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup,register,valid_until,person_id\n"
        f"Jan,Peeters,jan@azsintjan.be,{JAN},71000931,hd4dp2,1,,HDBP0147,,\n"  # bob's organisation
        f"Lies,Maes,lies@azsintjan.be,{LIES},71000436,hd4dp2,1,,HDBP0147,2001-01-01,\n"  # ends in the past
        f"Piet,Claes,piet@azsintjan.be,{PIET},71000436,hd4dp2,1,,HDBP0147,,\n"
        f"Piet,Claes,piet@azsintjan.be,{PIET},71000436,hd4dp2,2,,HDBP0147,,\n"  # the same access otherwise
        f"Ann,Smet,ann@azsintjan.be,,71000436,hd4dp2,1,,HDBP0147,,{carol}\n"  # carol is no one of alice's
        f"Tom,Wouters,tom@azsintjan.be,{nn('770707')},71000436,hd4dp2,1,,HDBP0211,,\n"  # not in hd4dp2
    )
    receipt = (await upload(api, text, dry_run=True, mode="pre_approved")).json()
    assert outcomes(receipt) == [(2, "error"), (3, "error"), (4, "created"), (5, "error"), (6, "error"), (7, "error")]
    assert "not an access manager of UZ Leuven" in problems(receipt, 2)["org_nihdi"]
    assert problems(receipt, 3)["valid_until"] == "lies in the past"
    assert "line 4" in problems(receipt, 5)["role"]
    assert set(problems(receipt, 6)) == {"person_id"}
    assert "only in healthstat" in problems(receipt, 7)["register"]


async def test_a_pending_request_is_decided_before_an_import_changes_that_access(api: Api) -> None:
    org = await api.managed_organisation("alice")
    await api.appoint(org["id"], "bob")
    text = f"first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup,register\nJan,Peeters,jan@azsintjan.be,{JAN},71000436,hd4dp2,1,,HDBP0147\n"
    assert (await upload(api, text)).status_code == 201  # a pending request for Jan
    other = (await upload(api, text.replace("hd4dp2,1,", "hd4dp2,2,"), dry_run=True)).json()
    assert outcomes(other) == [(2, "error")] and "pending" in problems(other, 2)["role"]
    pre = (await upload(api, text, dry_run=True, mode="pre_approved")).json()
    assert outcomes(pre) == [(2, "error")]


async def test_size_and_line_limits(api: Api, settings: Any) -> None:
    await api.managed_organisation("alice")
    header = "first_name,last_name,email,ssin,org_nihdi,role\n"
    line = f"Jan,Peeters,jan@azsintjan.be,{JAN},71000436,default\n"
    too_many = header + line * (settings.import_max_lines + 1)
    assert_problem(await upload(api, too_many, dry_run=True), 422, "validation-error")
    too_big = header + "x" * settings.import_max_bytes
    assert_problem(await upload(api, too_big, dry_run=True), 413, "payload-too-large")


async def test_an_upload_past_the_configured_limit_is_refused_while_it_streams(api: Api, settings: Any) -> None:
    """Without a Content-Length (chunked), the server stops reading once the configured limit is
    passed: a body of 50 times the limit is refused without being held whole."""
    await api.managed_organisation("alice")
    limit = settings.import_max_bytes
    sent: list[int] = []

    async def chunks() -> Any:
        yield b"first_name,last_name,email,ssin,org_nihdi,role\n"
        for _ in range(50):
            sent.append(limit)
            yield b"x" * limit

    response = await api.post("/v1/imports", "alice", content=chunks(), params={"dry_run": "true"}, headers={"Content-Type": "text/csv"})
    problem = assert_problem(response, 413, "payload-too-large")
    assert problem["limit"] == limit and "more than" in problem["detail"]
    assert len(sent) < 5, f"{len(sent)} chunks of {limit} bytes were read"
    # a declared length past the limit is refused before the body is read
    declared = await api.post(
        "/v1/imports", "alice", content=b"x" * (limit + 1), params={"dry_run": "true"}, headers={"Content-Type": "text/csv"}
    )
    assert f"the file has {limit + 1} bytes" in assert_problem(declared, 413, "payload-too-large")["detail"]


async def test_the_example_files_of_the_readme_import_as_described(api: Api) -> None:
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    await api.managed_organisation("alice")
    users = await upload(api, (examples / "users.csv").read_bytes(), dry_run=True)
    assert outcomes(users.json()) == [(2, "created"), (3, "created")]
    accounts = await upload(api, (examples / "accounts.csv").read_bytes(), dry_run=True, register="HDBP0147")
    assert outcomes(accounts.json()) == [(2, "created"), (3, "created"), (4, "created")]
