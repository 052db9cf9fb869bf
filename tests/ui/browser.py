"""A real browser for the page tests: Debian's Chromium driven by Playwright, and EAM served by
``eam serve`` in a process of its own, as a person would run it.

- :func:`ensure_chromium` installs Debian's ``chromium`` when ``/usr/bin/chromium`` is missing
  (CI starts on a fresh machine). It is called once per run, by the pytest-xdist controller
  (``tests/conftest.py``); when the browser cannot be installed the whole run stops with a
  clear message: the browser tests are never skipped. Playwright never downloads a browser of
  its own: it launches ``/usr/bin/chromium`` (``executable_path``).
- :class:`BrowserThread` keeps Playwright's sync API in a thread of its own: between two calls
  that API marks its event loop as running in its thread, which would break the asyncio tests
  that pytest-asyncio runs in the same worker.
- :class:`EamServer` is ``eam serve`` on a free loopback port with a new SQLite database (the
  command migrates it and loads the demo data itself).
- :class:`Visitor` wraps a page: after each navigation it checks the security headers and the
  markup of the document (no inline script or style), runs axe-core (no serious or critical
  violation) and writes a screenshot; console messages about the Content-Security-Policy and
  script errors fail the journey at its end.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import httpx

from eam.auth.dev_tokens import issue_dev_token
from eam.core.settings import DEV_TOKEN_SECRET
from tests.conftest import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
#: Debian's Chromium (``EAM_TEST_CHROMIUM`` names another path: the set-up test uses a missing one).
CHROMIUM = Path(os.environ.get("EAM_TEST_CHROMIUM", "/usr/bin/chromium"))
#: What works headless on these machines (no GPU, no sandbox as root, no network but loopback).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APT_TIMEOUT = 1200  # seconds: a fresh machine downloads and unpacks Chromium and its libraries
T = TypeVar("T")


class BrowserSetupError(RuntimeError):
    """Chromium is missing and could not be installed."""


# ------------------------------------------------------------------------------ installing Chromium


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_chromium(say: Callable[[str], None] = print) -> None:
    """Install Debian's ``chromium`` if ``/usr/bin/chromium`` is missing; raise
    :class:`BrowserSetupError` with what went wrong if it cannot be installed or does not run."""
    if not CHROMIUM.exists():
        apt_get = shutil.which("apt-get")
        if apt_get is None:
            raise BrowserSetupError(f"{CHROMIUM} is missing and there is no apt-get to install Debian's chromium package")
        prefix: list[str] = []
        if os.geteuid() != 0:
            sudo = shutil.which("sudo")
            if sudo is None:
                raise BrowserSetupError(f"{CHROMIUM} is missing; installing it needs root, and sudo is not available")
            prefix = [sudo, "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        steps = (
            [apt_get, "update"],
            [apt_get, "install", "-y", "--no-install-recommends", "chromium"],
        )
        say(f"{CHROMIUM} is missing: installing Debian's chromium package for the browser tests")
        for step in steps:
            command = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", *step] if prefix else step
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
            except subprocess.TimeoutExpired:
                raise BrowserSetupError(f"`{' '.join(step)}` did not finish within {APT_TIMEOUT} s") from None
            if done.returncode != 0:
                raise BrowserSetupError(f"`{' '.join(step)}` failed (exit {done.returncode}):\n{_tail(done.stdout + done.stderr)}")
        if not CHROMIUM.exists():
            raise BrowserSetupError(f"the chromium package was installed but {CHROMIUM} does not exist")
    try:
        version = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BrowserSetupError(f"{CHROMIUM} does not run: {exc!r}") from None
    if version.returncode != 0:
        raise BrowserSetupError(f"{CHROMIUM} --version failed (exit {version.returncode}): {_tail(version.stdout + version.stderr)}")


def runs_browser_tests(args: list[str], rootdir: Path) -> bool:
    """Whether a run with these path arguments may collect tests under ``tests/ui`` (a run with
    none collects the whole of ``tests``)."""
    ui = (ROOT / "tests" / "ui").resolve()
    paths = [arg.split("::", 1)[0] for arg in args if not arg.startswith("-")]
    if not paths:
        return True
    for raw in paths:
        path = (rootdir / raw).resolve() if not Path(raw).is_absolute() else Path(raw).resolve()
        if path == ui or ui in path.parents or path in ui.parents:
            return True
    return False


# ------------------------------------------------------------------------------ the browser thread


class BrowserThread:
    """Playwright and one Chromium, owned by one thread; :meth:`run` calls a function there."""

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self.browser: Any = None
        self.run(self._start)

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._executor.submit(function, *args, **kwargs).result(timeout=300)

    def journey(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(browser, *args, **kwargs)`` in the browser thread."""
        return self.run(function, self.browser, *args, **kwargs)

    def close(self) -> None:
        def stop() -> None:
            if self.browser is not None:
                self.browser.close()
            if self._playwright is not None:
                self._playwright.stop()

        try:
            self._executor.submit(stop).result(timeout=60)
        finally:
            self._executor.shutdown(wait=True)


