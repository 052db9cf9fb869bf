"""Every page in Dutch (390 px wide) and in French (1280 px wide), in Chromium: the language chooser switches and sticks, and
no page shows an English sentence of the catalogue (each is checked for every catalogue entry of
two words or more that the language translates differently)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import re
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from eam.ui.i18n import LOCALES_DIR
from tests.ui.browser import BrowserThread, EamServer, Visitor, visiting
from tests.ui.test_journeys import sign_in

CHOOSE = {"nl": ("Nederlands", "Taal wijzigen", "Afmelden", "Aanmelden als %s"), "fr": ("Français", "Changer de langue", "Se déconnecter", "Se connecter en tant que %s")}


def english_sentences(language: str) -> list[re.Pattern[str]]:
    """Catalogue entries of two words or more whose translation differs, without placeholders."""
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    return [
        re.compile(rf"(?<!\w){re.escape(entry.id)}(?!\w)")
        for entry in catalogue
        if entry.id and "%(" not in entry.id and " " in entry.id.strip() and entry.string != entry.id
    ]


def in_language(visitor: Visitor, language: str, name: str, english: list[re.Pattern[str]]) -> None:
    page = visitor.page
    expect(page.locator("html")).to_have_attribute("lang", language)
    visitor.check(name)
    text = page.inner_text("body")
    left = [pattern.pattern for pattern in english if pattern.search(text)]
    assert not left, f"{name} ({language}) shows English: {left}"


def every_page(browser: Any, eam: EamServer, language: str, width: int) -> None:
    organisation = eam.organisation_id("71000436")
    request = eam.api("POST", "/v1/access-requests", "carol", "Carol Employee", json={
        "organisation_id": organisation, "application": "healthstat", "register": "HDBP0031",
        "profile": {"role": "data_provider", "data_level": "hospital"}, "justification": "I report on our registrations.",
    })
    assert request.status_code == 201, request.text
    approved = eam.api("POST", f"/v1/access-requests/{request.json()['id']}/approve", "alice", json={})
    assignment = approved.json()["assignment_id"]
    english = english_sentences(language)
    chosen, change_language, sign_out, sign_in_as = CHOOSE[language]
    with visiting(browser, eam, f"every-page-{language}-{width}px", width=width) as visitor:
        page = visitor.page
        sign_in(visitor, "Alice Access-Manager")
        page.get_by_label("Language").select_option(label=chosen)
        with page.expect_navigation():
            page.get_by_role("button", name="Change language").click()
        in_language(visitor, language, "my-access", english)
        for path, name in [
            ("/requests", "my-requests"),
            ("/requests/new?application=healthstat&q=sint", "request-form"),
            ("/inbox", "inbox"),
            ("/organisations", "my-organisations"),
            (f"/organisations/{organisation}", "organisation"),
            (f"/organisations/{organisation}/assignments/{assignment}", "assignment"),
            (f"/organisations/{organisation}/grant", "grant"),
            (f"/organisations/{organisation}/access-managers", "access-managers"),
            (f"/organisations/{organisation}/people/new", "register-person"),
            ("/imports", "import-form"),
            ("/audit", "audit"),
            ("/registers", "registers"),
            ("/registers/HDBP0031", "register"),
            ("/registers/HDBP0031?at=2020-01-01T09:00", "register-in-the-past"),
            ("/registers/HDBP0031?at=never", "register-moment-refused"),
            ("/no-such-page", "not-found"),
        ]:
            visitor.goto(path)
            in_language(visitor, language, name, english)
        # the import wizard: preview, progress and receipt, in the language
        visitor.goto("/imports")
        upload = Path(tempfile.mkdtemp()) / "people.csv"
        upload.write_text("first_name;last_name;email;ssin;org_nihdi;role\r\nJan;Peeters;jan@azsintjan.be;85073003328;71000436;default\r\n", encoding="utf-8")
        page.locator("#file").set_input_files(str(upload))
        with page.expect_navigation():
            page.locator("form[action='/imports/preview'] button[type=submit]").click()
        in_language(visitor, language, "import-preview", english)
        with page.expect_navigation(url=re.compile(r"/imports/[0-9a-f-]{36}")):
            page.locator("form[action='/imports'] button[type=submit]").click()
        in_language(visitor, language, "import-receipt", english)
        expect(page.get_by_role("button", name=change_language)).to_be_visible()
        with page.expect_navigation():
            page.get_by_role("button", name=sign_out).click()
        in_language(visitor, language, "sign-in", english)
        with page.expect_navigation():
            page.get_by_role("button", name=sign_in_as % "Carol Employee").click()
        in_language(visitor, language, "carol-my-access", english)
        visitor.goto(f"/access/{assignment}/change")
        in_language(visitor, language, "ask-change", english)
        with page.expect_navigation():
            page.get_by_role("button", name=sign_out).click()
        with page.expect_navigation():
            page.get_by_role("button", name=sign_in_as % "Platform Admin").click()
        for path, name in [
            ("/admin/organisations", "admin-organisations"),
            (f"/admin/organisations/{organisation}", "admin-organisation"),
            ("/admin/registers", "admin-registers"),
            ("/registers/HDBP0031", "admin-register"),
            ("/admin/service-clients", "admin-service-clients"),
            ("/admin/signing-keys", "admin-signing-keys"),
            ("/audit", "admin-audit"),
        ]:
            visitor.goto(path)
            in_language(visitor, language, name, english)
        visitor.goto(f"/access/{assignment}/change")
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile(".")).filter(has_text=re.compile(r"^(De aanvraag versturen|Envoyer la demande)$")).click()
        in_language(visitor, language, "ask-change-refused", english)  # a validation error, told in the language


@pytest.mark.parametrize(("language", "width"), [("nl", 390), ("fr", 1280)])
def test_every_page_in_dutch_and_french(chromium: BrowserThread, eam: EamServer, language: str, width: int) -> None:
    """Dutch on a 390 px wide phone screen, French on a 1280 px wide one: every page, both widths."""
    chromium.journey(every_page, eam, language, width)
