"""Security of the pages, through the browser and over HTTP against ``eam serve``: CSRF tokens,
the Content-Security-Policy, sign-in before any page, one organisation's access manager kept out
of another's requests, and no demo sign-in in production."""

from __future__ import annotations

import re
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from eam.app import create_app
from eam.core.settings import Settings
from eam.demo import DEMO_USERS
from eam.http.handler_options import options_of
from eam.ui.messages import PROBLEMS
from tests.conftest import serve_in_process
from tests.ui.browser import BrowserThread, EamServer, csp_problems, markup_problems, visiting
from tests.ui.test_journeys import open_menu, sign_in

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
#: Reachable without a session: the sign-in itself, the language chooser and the static files.
PUBLIC = {"/sign-in", "/sign-in/demo", "/sign-out", "/language", "/static/{file_path:path}"}


@pytest.fixture(scope="module")
def shared_eam() -> Iterator[EamServer]:
    """One server for the tests of this module that change nothing but sessions."""
    server = EamServer()
    yield server
    server.close()


class HttpBrowser:
    """Cookies and the CSRF token of the last page, over plain HTTP (no script, no browser)."""

    def __init__(self, server: EamServer) -> None:
        self.http = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=30)
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(path)
        if found := CSRF_FIELD.search(response.text):
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any], *, token: str | None = None) -> httpx.Response:
        return self.http.post(path, data={**data, **({"_csrf_token": token} if token else {})})

    def sign_in(self, username: str) -> None:
        assert self.get("/sign-in").status_code == 200
        signed_in = self.post("/sign-in/demo", {"username": username, "return_to": "/"}, token=self.csrf)
        assert signed_in.status_code == 303, signed_in.text


