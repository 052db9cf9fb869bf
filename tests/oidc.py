"""A real OpenID Provider for tests: panva's certified Node `oidc-provider`, run from tests/oidc_node.

Usage::

    from tests.oidc import OidcProvider, browser_sign_in, generate_signing_jwks

    with OidcProvider(redirect_uris=["http://eam.test/auth/callback"]) as op:
        op.issuer                 # "http://127.0.0.1:<port>", also the discovery base
        op.client_id, op.client_secret
        op.private_jwks, op.public_jwks
        with httpx.Client() as browser:
            redirect = browser_sign_in(browser, eam_login_url, "niss-1")
            redirect.headers["location"]   # <redirect_uri>?code=...&state=...&iss=...
        new_private, _ = generate_signing_jwks("ES256")
        op.rotate_keys(new_private)

The provider listens on a free loopback port (the OS picks it unless ``port=`` is given), runs with
`features.devInteractions` (built-in login and consent forms: any password is accepted, the login is the
account id), `rpInitiatedLogout`, `resourceIndicators` (resource ``urn:eam:api`` yields JWT access
tokens with ``aud`` ``urn:eam:api``), PKCE required for every client, and ``conformIdTokenClaims: false``
so the claims of the granted scopes (profile, email, national_number) are put in the ID token itself.
See tests/oidc_node/provider.mjs for the configuration file it reads and its test control endpoints.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.node import npm_ci

NODE_DIR = Path(__file__).resolve().parent / "oidc_node"
PROVIDER_SCRIPT = NODE_DIR / "provider.mjs"

EAM_API_RESOURCE = "urn:eam:api"
DEFAULT_REDIRECT_URI = "http://eam.test/auth/callback"
DEFAULT_POST_LOGOUT_REDIRECT_URI = "http://eam.test/auth/logged-out"
DEFAULT_SCOPE = "openid profile email national_number"

DEFAULT_ACCOUNTS: dict[str, dict[str, Any]] = {
    "niss-1": {
        "national_number": "85073003328",
        "given_name": "Carol",
        "family_name": "Peeters",
        "name": "Carol Peeters",
        "email": "carol@example.org",
        "email_verified": True,
    },
    "niss-2": {
        "national_number": "90020199784",
        "given_name": "Dirk",
        "family_name": "Janssens",
        "name": "Dirk Janssens",
        "email": "dirk@example.org",
        "email_verified": True,
    },
}


# --------------------------------------------------------------------------------------------- keys


def generate_signing_jwks(*algs: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(private JWK set, public JWK set) with one fresh signing key per algorithm (default ES256).

    Supported: RS256/RS384/RS512/PS256 (2048-bit RSA), ES256/ES384/ES512, EdDSA/Ed25519. Every key
    carries ``alg``, ``use: sig`` and a thumbprint ``kid``; the first key is the provider's default.
    """
    private, public = [], []
    for alg in algs or ("ES256",):
        parameters = {"alg": alg, "use": "sig"}
        if alg.startswith(("RS", "PS")):
            key = RSAKey.generate_key(2048, parameters=parameters, private=True, auto_kid=True)
        elif alg in {"ES256", "ES384", "ES512"}:
            curve = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
            key = ECKey.generate_key(curve, parameters=parameters, private=True, auto_kid=True)
        elif alg in {"EdDSA", "Ed25519"}:
            key = OKPKey.generate_key("Ed25519", parameters=parameters, private=True, auto_kid=True)
        else:
            raise ValueError(f"unsupported signing algorithm {alg!r}")
        private.append(dict(key.as_dict(private=True)))
        public.append(dict(key.as_dict(private=False)))
    return {"keys": private}, {"keys": public}


