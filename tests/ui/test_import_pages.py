"""The import wizard and the export, in Chromium, as an access manager uses them: upload a CSV
file, read the preview line by line, confirm, read and download the receipt; a file with an error
line imports nothing; the organisation's export downloads and imports back unchanged."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.browser import BrowserThread, EamServer, Visitor, visiting
from tests.ui.pages import text_of
from tests.ui.test_journeys import open_menu, sign_in

JAN, LIES = "85073003328", "90020112305"
USERS_AND_ACCESS = (
    "first_name;last_name;email;ssin;org_nihdi;app;role;authorgroup\r\n"
    f"Lies;Maes;lies.maes@azsintjan.be;{LIES};71000436;hd4dp2;3;cardio team\r\n"
    f"Jan;Peeters;jan.peeters@azsintjan.be;{JAN};71000436;hd4dp2;1;\r\n"
)


def upload(visitor: Visitor, path: Path, *, pre_approved: bool) -> None:
    page = visitor.page
    page.get_by_label("CSV file (UTF-8, comma or semicolon)").set_input_files(str(path))
    if pre_approved:
        page.get_by_role("radio", name="Pre-approved access (granted at once)").check()
    page.get_by_label("Register of lines that name none (optional)").select_option("HDBP0147")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()


def import_journey(browser: Any, eam: EamServer, tmp: Path) -> None:
    good, bad = tmp / "accounts.csv", tmp / "broken.csv"
    good.write_bytes(("\ufeff" + USERS_AND_ACCESS).encode())
    bad.write_text(USERS_AND_ACCESS + f"Ann;Smet;not-an-address;{JAN[:-1]}0;71000436;hd4dp2;1;\r\n", encoding="utf-8")
    with visiting(browser, eam, "import") as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        open_menu(visitor, "Import", "import-form")

        upload(visitor, bad, pre_approved=True)
        visitor.check("import-preview-errors")
        expect(page.get_by_role("status")).to_have_text("2 to create, 0 to update, 0 unchanged, 1 in error.")
        expect(page.get_by_text("Nothing can be imported while a line is in error")).to_be_visible()
        row = page.get_by_role("row").filter(has_text="error")
        expect(row).to_contain_text("email")
        expect(row).to_contain_text("ssin")
        expect(page.get_by_role("button", name="Import these 3 lines")).to_have_count(0)

        page.get_by_role("link", name="Back to the upload").click()
        upload(visitor, good, pre_approved=True)
        visitor.check("import-preview")
        expect(page.get_by_role("status")).to_have_text("2 to create, 0 to update, 0 unchanged, 0 in error.")
        with page.expect_navigation():
            page.get_by_role("button", name="Import these 2 lines").click()
        visitor.check("import-receipt")
        expect(page.get_by_role("status").first).to_have_text("The file was imported.")
        expect(page.get_by_role("heading", name="Import receipt")).to_be_visible()
        with page.expect_download() as receipt:
            page.get_by_role("link", name="Download the receipt (CSV)").click()
        assert "2,created" in Path(receipt.value.path()).read_text(encoding="utf-8")

        # the organisation page lists them; its export imports back unchanged
        visitor.goto(f"/organisations/{eam.organisation_id('71000436')}")
        visitor.check("organisation-after-import")
        expect(page.get_by_text("Lies Maes").first).to_be_visible()
        with page.expect_download() as exported:
            page.get_by_role("link", name="Export as CSV").click()
        export = tmp / "export.csv"
        exported.value.save_as(export)
        visitor.goto("/imports")
        upload(visitor, export, pre_approved=True)
        lines = len(export.read_text(encoding="utf-8").strip().splitlines()) - 1
        expect(page.get_by_role("status")).to_have_text(f"0 to create, 0 to update, {lines} unchanged, 0 in error.")


def test_access_manager_imports_a_file_with_a_preview_and_exports_it_back(chromium: BrowserThread, eam: EamServer, tmp_path: Path) -> None:
    chromium.journey(import_journey, eam, tmp_path)


async def test_an_access_manager_registers_a_person_before_their_first_sign_in(api: Any, person: Any) -> None:
    """The page form: the national number checked (and never shown back after success), the
    person then found by the people picker, access granted to them marked "not signed in yet"."""
    import re

    from tests.conftest import auth
    from tests.ui.pages import text_of

    org = await api.managed_organisation("alice")
    alice = person()
    await alice.sign_in("alice")
    form = await alice.get(f"/organisations/{org['id']}/people/new")
    assert form.status_code == 200 and "National number (NISS/SSIN)" in form.text
    refused = await alice.post(f"/organisations/{org['id']}/people", {"national_number": "85073003329", "display_name": "Jan Peeters", "email": "jan@azsintjan.be"})
    assert refused.status_code == 422
    assert 'id="national_number-error"' in refused.text and "Jan Peeters" in refused.text  # kept what was typed
    done = await alice.post(f"/organisations/{org['id']}/people", {"national_number": JAN, "display_name": "Jan Peeters", "email": "jan@azsintjan.be"})
    assert done.status_code == 303, done.text
    shown = await alice.follow(done)
    assert "The person was registered." in text_of(shown.text) and JAN not in shown.text
    found = (await api.get("/v1/people", "alice", params={"q": "Jan"})).json()["items"]
    assert [(p["display_name"], p["signed_in"]) for p in found] == [("Jan Peeters", False)]
    granted = await api.post("/v1/assignments", "alice", json={"user_id": found[0]["id"], "organisation_id": org["id"], "application": "hd4dp2", "register": "HDBP0147", "profile": {"role": "local_study_lead"}})
    assert granted.status_code == 201 and granted.json()["user"]["signed_in"] is False
    page = await alice.get(f"/organisations/{org['id']}")
    assert re.search(r"Jan Peeters\s*<span class=\"status status-pending\">not signed in yet</span>", page.text)
    # carol is no access manager here: the form is not hers
    carol = person()
    await carol.sign_in("carol")
    assert (await carol.get(f"/organisations/{org['id']}/people/new")).status_code == 403
    # Jan signs in: linked, the mark is gone
    assert (await api.client.get("/v1/me", headers=auth("jan", national_number=JAN, name="Jan Peeters"))).json()["id"] == found[0]["id"]
    assert "not signed in yet" not in (await alice.get(f"/organisations/{org['id']}")).text


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("nl", ["'not-an-address' is geen e-mailadres", "het RIZIV-nummer van de organisatie ontbreekt", "'9' is geen rol van hd4dp2: gebruik een van"]),
        ("fr", ["'not-an-address' n'est pas une adresse e-mail", "le numéro INAMI de l'organisation manque", "'9' n'est pas un rôle de hd4dp2 : utilisez l'un de"]),
    ],
)
async def test_the_preview_says_each_line_problem_in_the_readers_language(api: Any, person: Any, language: str, says: list[str]) -> None:
    await api.managed_organisation("alice")
    reader = person(language)
    await reader.sign_in("alice")
    await reader.get("/imports")
    body = USERS_AND_ACCESS + f"Ann;Smet;not-an-address;{JAN};;hd4dp2;9;\r\n"
    preview = await reader.http.post(
        "/imports/preview",
        data={"_csrf_token": reader.csrf(), "mode": "awaiting_approval", "register": "HDBP0147"},
        files={"file": ("accounts.csv", body.encode(), "text/csv")},
    )
    assert preview.status_code == 200, preview.text
    shown = html.unescape(text_of(preview.text))
    for text in says:
        assert text in shown, (text, shown[-1500:])
    # the API keeps the English text, with the template and values that said it
    receipt = (await api.post("/v1/imports", "alice", content=body.encode(), params={"dry_run": "true", "register": "HDBP0147"}, headers={"Content-Type": "text/csv"})).json()
    [email] = [p for line in receipt["lines"] for p in line.get("problems", []) if p["column"] == "email"]
    assert email == {"column": "email", "message": "'not-an-address' is not an e-mail address", "template": "%(value)s is not an e-mail address", "values": {"value": "'not-an-address'"}}
