"""Grant tokens checked by two independent verifiers: ``eam.verifier`` (PyJWT) and Node ``jose``.

Every token travels the way it does in production: EAM issues it over HTTP, and both verifiers
fetch EAM's keys from the served JWKS URL. The forged tokens are built byte by byte (header,
payload, signature), so each one differs from a valid token in exactly the defect it names; a
positive control in the same table, built the same way with EAM's real key, must be accepted
by both, which shows the refusals are for the stated reason and not an artefact of forging.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.core.database import create_engine, make_sessionmaker, transaction
from eam.runtime import build_services
from eam.signing_keys.keyring import KeyRing
from eam.verifier import AccessDenied, JWKSCache, TokenRefused, Verifier
from tests.node import npm_ci

NODE_DIR = Path(__file__).resolve().parent / "jose_node"
ALGORITHMS = ("ES256", "RS256", "EdDSA")
AUDIENCE = "healthstat"
LEEWAY = 30  # the same clock tolerance for both verifiers


# --- Node jose -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def jose_node() -> Path:
    """panva/jose, installed from the committed lock file; the suite fails if it cannot be."""
    npm_ci(NODE_DIR, "jose")
    return NODE_DIR / "verify.mjs"


async def jose_verify(script: Path, tokens: list[str], *, issuer: str, jwks_url: str | None = None, jwks: dict | None = None, cooldown_ms: int | None = None) -> list[dict[str, Any]]:
    """One node run for the whole batch (node starts slowly); one result per token, in order."""
    job: dict[str, Any] = {"issuer": issuer, "audience": AUDIENCE, "tokens": tokens, "clock_tolerance": LEEWAY}
    if jwks is not None:
        job["jwks"] = jwks
    else:
        job["jwks_url"] = jwks_url
    if cooldown_ms is not None:
        job["cooldown_ms"] = cooldown_ms
    completed = await asyncio.to_thread(
        subprocess.run, ["node", str(script)], input=json.dumps(job), capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert len(results) == len(tokens)
    return results


async def eam_verify(verifier: Verifier, token: str) -> dict[str, Any]:
    """``eam.verifier``'s answer in the same shape as jose's (the library does blocking I/O)."""
    try:
        grant = await asyncio.to_thread(verifier.verify, token)
    except TokenRefused as exc:
        return {"ok": False, "message": str(exc)}
    return {"ok": True, "grant": grant}


# --- EAM state -------------------------------------------------------------------------------


@asynccontextmanager
async def own_sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """An engine in the test's event loop on the live server's database (the server's own
    engine belongs to the loop in its thread)."""
    engine = create_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def current_signing_key(server: Any) -> tuple[str, str, Any]:
    """(kid, alg, private key as a ``cryptography`` object) of the key EAM signs with now."""
    async with own_sessionmaker(server.settings.database_url) as sessionmaker:
        async with transaction(sessionmaker, read_only=True) as session:
            key, private = await KeyRing(server.settings).signing_key(session)
            return key.kid, key.alg, private.private_key


async def issue(server: Any) -> str:
    response = await server.api.post("/v1/grant-tokens", "carol", json={"application": AUDIENCE})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def served_jwks(server: Any) -> dict[str, Any]:
    response = await server.api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200, response.text
    return response.json()


async def server_with_grant(live_server_factory: Any, alg: str) -> Any:
    server = live_server_factory(grant_signing_alg=alg)
    org = await server.api.managed_organisation()
    await server.api.approved_assignment(org["id"])
    return server


# --- JOSE by hand ----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_part(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def compact(header: dict[str, Any], payload: dict[str, Any], key: Any) -> str:
    """A JWS compact serialisation signed with ``key`` under ``header['alg']`` (PyJWT's
    primitives, which give ECDSA signatures in JWS's raw r||s form)."""
    signing_input = f"{encode_part(header)}.{encode_part(payload)}"
    signature = jwt.get_algorithm_by_name(header["alg"]).sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64(signature)}"


def hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    """HS256 with an arbitrary secret: PyJWT rightly refuses a PEM as an HMAC key."""
    signing_input = f"{encode_part(header)}.{encode_part(payload)}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode('ascii'), hashlib.sha256).digest())}"