def page_routes() -> list[tuple[str, str]]:
    """Every (method, path template) of the web pages, read from the app itself (so pages added
    later are checked too)."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"), run_housekeeping=False)
    found = set()
    for route in app.routes:
        for handler in route.route_handlers:
            if options_of(handler).page:
                found.update((method, route.path) for method in handler.http_methods if method in ("GET", "POST"))
    return sorted(found)


def concrete(path: str) -> str:
    """A path template with made-up parameters (``{request_id:uuid}`` → a random UUID)."""

    def value(match: re.Match[str]) -> str:
        kind = match.group(2)
        return {"uuid": str(uuid.uuid4()), "int": "1", "path": "eam.css"}.get(kind, "x")

    return re.sub(r"\{([a-z_]+):([a-z]+)\}", value, path)


def human_error(response: httpx.Response | Any, status: int, message: str) -> None:
    code = response.status_code if isinstance(response, httpx.Response) else response.status
    headers = response.headers
    body = response.text if isinstance(response, httpx.Response) else response.text()
    assert code == status, body[:500]
    assert headers["content-type"].startswith("text/html"), headers
    assert "Something went wrong" in body and message in body, body[:1500]
    assert not csp_problems(dict(headers)), csp_problems(dict(headers))


# ------------------------------------------------------------------------------ the checks themselves can fail


def test_the_markup_and_header_checks_see_what_they_look_for() -> None:
    assert markup_problems('<p>fine</p><script src="/static/a.js"></script>') == []
    found = markup_problems('<script>alert(1)</script><p style="color:red" onclick="x()"><a href="javascript:x()">a</a></p><style>p{}</style>')
    assert len(found) == 5, found
    assert csp_problems({}) == ["no Content-Security-Policy header"]
    weak = {"content-security-policy": "default-src 'none'; script-src 'self' 'unsafe-inline'", "x-content-type-options": "nosniff"}
    assert any("unsafe" in problem for problem in csp_problems(weak))


def injected_violations(browser: Any, server: EamServer) -> None:
    """An inline script and an image without a text alternative, added to a real page: the
    console shows Chromium's CSP refusal and axe-core reports the image, so a journey that
    passes really had neither."""
    with visiting(browser, server, "checks-control") as visitor:
        visitor.goto("/sign-in")
        visitor.check("sign-in")
        visitor.page.evaluate(
            """() => {
                const script = document.createElement('script');
                script.textContent = 'window.injected = true';
                document.body.appendChild(script);
                const image = document.createElement('img');
                image.src = '/static/nothing.png';
                document.querySelector('main').appendChild(image);
            }"""
        )
        with pytest.raises(AssertionError) as refused:
            visitor.check("with-violations")
        assert visitor.page.evaluate("window.injected") is None  # the inline script did not run
        report = str(refused.value)
        assert re.search(r"console: .*Content Security Policy", report), report
        assert "axe critical image-alt" in report, report


def test_the_browser_checks_report_an_inline_script_and_an_inaccessible_image(chromium: BrowserThread, shared_eam: EamServer) -> None:
    chromium.journey(injected_violations, shared_eam)


# ------------------------------------------------------------------------------ sign-in first, CSP everywhere


def test_no_page_but_sign_in_is_reachable_without_a_session(shared_eam: EamServer) -> None:
    routes = page_routes()
    assert ("GET", "/inbox") in routes and ("POST", "/inbox/decide") in routes
    visitor = HttpBrowser(shared_eam)
    assert visitor.get("/sign-in").status_code == 200
    token = visitor.csrf
    checked = []
    for method, template in routes:
        if template in PUBLIC:
            continue
        path = concrete(template)
        if method == "GET":
            response = visitor.http.get(path)
        else:
            response = visitor.post(path, {"application": "healthstat", "decision": "approve", "ids": str(uuid.uuid4()), "reason": "because"}, token=token)
        assert response.status_code == 303, (method, path, response.status_code, response.text[:300])
        target = urlsplit(response.headers["location"])
        assert target.path == "/sign-in", (method, path, response.headers["location"])
        if method == "GET":
            assert dict(parse_qsl(target.query))["return_to"] == path
        assert not csp_problems(dict(response.headers)), (method, path)
        checked.append((method, template))
    assert len(checked) >= 12, checked
    for public in ("/sign-in", "/static/eam.css", "/static/htmx-2.0.11.min.js"):
        response = visitor.http.get(public)
        assert response.status_code == 200, public
        assert not csp_problems(dict(response.headers)), public


def test_every_page_sends_the_content_security_policy(shared_eam: EamServer) -> None:
    visitor = HttpBrowser(shared_eam)
    visitor.sign_in("alice")
    for method, template in page_routes():
        if method != "GET":
            continue
        path = concrete(template) + ("?q=sint" if template == "/organisations/search" else "")
        response = visitor.get(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        assert not csp_problems(dict(response.headers)), (path, csp_problems(dict(response.headers)))
        if response.headers["content-type"].startswith("text/html"):
            assert not markup_problems(response.text), (path, markup_problems(response.text))


# ------------------------------------------------------------------------------ CSRF


def test_a_change_without_its_csrf_token_is_refused_over_http(shared_eam: EamServer) -> None:
    visitor = HttpBrowser(shared_eam)
    visitor.get("/sign-in")
    refused = visitor.post("/sign-in/demo", {"username": "carol", "return_to": "/"})
    human_error(refused, 403, PROBLEMS["csrf"])
    assert "eam_session" not in refused.headers.get("set-cookie", "")
    visitor.sign_in("carol")
    token = visitor.csrf
    body = {"application": "healthstat"}
    stranger = HttpBrowser(shared_eam)
    stranger.get("/sign-in")
    for forged in (None, token[:-4] + "AAAA", stranger.csrf):  # none, tampered, another browser's
        human_error(visitor.post("/grant-tokens", body, token=forged), 403, PROBLEMS["csrf"])
    # With its own token the form reaches the operation, which refuses for its own reason
    # (carol holds no access yet), told on a page of its own.
    human_error(visitor.post("/grant-tokens", body, token=token), 403, PROBLEMS["no-active-assignment"])
    assert PROBLEMS["csrf"] not in visitor.post("/grant-tokens", body, token=token).text
    assert visitor.post("/language", {"language": "nl", "return_to": "/"}, token=token).status_code == 303


def csrf_in_the_browser(browser: Any, eam: EamServer) -> None:
    """Carol's withdraw form, sent by the browser without its token, is refused with a page
    that says why; nothing changes; sent as the page made it, it works."""
    with visiting(browser, eam, "csrf-refused") as visitor:
        page = visitor.page
        sign_in(visitor, "Carol Employee")
        open_menu(visitor, "My requests", "my-requests")
        row = page.get_by_role("row").filter(has_text="HDBP0211")
        expect(row).to_contain_text("pending")

        def strip_token(route: Any) -> None:
            fields = [(name, value) for name, value in parse_qsl(route.request.post_data or "") if name != "_csrf_token"]
            route.continue_(post_data=urlencode(fields))

        page.route("**/requests/*/withdraw", strip_token)
        with page.expect_navigation():
            row.get_by_role("button", name="Withdraw the request for HDBP0211").click()
        expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
        expect(page.get_by_role("alert")).to_have_text(PROBLEMS["csrf"])
        visitor.check("error-csrf")
        page.unroute("**/requests/*/withdraw")
        with page.expect_navigation():
            page.get_by_role("link", name="Back to my access").click()
        visitor.check("my-access")
        open_menu(visitor, "My requests", "my-requests-unchanged")
        expect(row).to_contain_text("pending")
        with page.expect_navigation():
            row.get_by_role("button", name="Withdraw the request for HDBP0211").click()
        expect(page.get_by_role("status")).to_have_text("Your request was withdrawn.")
        expect(row).to_contain_text("withdrawn")
        visitor.check("my-requests-withdrawn")


def test_a_form_sent_without_its_csrf_token_is_refused_in_the_browser(chromium: BrowserThread, eam: EamServer) -> None:
    body = {
        "organisation_id": eam.organisation_id("71000436"),
        "application": "healthstat",
        "register": "HDBP0211",
        "profile": {"role": "data_provider", "data_level": "hospital"},
        "justification": "Quality indicators for our wards.",
    }
    submitted = eam.api("POST", "/v1/access-requests", "carol", json=body)
    assert submitted.status_code == 201, submitted.text
    chromium.journey(csrf_in_the_browser, eam)
    assert eam.api("GET", f"/v1/access-requests/{submitted.json()['id']}", "carol").json()["status"] == "withdrawn"


# ------------------------------------------------------------------------------ another organisation's requests


def other_organisation(browser: Any, eam: EamServer, request_id: str) -> None:
    """Bob manages UZ Leuven: AZ Sint-Jan Brugge's pending request (Dave's) is not in his inbox,
    and posting its approve, reject or bulk URL with a valid token changes nothing."""
    with visiting(browser, eam, "other-organisation") as visitor:
        page = visitor.page
        visitor.goto("/inbox")  # signed out: the sign-in page, which leads back to the inbox
        expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
        assert urlsplit(page.url).path == "/sign-in"
        visitor.check("sign-in-from-inbox")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in as Bob Access-Manager").click()
        expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
        assert urlsplit(page.url).path == "/inbox"
        expect(page.get_by_text("No request is waiting for your decision.")).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile("Dave Employee"))).to_have_count(0)
        expect(page.get_by_text("AZ Sint-Jan Brugge")).to_have_count(0)
        visitor.check("inbox-of-bob")

        token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "eam_csrf")
        base = eam.base_url
        approve = page.request.post(f"{base}/inbox/{request_id}/approve", form={"_csrf_token": token, "profile_key": ""}, max_redirects=0)
        reject = page.request.post(f"{base}/inbox/{request_id}/reject", form={"_csrf_token": token, "reason": "not yours to decide"}, max_redirects=0)
        for refused in (approve, reject):
            assert refused.status in (403, 404), refused.text()[:500]
            assert refused.headers["content-type"].startswith("text/html")
            assert PROBLEMS["not-found"] in refused.text() or PROBLEMS["forbidden"] in refused.text(), refused.text()[:1500]
        bulk = page.request.post(f"{base}/inbox/decide", form={"_csrf_token": token, "decision": "approve", "ids": request_id}, max_redirects=0)
        assert bulk.status == 200 and "0 succeeded, 1 failed." in bulk.text(), bulk.text()[:1500]

        visitor.goto(f"/requests/{request_id}/amend")
        expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
        expect(page.get_by_role("alert")).to_have_text(PROBLEMS["not-found"])
        visitor.check("error-not-found")


def test_an_access_manager_cannot_see_or_decide_another_organisations_requests(chromium: BrowserThread, eam: EamServer) -> None:
    (pending,) = eam.api("GET", "/v1/access-requests", "dave", params={"status": "pending"}).json()["items"]
    assert pending["organisation"]["name"] == "AZ Sint-Jan Brugge"
    chromium.journey(other_organisation, eam, pending["id"])
    after = eam.api("GET", f"/v1/access-requests/{pending['id']}", "dave").json()
    assert after["status"] == "pending" and after.get("decided_by") is None, after
    bob = eam.api("GET", "/v1/me", "bob").json()["id"]
    trail = [event for event in eam.api("GET", "/v1/audit-events", "admin").json()["items"] if event["target_id"] == pending["id"]]
    assert trail and not [event for event in trail if event["actor_id"] == bob], trail


# ------------------------------------------------------------------------------ production


@pytest.fixture
def production_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    database = tmp_path / "eam.db"
    shutil.copy(sqlite_template, database)
    settings = Settings.from_env(
        {
            "EAM_ENV": "production",
            "EAM_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "EAM_NATIONAL_NUMBER_KEY": secrets.token_urlsafe(48),
            "EAM_PLATFORM_ADMINS": "https://idp.example.org#admin",
            "EAM_OIDC_PROVIDERS": '[{"name": "national", "issuer": "https://idp.example.org", "client_id": "eam", "client_secret": "s3cret"}]',
            "EAM_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "EAM_ISSUER": "https://eam.example.org",
        }
    )
    settings.check()
    return settings


async def test_production_offers_no_demo_users(production_settings: Settings) -> None:
    assert production_settings.is_production and production_settings.dev_token_secret is None
    app = create_app(production_settings, run_housekeeping=False)
    async with serve_in_process(app) as http:
        page = await http.get("/sign-in")
        assert page.status_code == 200
        assert "Sign in with national" in page.text
        assert "Demo users" not in page.text and "/sign-in/demo" not in page.text
        for name, _email in DEMO_USERS.values():
            assert name not in page.text
        token = CSRF_FIELD.search(page.text)
        assert token is not None
        # The CSRF cookie is Secure in production: sent back by hand over this plain-HTTP test client.
        cookie = page.cookies.get("eam_csrf") or http.cookies.get("eam_csrf")
        assert cookie, page.headers
        for username in ("carol", "admin"):
            demo = await http.post(
                "/sign-in/demo",
                data={"username": username, "return_to": "/", "_csrf_token": token.group(1)},
                headers={"Cookie": f"eam_csrf={cookie}"},
            )
            assert demo.status_code == 404, demo.text
            assert "eam_session" not in demo.headers.get("set-cookie", "")
        assert (await http.get("/", follow_redirects=False)).status_code == 303