# ------------------------------------------------------------------------------ the server


class EamServer:
    """``eam serve`` on a free loopback port with a new SQLite database (demo data loaded)."""

    def __init__(self, port: int | None = None, **env: str) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="eam-ui-")
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = {name: value for name, value in os.environ.items() if not name.startswith("EAM_")}
        #: The server's SQLite file (a test may age rows in it, as time passing would).
        self.database = Path(self._folder.name) / "eam.db"
        environment.update(
            EAM_DATABASE_URL=f"sqlite+aiosqlite:///{self.database}",
            EAM_LOG_LEVEL="WARNING",
            EAM_RATE_LIMIT_SIGN_IN_PER_MINUTE="0",
            **env,
        )
        eam = Path(sys.executable).with_name("eam")
        self._log = open(Path(self._folder.name) / "serve.log", "w+")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [str(eam), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=environment,
            cwd=self._folder.name,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_until_serving(_LogProcess(self.process, self._log), f"{self.base_url}/health/ready", timeout=60)
        except BaseException:
            self.close()
            raise
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def token(self, username: str, name: str | None = None) -> str:
        """A development bearer token (the server runs with the development secret)."""
        return issue_dev_token(DEV_TOKEN_SECRET, username, ttl_seconds=900, now=dt.datetime.now(dt.UTC), name=name)

    def api(self, method: str, path: str, user: str, name: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user, name)}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def organisation_id(self, nihdi: str) -> str:
        found = self.api("GET", "/v1/organisations", "carol", params={"q": nihdi})
        assert found.status_code == 200, found.text
        (organisation,) = found.json()["items"]
        return str(organisation["id"])

    def close(self) -> None:
        if getattr(self, "http", None) is not None:
            self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        self._folder.cleanup()


class _LogProcess:
    """A process for :func:`wait_until_serving` whose output went to a log file."""

    def __init__(self, process: subprocess.Popen[Any], log: Any) -> None:
        self._process, self._log = process, log

    def poll(self) -> int | None:
        return self._process.poll()

    def communicate(self) -> tuple[str, str]:
        self._log.flush()
        self._log.seek(0)
        return "", self._log.read()


# ------------------------------------------------------------------------------ checking pages