#: RFC 7638 section 3.2: the required members of each key type, in lexicographic order.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def thumbprint(jwk: dict[str, Any]) -> str:
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    return b64(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


@dataclass
class Attacker:
    """A key pair EAM never saw, with a kid of the same shape as EAM's (an RFC 7638 thumbprint)."""

    alg: str
    private: Any
    public_jwk: dict[str, Any]
    kid: str
    certificate_der: bytes

    @classmethod
    def generate(cls, alg: str) -> Attacker:
        if alg == "ES256":
            private: Any = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ed25519.Ed25519PrivateKey.generate()
        public_jwk = json.loads(jwt.get_algorithm_by_name(alg).to_jwk(private.public_key()))
        kid = thumbprint(public_jwk)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.example")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(private, None if alg == "EdDSA" else hashes.SHA256())
        )
        return cls(alg, private, public_jwk, kid, certificate.public_bytes(serialization.Encoding.DER))

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.public_jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}]}


class AttackerSite:
    """The attacker's own web server on loopback: serves the attacker's JWKS and certificate,
    so ``jku``/``x5u`` point at keys a verifier that followed them would really find."""

    def __init__(self, attacker: Attacker) -> None:
        documents = {
            "/jwks.json": ("application/json", json.dumps(attacker.jwks).encode()),
            "/cert.pem": ("application/pem-certificate-chain", x509.load_der_x509_certificate(attacker.certificate_der).public_bytes(serialization.Encoding.PEM)),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                content_type, body = documents.get(self.path, ("text/plain", b"not found"))
                self.send_response(200 if self.path in documents else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# --- The forging context and the case table --------------------------------------------------


@dataclass
class Forge:
    """Everything a case needs to build its token; the attacker's keys and site on demand."""

    issuer: str
    alg: str
    kid: str
    private: Any
    public_jwk: dict[str, Any]  # the entry EAM serves for its key
    claims: dict[str, Any]  # the claims of a token EAM really issued, with fresh times and jti
    now: int
    start_site: Callable[[Attacker], AttackerSite]

    @cached_property
    def attacker(self) -> Attacker:
        return Attacker.generate(self.alg)

    @cached_property
    def other_attacker(self) -> Attacker:
        """A key of another algorithm than EAM's."""
        return Attacker.generate(ALGORITHMS[(ALGORITHMS.index(self.alg) + 1) % len(ALGORITHMS)])

    @cached_property
    def site(self) -> AttackerSite:
        return self.start_site(self.attacker)

    def header(self, **changes: Any) -> dict[str, Any]:
        header = {"alg": self.alg, "typ": "at+jwt", "kid": self.kid}
        header.update(changes)
        return {name: value for name, value in header.items() if value is not None}

    def payload(self, **changes: Any) -> dict[str, Any]:
        return {**self.claims, **changes}

    def sign(self, header: dict[str, Any] | None = None, payload: dict[str, Any] | None = None) -> str:
        """Signed with EAM's real key: only what the case changes differs from a valid token."""
        return compact(header or self.header(), payload or self.payload(), self.private)

    def sign_as_attacker(self, **header: Any) -> str:
        return compact({"alg": self.attacker.alg, "typ": "at+jwt", "kid": self.attacker.kid, **header}, self.payload(), self.attacker.private)

    def public_pem(self) -> bytes:
        return jwt.PyJWK(self.public_jwk).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def tamper_payload(forge: Forge) -> str:
    header, _, signature = forge.sign().split(".")
    claims = forge.payload()
    claims["authorization_details"] = [{**entry, "register": "HDBP0031"} for entry in claims["authorization_details"]]
    return f"{header}.{encode_part(claims)}.{signature}"


def tamper_signature(forge: Forge) -> str:
    header, payload, signature = forge.sign().split(".")
    raw = bytearray(unb64(signature))
    raw[len(raw) // 2] ^= 0x01  # a whole byte of the signature, not base64 padding bits
    return f"{header}.{payload}.{b64(bytes(raw))}"


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Forge], str]
    #: Substring of eam.verifier's refusal (None: must be accepted).
    eam_refusal: str | None
    #: jose's error code (None: must be accepted), and the claim it names, if any.
    jose_code: str | None
    jose_claim: str | None = None
    #: The token is signed by the attacker's key and verifies under the attacker's JWKS: only
    #: where the verifier takes its key from decides, so a verifier trusting the header accepts.
    attacker_signed: bool = False
    #: Key and algorithm handling differs per key type: such cases run against an EAM signing
    #: with each algorithm. Claim and header checks do not, and run against the default (ES256).
    every_algorithm: bool = False


CASES = [
    Case("control-real-key", lambda f: f.sign(), None, None, every_algorithm=True),
    Case(
        "key-not-in-jwks",
        lambda f: f.sign_as_attacker(),
        "is not in EAM's JWKS",
        "ERR_JWKS_NO_MATCHING_KEY",
        attacker_signed=True,
        every_algorithm=True,
    ),
    Case(
        "attacker-key-with-eam-kid",
        lambda f: compact(f.header(), f.payload(), f.attacker.private),
        "Signature verification failed",
        "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        every_algorithm=True,
    ),
    Case(
        "other-alg-with-eam-kid",
        lambda f: compact(f.header(alg=f.other_attacker.alg), f.payload(), f.other_attacker.private),
        "is for ",  # "key … is for ES256, not RS256"
        "ERR_JWKS_NO_MATCHING_KEY",
        every_algorithm=True,
    ),
    Case(
        "alg-none",
        lambda f: f"{encode_part(f.header(alg='none'))}.{encode_part(f.payload())}.",
        "algorithm 'none' is not accepted",
        "ERR_JOSE_ALG_NOT_ALLOWED",
        every_algorithm=True,
    ),
    Case(
        "hs256-public-pem-as-secret",
        lambda f: hs256(f.header(alg="HS256"), f.payload(), f.public_pem()),
        "algorithm 'HS256' is not accepted",
        "ERR_JOSE_ALG_NOT_ALLOWED",
        every_algorithm=True,
    ),
    Case(
        "hs256-public-jwk-as-secret",
        lambda f: hs256(f.header(alg="HS256"), f.payload(), json.dumps(f.public_jwk).encode()),
        "algorithm 'HS256' is not accepted",
        "ERR_JOSE_ALG_NOT_ALLOWED",
        every_algorithm=True,
    ),
    Case(
        "jwk-header",
        lambda f: f.sign_as_attacker(jwk=f.attacker.public_jwk),
        "names its own key (jwk)",
        "ERR_JWKS_NO_MATCHING_KEY",
        attacker_signed=True,
        every_algorithm=True,
    ),
    Case(
        "tampered-signature",
        tamper_signature,
        "Signature verification failed",
        "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        every_algorithm=True,
    ),
    Case(
        "unknown-crit",
        lambda f: f.sign(f.header(crit=["urn:example:must-understand"], **{"urn:example:must-understand": True})),
        "critical header",
        "ERR_JOSE_NOT_SUPPORTED",
    ),
    Case(
        "jku-header",
        lambda f: f.sign_as_attacker(jku=f"{f.site.base_url}/jwks.json"),
        "names its own key (jku)",
        "ERR_JWKS_NO_MATCHING_KEY",
        attacker_signed=True,
    ),
    Case(
        "x5u-header",
        lambda f: f.sign_as_attacker(x5u=f"{f.site.base_url}/cert.pem"),
        "names its own key (x5u)",
        "ERR_JWKS_NO_MATCHING_KEY",
        attacker_signed=True,
    ),
    Case(
        "x5c-header",
        lambda f: f.sign_as_attacker(x5c=[base64.b64encode(f.attacker.certificate_der).decode()]),
        "names its own key (x5c)",
        "ERR_JWKS_NO_MATCHING_KEY",
        attacker_signed=True,
    ),
    Case("typ-jwt", lambda f: f.sign(f.header(typ="JWT")), "typ header must be at+jwt", "ERR_JWT_CLAIM_VALIDATION_FAILED", "typ"),
    Case("typ-missing", lambda f: f.sign(f.header(typ=None)), "typ header must be at+jwt", "ERR_JWT_CLAIM_VALIDATION_FAILED", "typ"),
    Case(
        "issuer-prefix-host",
        lambda f: f.sign(payload=f.payload(iss=f.issuer + ".evil.example")),
        "Invalid issuer",
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "iss",
    ),
    Case(
        "issuer-prefix-path",
        lambda f: f.sign(payload=f.payload(iss=f.issuer + "/x")),
        "Invalid issuer",
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "iss",
    ),
    Case(
        "issuer-trailing-slash",
        lambda f: f.sign(payload=f.payload(iss=f.issuer + "/")),
        "Invalid issuer",
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "iss",
    ),
    Case(
        "other-audience",
        lambda f: f.sign(payload=f.payload(aud="hd4dp2")),
        "Audience doesn't match",
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "aud",
    ),
    Case(
        "audience-list-without-ours",
        lambda f: f.sign(payload=f.payload(aud=["hd4dp2", AUDIENCE + "x"])),
        "Audience doesn't match",
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "aud",
    ),
    Case(
        "expired-beyond-leeway",
        lambda f: f.sign(payload=f.payload(iat=f.now - 400, nbf=f.now - 400, exp=f.now - LEEWAY - 5)),
        "Signature has expired",
        "ERR_JWT_EXPIRED",
        "exp",
    ),
    Case(
        "nbf-beyond-leeway",
        lambda f: f.sign(payload=f.payload(nbf=f.now + LEEWAY + 30)),
        "not yet valid (nbf)",
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "nbf",
    ),
    Case("tampered-payload", tamper_payload, "Signature verification failed", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
]

FORGED = [
    pytest.param(case, alg, id=f"{case.id}-{alg}")
    for case in CASES
    for alg in (ALGORITHMS if case.every_algorithm else ("ES256",))
]


@pytest.fixture
def attacker_site() -> Iterator[Callable[[Attacker], AttackerSite]]:
    sites: list[AttackerSite] = []

    def start(attacker: Attacker) -> AttackerSite:
        sites.append(AttackerSite(attacker))
        return sites[-1]

    yield start
    for site in sites:
        site.close()


async def forge_for(server: Any, alg: str, start_site: Callable[[Attacker], AttackerSite]) -> Forge:
    real = jwt.decode(await issue(server), options={"verify_signature": False})
    now = int(time.time())
    claims = {**real, "iat": now, "nbf": now, "exp": now + server.settings.grant_token_ttl_seconds, "jti": str(uuid.uuid4())}
    kid, key_alg, private = await current_signing_key(server)
    assert key_alg == alg
    (public_jwk,) = [key for key in (await served_jwks(server))["keys"] if key["kid"] == kid]
    return Forge(server.base_url, alg, kid, private, public_jwk, claims, now, start_site)


# --- Tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
async def test_a_token_issued_over_http_verifies_with_jose_and_eam_verifier(live_server_factory: Any, jose_node: Path, alg: str) -> None:
    server = await server_with_grant(live_server_factory, alg)
    token = await issue(server)

    keys = (await served_jwks(server))["keys"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg and header["typ"] == "at+jwt"
    assert [key["kid"] for key in keys] == [header["kid"]]
    assert keys[0]["alg"] == alg and keys[0]["use"] == "sig" and "d" not in keys[0]
    assert thumbprint(keys[0]) == header["kid"]  # RFC 7638, computed independently of joserfc

    (result,) = await jose_verify(jose_node, [token], issuer=server.base_url, jwks_url=server.jwks_url)
    assert result["ok"], result
    assert result["header"] == header
    payload = result["payload"]
    assert payload["iss"] == server.base_url and payload["aud"] == AUDIENCE
    assert payload["sub"] == await server.api.user_id("carol")
    assert [(entry["register"], entry["data_level"]) for entry in payload["authorization_details"]] == [("HDBP0147", "hospital")]

    verifier = Verifier(server.base_url, AUDIENCE, server.jwks_url)
    grant = await asyncio.to_thread(verifier.verify, token)
    assert grant.token_id == payload["jti"] and grant.subject == payload["sub"]
    access = await asyncio.to_thread(verifier.require, token, register="HDBP0147")
    assert access.organisation.nihdi == "71000436" and access.data_level == "hospital"
    with pytest.raises(AccessDenied):
        await asyncio.to_thread(verifier.require, token, register="HDBP0031")


@pytest.mark.parametrize(("case", "alg"), FORGED)
async def test_forged_tokens_are_refused_by_both_verifiers(
    live_server_factory: Any, attacker_site: Any, jose_node: Path, case: Case, alg: str
) -> None:
    server = await server_with_grant(live_server_factory, alg)
    forge = await forge_for(server, alg, attacker_site)
    token = case.build(forge)

    by_eam = await eam_verify(Verifier(server.base_url, AUDIENCE, server.jwks_url, leeway=LEEWAY), token)
    (by_jose,) = await jose_verify(jose_node, [token], issuer=server.base_url, jwks_url=server.jwks_url)

    if case.eam_refusal is None:
        assert by_eam["ok"], by_eam
        assert by_jose["ok"], by_jose
        assert by_jose["payload"] == forge.claims
        return
    assert not by_eam["ok"], "eam.verifier accepted it"
    assert case.eam_refusal in by_eam["message"], by_eam["message"]
    assert not by_jose["ok"], "jose accepted it"
    assert by_jose["code"] == case.jose_code, by_jose
    if case.jose_claim is not None:
        assert by_jose["claim"] == case.jose_claim, by_jose
    if case.attacker_signed:
        # The same token is otherwise valid: under the attacker's keys jose accepts it.
        (trusting,) = await jose_verify(jose_node, [token], issuer=server.base_url, jwks=forge.attacker.jwks)
        assert trusting["ok"], trusting


async def test_eam_refuses_a_grant_token_as_a_user_credential(live_server_factory: Any) -> None:
    server = await server_with_grant(live_server_factory, "ES256")
    token = await issue(server)
    kid, alg, private = await current_signing_key(server)
    claims = jwt.decode(token, options={"verify_signature": False})
    # RFC 9068 also names the media type in full; it is the same kind of token.
    spelled_out = compact({"alg": alg, "typ": "application/at+jwt", "kid": kid}, claims, private)

    me = await server.api.get("/v1/me", "carol")
    assert me.status_code == 200, me.text  # the endpoint works for a user credential
    for presented in (token, spelled_out):
        response = await server.api.get("/v1/me", None, headers={"Authorization": f"Bearer {presented}"})
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "urn:eam:problem:unauthenticated"


async def test_key_rotation_keeps_old_tokens_valid_until_the_old_key_is_retired(live_server_factory: Any, jose_node: Path) -> None:
    from tests.conftest import maintain_keys

    server = await server_with_grant(live_server_factory, "ES256")
    settings = server.settings
    cached = Verifier(server.base_url, AUDIENCE, server.jwks_url)

    token_a = await issue(server)
    await asyncio.to_thread(cached.verify, token_a)  # the verifier now holds the JWKS before rotation
    old_kid, old_alg, old_private = await current_signing_key(server)
    assert jwt.get_unverified_header(token_a)["kid"] == old_kid

    rotated = await server.api.post("/v1/signing-keys/rotate", "admin")
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid

    token_b = await issue(server)
    assert jwt.get_unverified_header(token_b)["kid"] == new_kid
    assert sorted(key["kid"] for key in (await served_jwks(server))["keys"]) == sorted([old_kid, new_kid])

    assert (await eam_verify(cached, token_a))["ok"]
    assert (await eam_verify(cached, token_b))["ok"]  # an unknown kid makes it refetch at once
    assert [r["ok"] for r in await jose_verify(jose_node, [token_a, token_b], issuer=server.base_url, jwks_url=server.jwks_url, cooldown_ms=0)] == [True, True]

    # Every token the old key signed has expired: housekeeping retires it.
    server.clock.advance(seconds=settings.grant_token_ttl_seconds + settings.token_leeway_seconds + 1)
    async with own_sessionmaker(settings.database_url) as sessionmaker:
        assert await maintain_keys(build_services(settings, sessionmaker, server.clock)) == 1
    assert [key["kid"] for key in (await served_jwks(server))["keys"]] == [new_kid]

    # A token signed by the retired key (as if its private half had leaked), otherwise valid now.
    now = int(time.time())
    claims = {**jwt.decode(token_a, options={"verify_signature": False}), "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    with_old_key = compact({"alg": old_alg, "typ": "at+jwt", "kid": old_kid}, claims, old_private)
    fresh = Verifier(server.base_url, AUDIENCE, server.jwks_url)
    refused = await eam_verify(fresh, with_old_key)
    assert not refused["ok"] and "is not in EAM's JWKS" in refused["message"], refused
    by_jose = await jose_verify(jose_node, [with_old_key, token_b], issuer=server.base_url, jwks_url=server.jwks_url)
    assert by_jose[0]["code"] == "ERR_JWKS_NO_MATCHING_KEY", by_jose[0]
    assert by_jose[1]["ok"], by_jose[1]
    assert (await eam_verify(fresh, token_b))["ok"]

    # The new key goes on signing. The verifiers read the wall clock, so the server's clock,
    # moved on only to make the old key due, goes back to the present before issuing.
    server.clock.now = dt.datetime.now(dt.UTC)
    token_c = await issue(server)
    assert jwt.get_unverified_header(token_c)["kid"] == new_kid
    assert (await eam_verify(fresh, token_c))["ok"]
    assert (await jose_verify(jose_node, [token_c], issuer=server.base_url, jwks_url=server.jwks_url))[0]["ok"]


# --- eam.verifier on its own: what the live tests cannot stage ------------------------------


async def test_an_audience_list_names_our_application_in_the_grant(jose_node: Path) -> None:
    """RFC 7519 allows ``aud`` as a list; the grant reports the audience that was verified."""
    eam_key = Attacker.generate("ES256")  # stands in for EAM's key: only the list matters here
    issuer, now = "https://eam.example.org", int(time.time())
    claims = {"iss": issuer, "sub": str(uuid.uuid4()), "aud": ["hd4dp2", AUDIENCE], "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4()), "authorization_details": []}
    token = compact({"alg": "ES256", "typ": "at+jwt", "kid": eam_key.kid}, claims, eam_key.private)
    verifier = Verifier(issuer, AUDIENCE, fetch=lambda _url: json.dumps(eam_key.jwks).encode())
    assert verifier.verify(token).application == AUDIENCE
    (by_jose,) = await jose_verify(jose_node, [token], issuer=issuer, jwks=eam_key.jwks)
    assert by_jose["ok"], by_jose


def test_while_eam_is_unreachable_the_held_keys_verify_without_a_fetch_per_request() -> None:
    eam_key = Attacker.generate("ES256")
    issuer, now = "https://eam.example.org", int(time.time())
    claims = {"iss": issuer, "sub": str(uuid.uuid4()), "aud": AUDIENCE, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    token = compact({"alg": "ES256", "typ": "at+jwt", "kid": eam_key.kid}, claims, eam_key.private)
    monotonic, reachable, attempts = [0.0], [True], []

    def fetch(_url: str) -> bytes:
        attempts.append(monotonic[0])
        if not reachable[0]:
            raise TimeoutError("timed out")  # in production each attempt waits out the timeout
        return json.dumps(eam_key.jwks).encode()

    verifier = Verifier(issuer, AUDIENCE)
    verifier.jwks = JWKSCache(verifier.jwks.url, max_age=300, min_refetch_interval=5, fetch=fetch, clock=lambda: monotonic[0])
    verifier.verify(token)
    reachable[0] = False
    monotonic[0] = 400.0  # the held keys are stale: the next request tries to refresh them
    for _ in range(10):
        verifier.verify(token)  # the keys held go on verifying
    assert attempts == [0.0, 400.0]
    monotonic[0] = 405.0
    verifier.verify(token)
    assert attempts == [0.0, 400.0, 405.0]  # tried again after min_refetch_interval
    reachable[0] = True
    monotonic[0] = 410.0
    verifier.verify(token)
    monotonic[0] = 411.0
    verifier.verify(token)
    assert attempts == [0.0, 400.0, 405.0, 410.0]  # fresh again: no fetch until max_age
