"""Signing in at the login provider from the sign-in page, in Chromium: EAM's OpenID Connect
login (authorization code, PKCE) against the real ``oidc-provider``, back to the person's pages."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from tests.conftest import free_port
from tests.oidc import OidcProvider
from tests.ui.browser import SETTLED_SCRIPT, BrowserThread, EamServer, Visitor


def log_in_at_the_provider(page: Any, eam: EamServer) -> None:
    """The provider's own pages (not EAM's): its devInteractions login form, then its consent."""
    page.locator("input[name=login]").fill("niss-1")
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: url.startswith(eam.base_url) or "consent" in url or "interaction" in url)
    if not page.url.startswith(eam.base_url):
        page.locator("button[type=submit]").click()


def sign_in_at_the_provider(browser: Any, eam: EamServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE", timezone_id="Europe/Brussels")
    context.set_default_timeout(15_000)
    context.add_init_script(SETTLED_SCRIPT)
    try:
        page = context.new_page()
        page.goto(f"{eam.base_url}/requests")  # a page: first the sign-in page, then back here
        expect(page.get_by_role("heading", name="Aanmelden", exact=True)).to_be_visible()  # Accept-Language: nl
        with page.expect_navigation():
            page.get_by_role("link", name="Aanmelden met national").click()
        log_in_at_the_provider(page, eam)
        page.wait_for_url(f"{eam.base_url}/requests")
        visitor = Visitor(page, eam, "sign-in-at-the-provider")
        expect(page.get_by_role("heading", name="Mijn aanvragen")).to_be_visible()
        expect(page.get_by_text("Carol Peeters")).to_be_visible()  # the name the provider gave
        visitor.check("my-requests-after-sign-in")
        with page.expect_navigation():
            page.get_by_role("link", name="Mijn toegang").click()
        visitor.check("my-access")
    finally:
        context.close()


def test_a_person_signs_in_at_the_login_provider_and_lands_on_the_page_they_asked_for(chromium: BrowserThread) -> None:
    port = free_port()
    with OidcProvider(redirect_uris=[f"http://127.0.0.1:{port}/auth/callback"]) as provider:
        config = [{
            "name": "national", "issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret,
            "scopes": ["openid", "profile", "email", "national_number"],
        }]
        eam = EamServer(port=port, EAM_OIDC_PROVIDERS=json.dumps(config))
        try:
            chromium.journey(sign_in_at_the_provider, eam)
        finally:
            eam.close()


def refused_at_the_return(browser: Any, eam: EamServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="fr-BE", timezone_id="Europe/Brussels")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{eam.base_url}/sign-in")
        with page.expect_navigation():
            page.get_by_role("link", name="Se connecter avec national").click()
        log_in_at_the_provider(page, eam)
        page.wait_for_url(lambda url: url.startswith(f"{eam.base_url}/auth/callback"))
        visitor = Visitor(page, eam, "sign-in-refused")
        expect(page.get_by_role("alert")).to_contain_text("La connexion n'a pas réussi.")
        expect(page.get_by_text("national number")).to_be_visible()  # the technical reason, for the helpdesk
        expect(page.get_by_role("link", name="Se reconnecter")).to_have_attribute("href", "/sign-in")
        visitor.check("refused")
    finally:
        context.close()


def test_a_refused_sign_in_is_told_as_a_page_in_the_persons_language(chromium: BrowserThread) -> None:
    """The provider was not asked for the national number: EAM refuses the sign-in (it identifies
    people by it), and says so on a page, not as problem+json in the browser."""
    port = free_port()
    with OidcProvider(redirect_uris=[f"http://127.0.0.1:{port}/auth/callback"]) as provider:
        config = [{"name": "national", "issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret}]
        eam = EamServer(port=port, EAM_OIDC_PROVIDERS=json.dumps(config))
        try:
            chromium.journey(refused_at_the_return, eam)
        finally:
            eam.close()