def public_jwks_of(private_jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The public half of a private JWK set."""
    private_members = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
    return {"keys": [{k: v for k, v in key.items() if k not in private_members} for key in private_jwks["keys"]]}


# ------------------------------------------------------------------------------------------ tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_id_token(
    private_jwk: Mapping[str, Any],
    claims: Mapping[str, Any],
    headers: Mapping[str, Any] | None = None,
    *,
    algorithm: str | None = None,
) -> str:
    """Sign arbitrary claims with a private JWK (e.g. one of ``OidcProvider.private_jwks``).

    The header gets the JWK's ``kid`` and ``typ: JWT`` unless ``headers`` says otherwise (a ``kid``
    of None removes it). ``algorithm`` defaults to the JWK's ``alg``.
    """
    key = jwt.PyJWK(dict(private_jwk), algorithm=algorithm)
    header: dict[str, Any] = {"typ": "JWT"}
    if private_jwk.get("kid"):
        header["kid"] = private_jwk["kid"]
    header.update(headers or {})
    header = {k: v for k, v in header.items() if v is not None}
    alg = algorithm or private_jwk.get("alg") or key.algorithm_name
    header.pop("alg", None)
    return jwt.encode(dict(claims), key.key, algorithm=alg, headers=header)


def unsigned_token(claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
    """An ``alg: none`` JWT (empty signature) for negative tests."""
    header = {"alg": "none", "typ": "JWT", **(headers or {})}

    def compact(value: Mapping[str, Any]) -> str:
        return _b64(json.dumps(dict(value), separators=(",", ":")).encode())

    return f"{compact(header)}.{compact(claims)}."


def id_token_claims(
    issuer: str,
    client_id: str,
    sub: str = "niss-1",
    *,
    nonce: str | None = None,
    lifetime: int = 600,
    now: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A plausible ID token claim set (valid if signed by the provider's key), to tamper with."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": client_id,
        "iat": issued,
        "exp": issued + lifetime,
        "auth_time": issued,
        **DEFAULT_ACCOUNTS.get(sub, {}),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(extra)
    return claims


# ------------------------------------------------------------------------------------------ provider


def ensure_node_modules() -> None:
    """Install oidc-provider from the committed lock file (``npm ci``) if it is not installed yet."""
    npm_ci(NODE_DIR, "oidc-provider")


def default_client(
    redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,),
    *,
    client_id: str = "eam",
    client_secret: str | None = None,
    id_token_alg: str = "ES256",
    post_logout_redirect_uris: Iterable[str] = (DEFAULT_POST_LOGOUT_REDIRECT_URI,),
    **metadata: Any,
) -> dict[str, Any]:
    """Metadata of a confidential authorization-code client (client_secret_basic)."""
    return {
        "client_id": client_id,
        "client_secret": client_secret or secrets.token_urlsafe(32),
        "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": id_token_alg,
        **metadata,
    }


class OidcProvider:
    """Runs tests/oidc_node/provider.mjs as a child process; use as a context manager.

    ``clients`` defaults to one confidential client ``eam`` (see :func:`default_client`) whose ID tokens
    are signed with the algorithm of the first key; ``jwks`` (private JWK set) defaults to a fresh ES256
    key; ``accounts`` to :data:`DEFAULT_ACCOUNTS`. ``settings`` adds or overrides keys of the provider's
    configuration file (``ttl``, ``resource_servers``, ``use_granted_resource``, ``access_token_claims``,
    ``claims``, ``issuer``).
    """

    def __init__(
        self,
        *,
        redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,),
        post_logout_redirect_uris: Iterable[str] = (DEFAULT_POST_LOGOUT_REDIRECT_URI,),
        clients: list[dict[str, Any]] | None = None,
        jwks: Mapping[str, Any] | None = None,
        accounts: Mapping[str, Mapping[str, Any]] | None = None,
        port: int = 0,
        settings: Mapping[str, Any] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.private_jwks: dict[str, Any] = dict(jwks) if jwks is not None else generate_signing_jwks("ES256")[0]
        if clients is None:
            clients = [
                default_client(
                    redirect_uris,
                    post_logout_redirect_uris=post_logout_redirect_uris,
                    id_token_alg=self.private_jwks["keys"][0].get("alg", "RS256"),
                )
            ]
        self.clients = clients
        self.accounts = {sub: dict(claims) for sub, claims in (accounts if accounts is not None else DEFAULT_ACCOUNTS).items()}
        self.port = port
        self.settings = dict(settings or {})
        self.startup_timeout = startup_timeout
        self.issuer = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._logs: list[Any] = []

    # -- conveniences ---------------------------------------------------------------------------

    @property
    def client(self) -> dict[str, Any]:
        return self.clients[0]

    @property
    def client_id(self) -> str:
        return self.client["client_id"]

    @property
    def client_secret(self) -> str:
        return self.client["client_secret"]

    @property
    def public_jwks(self) -> dict[str, Any]:
        return public_jwks_of(self.private_jwks)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    def discovery(self) -> dict[str, Any]:
        response = httpx.get(self.discovery_url, timeout=10)
        response.raise_for_status()
        return response.json()

    def signing_key(self, kid: str | None = None) -> dict[str, Any]:
        """A private JWK of the provider (the first one unless ``kid`` is given), e.g. to forge tokens."""
        for key in self.private_jwks["keys"]:
            if kid is None or key.get("kid") == kid:
                return key
        raise KeyError(kid)

    @property
    def log(self) -> str:
        """What the provider wrote on stderr so far (warnings, server errors)."""
        if not self._workdir:
            return ""
        path = Path(self._workdir.name) / "stderr.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- life cycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError("provider already started")
        ensure_node_modules()
        self._workdir = tempfile.TemporaryDirectory(prefix="eam-oidc-")
        workdir = Path(self._workdir.name)
        config = {"clients": self.clients, "jwks": self.private_jwks, "accounts": self.accounts, **self.settings}
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(config))
        stdout_path, stderr_path = workdir / "stdout.log", workdir / "stderr.log"
        stdout, stderr = open(stdout_path, "wb"), open(stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self._logs = [stdout, stderr]
        try:
            self._process = subprocess.Popen(
                [shutil.which("node") or "node", str(PROVIDER_SCRIPT), str(config_path), "--port", str(self.port), "--watch-stdin"],
                cwd=NODE_DIR,
                stdin=subprocess.PIPE,  # the provider exits when this pipe closes, even if we are killed
                stdout=stdout,
                stderr=stderr,
                env={**os.environ, "NODE_ENV": "test"},
            )
            ready = self._wait_until_ready(stdout_path)
        except BaseException:
            self.stop()
            raise
        self.issuer = ready["issuer"]
        self.port = ready["port"]
        return self

    def _wait_until_ready(self, stdout_path: Path) -> dict[str, Any]:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            for line in stdout_path.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if isinstance(message, dict) and message.get("ready"):
                        return message
            if self._process.poll() is not None:
                raise RuntimeError(f"the test OpenID provider exited with {self._process.returncode}:\n{self.log}")
            time.sleep(0.05)
        raise TimeoutError(f"the test OpenID provider was not ready within {self.startup_timeout} s:\n{self.log}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # --watch-stdin: a graceful exit
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        for handle in self._logs:
            handle.close()
        self._logs = []
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    # -- test control ----------------------------------------------------------------------------

    def _control(self, path: str, body: Any) -> dict[str, Any]:
        if self._process is None:
            raise RuntimeError("provider not started")
        response = httpx.post(f"{self.issuer}/__test__/{path}", json=body, timeout=10)
        if response.status_code != 200:
            raise RuntimeError(f"/__test__/{path} failed ({response.status_code}): {response.text}")
        return response.json()

    def rotate_keys(self, new_private_jwks: Mapping[str, Any]) -> None:
        """Replace the provider's signing keys at runtime (same issuer, same port, sessions kept).

        Keys left out of ``new_private_jwks`` disappear from the JWKS at once; include the old key to
        model a rotation with an overlap period.
        """
        self._control("rotate-keys", dict(new_private_jwks))
        self.private_jwks = dict(new_private_jwks)

    def tamper_id_tokens(self, *, set_claims: Mapping[str, Any] | None = None, sign_with: Mapping[str, Any] | str | None = None) -> None:
        """Make the token endpoint misbehave like the OpenID conformance suite's test OPs: from now on
        every ID token it returns has ``set_claims`` changed (None removes a claim) and is signed with
        the provider's own key, with ``sign_with`` (a private JWK), or not at all (``"none"``).
        :meth:`stop_tampering` restores normal behaviour."""
        body: dict[str, Any] = {}
        if set_claims:
            body["set"] = dict(set_claims)
        if sign_with is not None:
            body["sign_with"] = sign_with
        if not self._control("tamper-id-tokens", body)["tampering"]:
            raise ValueError("nothing to tamper with")

    def stop_tampering(self) -> None:
        self._control("tamper-id-tokens", {})

    def set_account(self, sub: str, claims: Mapping[str, Any]) -> None:
        """Add an account or replace its claims at runtime."""
        self._control("accounts", {sub: dict(claims)})
        self.accounts[sub] = dict(claims)


# ------------------------------------------------------------------------------------------ browser


class _Forms(HTMLParser):
    """The forms of a page: action, method and fields (inputs, and buttons with a name)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = {"action": attributes.get("action", ""), "method": attributes.get("method", "get").lower(), "fields": {}}
            self.forms.append(self._current)
            if attributes.get("id"):
                self._by_id[attributes["id"]] = self._current
        elif tag in {"input", "button"} and attributes.get("name"):
            form = self._by_id.get(attributes["form"]) if attributes.get("form") else self._current
            if form is not None and (tag == "input" or attributes.get("value")):
                form["fields"].setdefault(attributes["name"], attributes.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _is_authorization_response(location: str) -> bool:
    query = parse_qs(urlsplit(location).query)
    return "code" in query or "error" in query


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


_Flow = Generator[tuple[str, str, dict[str, str] | None], httpx.Response, httpx.Response]


def _browse(
    start_url: str, fill: Mapping[str, str], stop: Callable[[str, str], bool], max_steps: int, start_method: str = "GET"
) -> _Flow:
    """Browser logic shared by the sync and async drivers: yields requests, receives responses."""
    method, url, data = start_method, start_url, None
    for _ in range(max_steps):
        response = yield method, url, data
        here = str(response.url)
        if response.is_redirect:
            location = urljoin(here, response.headers["location"])
            if stop(here, location):
                return response
            method, url, data = "GET", location, None
            continue
        forms = _Forms()
        if response.status_code == 200 and "html" in response.headers.get("content-type", ""):
            forms.feed(response.text)
        posting = [form for form in forms.forms if form["method"] == "post"]
        if posting:
            form = posting[0]
            fields = {name: fill.get(name, value) for name, value in form["fields"].items()}
            method, url, data = "POST", urljoin(here, form["action"]), fields
            continue
        return response
    raise AssertionError(f"no end after {max_steps} steps; last at {url}")


def _sign_in_flow(
    start_url: str, login: str, password: str, callback_url: str | None, max_steps: int
) -> tuple[_Flow, Callable[[httpx.Response], httpx.Response]]:
    def stop(here: str, location: str) -> bool:
        if callback_url is not None:
            return location.startswith(callback_url)
        return _is_authorization_response(location)

    def check(response: httpx.Response) -> httpx.Response:
        if not response.is_redirect:
            raise AssertionError(
                f"the sign-in ended at {response.url} with {response.status_code} instead of a redirect to the callback:\n"
                f"{response.text[:2000]}"
            )
        return response

    return _browse(start_url, {"login": login, "password": password}, stop, max_steps), check


def browser_sign_in(
    http: httpx.Client,
    start_url: str,
    login: str,
    *,
    password: str = "any password",
    callback_url: str | None = None,
    max_steps: int = 20,
) -> httpx.Response:
    """Sign in like a browser: from ``start_url`` (an EAM login URL, or the provider's authorization URL)
    through the provider's devInteractions login form (``login`` is the account id, any password) and
    consent form, following redirects by hand.

    Returns the provider's redirect response to the relying party's callback, NOT followed: its
    Location carries ``code``, ``state`` and ``iss`` (or ``error``). The redirect is recognised by its
    ``code``/``error`` query parameter, or by ``callback_url`` when given. Forms that do not appear
    (existing session, remembered consent) are simply skipped. Cookies live in ``http``.

    ``login`` must be an account of the provider: devInteractions accept any login, and oidc-provider
    then fails with a 500 page (``server_error`` in ``OidcProvider.log``) when the account is unknown.
    """
    flow, check = _sign_in_flow(start_url, login, password, callback_url, max_steps)
    try:
        method, url, data = next(flow)
        while True:
            response = http.request(method, url, data=data, follow_redirects=False)
            method, url, data = flow.send(response)
    except StopIteration as done:
        return check(done.value)


async def browser_sign_in_async(
    http: httpx.AsyncClient,
    start_url: str,
    login: str,
    *,
    password: str = "any password",
    callback_url: str | None = None,
    max_steps: int = 20,
) -> httpx.Response:
    """:func:`browser_sign_in` for an ``httpx.AsyncClient``. For an EAM app served in-process, mount
    it on the EAM host and let everything else go to the network, e.g.
    ``httpx.AsyncClient(mounts={"http://eam.test": httpx.ASGITransport(app=app)})``.
    """
    flow, check = _sign_in_flow(start_url, login, password, callback_url, max_steps)
    try:
        method, url, data = next(flow)
        while True:
            response = await http.request(method, url, data=data, follow_redirects=False)
            method, url, data = flow.send(response)
    except StopIteration as done:
        return check(done.value)


def code_flow_tokens(
    op: OidcProvider,
    http: httpx.Client,
    login: str = "niss-1",
    *,
    resource: str | None = None,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    scope: str = DEFAULT_SCOPE,
) -> dict[str, Any]:
    """Act as the provider's first client: authorization code + PKCE (Authlib), signing in as ``login``
    through the provider's forms in ``http``, and return the token response (``id_token``,
    ``access_token``: a JWT when ``resource`` names a resource server, else opaque)."""
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client

    discovery = op.discovery()
    extra = {"resource": resource} if resource else {}
    with OAuth2Client(
        client_id=op.client_id,
        client_secret=op.client_secret,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        timeout=10,
    ) as client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(16), **extra
        )
        location = browser_sign_in(http, url, login, callback_url=redirect_uri).headers["location"]
        return dict(
            client.fetch_token(
                discovery["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state, **extra
            )
        )


def _sign_out_flow(start_url: str, method: str, max_steps: int) -> tuple[_Flow, list[tuple[str, str]]]:
    confirmed_at: list[tuple[str, str]] = []  # origin of the provider, once its form is submitted

    def stop(here: str, location: str) -> bool:
        return bool(confirmed_at) and _origin(here) == confirmed_at[0] and _origin(location) != confirmed_at[0]

    return _browse(start_url, {"logout": "yes"}, stop, max_steps, method), confirmed_at


def browser_sign_out(http: httpx.Client, start_url: str, *, method: str = "GET", max_steps: int = 20) -> httpx.Response:
    """Follow an RP-initiated logout from ``start_url`` (an EAM logout URL requested with ``method``,
    e.g. ``POST /auth/logout``, or the provider's end_session_endpoint URL), confirm the provider's
    "sign out?" form, and return the first redirect that leaves the provider afterwards (normally to
    the post_logout_redirect_uri, NOT followed), or the provider's last page ("Sign-out Success") when
    it does not send the browser back.
    """
    flow, confirmed_at = _sign_out_flow(start_url, method, max_steps)
    try:
        verb, url, data = next(flow)
        while True:
            response = http.request(verb, url, data=data, follow_redirects=False)
            verb, url, data = flow.send(response)
            if data is not None and not confirmed_at:  # a form submission
                confirmed_at.append(_origin(url))
    except StopIteration as done:
        return done.value


async def browser_sign_out_async(http: httpx.AsyncClient, start_url: str, *, method: str = "GET", max_steps: int = 20) -> httpx.Response:
    """:func:`browser_sign_out` for an ``httpx.AsyncClient``."""
    flow, confirmed_at = _sign_out_flow(start_url, method, max_steps)
    try:
        verb, url, data = next(flow)
        while True:
            response = await http.request(verb, url, data=data, follow_redirects=False)
            verb, url, data = flow.send(response)
            if data is not None and not confirmed_at:  # a form submission
                confirmed_at.append(_origin(url))
    except StopIteration as done:
        return done.value