class _Markup(HTMLParser):
    """What a strict CSP would refuse in a document: inline scripts, event-handler attributes,
    inline styles and ``javascript:`` URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("an inline <script>")
        if tag == "style":
            self.problems.append("an inline <style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event-handler attribute {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"a style attribute on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"a javascript: URL in {name} on <{tag}>")


def markup_problems(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    return parser.problems


#: The Content-Security-Policy every page must send (checked header by header).
REQUIRED_CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def csp_problems(headers: dict[str, str]) -> list[str]:
    policy = headers.get("content-security-policy")
    if not policy:
        return ["no Content-Security-Policy header"]
    directives = {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in policy.split(";") if part.strip()}
    problems = [f"{name} is {directives.get(name)!r}, not {value!r}" for name, value in REQUIRED_CSP.items() if directives.get(name) != value]
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"the policy allows unsafe code: {policy}")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    return problems


CSP_CONSOLE = re.compile(r"content security policy|refused to (execute|load|apply|evaluate|connect|frame)", re.IGNORECASE)
SERIOUS = {"serious", "critical"}


class Visitor:
    """One page of a journey, checked after each navigation (see the module docstring)."""

    def __init__(self, page: Any, server: EamServer, journey: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page = page
        self.server = server
        self.journey = journey
        self.folder = SCREENSHOTS / journey
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.shots = 0
        self.axe = Axe()
        self.console: list[str] = []
        self.problems: list[str] = []
        self.documents: list[Any] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if not response.url.startswith(self.server.base_url):
            self.problems.append(f"a request left EAM: {response.url}")
            return
        if response.request.resource_type in ("document", "xhr", "fetch"):
            self.documents.append(response)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.server.base_url + path)

    def check(self, name: str) -> None:
        """The page now shown: its documents' headers and markup, axe-core, a screenshot."""
        page = self.page
        page.wait_for_load_state("load")
        responses, self.documents = self.documents, []
        for response in responses:
            if 300 <= response.status < 400:
                continue  # a redirect (Post/Redirect/Get): its target is checked
            where = f"{response.request.method} {response.url} ({response.status})"
            for problem in csp_problems(response.all_headers()):
                self.problems.append(f"{where}: {problem}")
            try:
                body = response.text()
            except Exception:  # noqa: BLE001 - a document replaced before its body was read
                continue
            for problem in markup_problems(body):
                self.problems.append(f"{where}: {problem}")
        self.shots += 1
        page.screenshot(path=str(self.folder / f"{self.shots:02d}-{name}.png"), full_page=True)
        width = page.viewport_size["width"]
        overflow = page.evaluate("document.documentElement.scrollWidth")
        if overflow > width:
            self.problems.append(f"{name}: the page is {overflow} px wide in a {width} px viewport (horizontal scrolling)")
        results = self.axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [node["target"] for node in violation["nodes"]][:5]
                self.problems.append(f"{name}: axe {violation['impact']} {violation['id']}: {violation['help']} at {targets}")
        self.finish_checks()

    def finish_checks(self) -> None:
        csp = [line for line in self.console if CSP_CONSOLE.search(line)]
        self.problems.extend(f"console: {line}" for line in csp)
        self.console = [line for line in self.console if line not in csp]
        problems, self.problems = self.problems, []
        assert not problems, f"journey {self.journey}:\n" + "\n".join(problems)


#: Records the URL of every htmx answer once it is swapped into the page (an init script runs
#: through the DevTools protocol, outside the page's CSP), so a journey can wait for a partial.
SETTLED_SCRIPT = """
window.eamSettled = [];
document.addEventListener('htmx:afterSettle', (event) => window.eamSettled.push(event.detail.xhr.responseURL));
"""


def wait_for_partial(page: Any, path: str, **params: str) -> None:
    """Wait until the answer of ``path`` with these query parameters is in the page."""
    page.wait_for_function(
        """([path, params]) => window.eamSettled.some((seen) => {
            const url = new URL(seen);
            return url.pathname === path && Object.entries(params).every(([k, v]) => url.searchParams.get(k) === v);
        })""",
        arg=[path, params],
    )


@contextmanager
def visiting(browser: Any, server: EamServer, journey: str, width: int = 1280, height: int = 900) -> Iterator[Visitor]:
    """A new browser context (no cookies) and page for one journey, in English."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB", timezone_id="Europe/Brussels")
    context.set_default_timeout(15_000)
    context.add_init_script(SETTLED_SCRIPT)
    try:
        page = context.new_page()
        visitor = Visitor(page, server, journey)
        yield visitor
        visitor.finish_checks()
    finally:
        context.close()
