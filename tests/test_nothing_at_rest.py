"""After a real OpenID Connect sign-in, no stored value holds a national number or works as a
credential (issue 12, security review).

The test signs in through the test provider (Node ``oidc-provider``), as a browser and with the
provider's own tokens as bearer, leaves a sign-in half done, registers a service client, then
reads every column of every table of the database and checks each stored value:

- the national number appears in no format (digits, ``85.07.30-033.28`` and the like), in no
  decoded form (base64url segments, as in a JWT) and not as an unkeyed digest; only
  ``users.national_number_hash`` (HMAC, RFC 2104) stands for it;
- replayed as ``Authorization: Bearer`` and as the session cookie, every stored value is refused
  with 401 (while the genuine cookie and token, the controls, are accepted).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine

from eam.auth.identity import national_number_hash
from eam.auth.sessions import SESSION_COOKIE
from eam.core.settings import DEV_NATIONAL_NUMBER_KEY
from eam.migrations import upgrade
from tests.conftest import auth
from tests.oidc import EAM_API_RESOURCE, OidcProvider, code_flow_tokens
from tests.test_oidc_sign_in import EAM, browser, sign_in  # noqa: F401 (fixtures)
from tests.test_service_tokens import _sql

CAROL_NN = "85073003328"  # niss-1 of the test provider, signed in as a browser
DIRK_NN = "90020199784"  # niss-2, signed in with the provider's tokens as bearer
IMPORTED_NN = "90020112305"  # a person an access manager imported before their first sign-in
REGISTERED_NN = "72010112308"  # one registered by hand, in the usual dotted format


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    """The test provider, whose JWT access tokens carry the national number as well."""
    with OidcProvider(settings={"access_token_claims": ["national_number", "given_name", "family_name"]}) as op:
        yield op


def formats(national_number: str) -> list[str]:
    """The ways a Belgian national number is written (YY.MM.DD-XXX.CC and shorter forms)."""
    n = national_number
    return [n, f"{n[:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}", f"{n[:6]}-{n[6:9]}.{n[9:]}", f"{n[:6]}-{n[6:]}", f"{n[:6]} {n[6:9]} {n[9:]}"]


def digit_pattern(national_number: str) -> re.Pattern[str]:
    """The digits in order, with up to two separators (not letters or digits) between them."""
    return re.compile(r"[^0-9A-Za-z]{0,2}".join(national_number))


def unkeyed_digests(national_number: str) -> set[str]:
    """Plain digests of an 11-digit number are reversed by trying them all: never a safe form."""
    data = national_number.encode()
    return {hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256", "sha512")}


def _b64url(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def views(value: str) -> Iterator[str]:
    """A stored text and what it decodes to: each base64url segment (a JWT's header and claims)."""
    yield value
    for segment in {value, *value.split(".")}:
        if len(segment) >= 8 and (decoded := _b64url(segment)) is not None:
            yield decoded.decode("utf-8", "replace")


def strings_in(value: Any) -> Iterator[str]:
    """Every text inside a stored value (JSON documents walked, numbers and times as text)."""
    if value is None:
        return
    if isinstance(value, (bytes, bytearray, memoryview)):
        yield bytes(value).decode("utf-8", "replace")
    elif isinstance(value, dict):
        yield json.dumps(value)
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        yield json.dumps(value, default=str)
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value
        if value[:1] in "[{":
            try:
                yield from strings_in(json.loads(value))
            except ValueError:
                pass
    elif isinstance(value, (dt.datetime, dt.date)):
        yield value.isoformat()
    else:
        yield str(value)


async def every_stored_value(database_url: str) -> dict[tuple[str, str], list[Any]]:
    """(table, column) -> values, for every table in the database, the Alembic table included."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            found: dict[tuple[str, str], list[Any]] = {}
            for table in metadata.tables.values():  # (order does not matter; FK cycles make sorting warn)
                rows = (await connection.execute(select(table))).mappings().all()
                for column in table.columns:
                    found[(table.name, column.name)] = [row[column.name] for row in rows]
    finally:
        await engine.dispose()
    return found


async def _sign_in_every_way(browser: httpx.AsyncClient, op: OidcProvider) -> dict[str, Any]:  # noqa: F811
    """A browser sign-in, a bearer sign-in with the provider's tokens, a sign-in left half done,
    and a service client: what leaves traces in the database after people sign in."""
    callback = await sign_in(browser, "niss-1")
    assert callback.status_code == 303, callback.text
    cookie = browser.cookies.get(SESSION_COOKIE)
    assert cookie and (await browser.get(f"{EAM}/v1/me")).status_code == 200
    with httpx.Client(timeout=30) as provider_browser:  # Dirk, signed in at the provider by another client
        tokens = await asyncio.to_thread(code_flow_tokens, op, provider_browser, "niss-2", resource=EAM_API_RESOURCE)
    for name in ("id_token", "access_token"):  # the access token: a JWT for urn:eam:api (RFC 9068)
        me = await browser.get(f"{EAM}/v1/me", headers={"Authorization": f"Bearer {tokens[name]}"})
        assert me.status_code == 200 and me.json()["display_name"] == "Dirk Janssens", me.text
    started = await browser.get(f"{EAM}/auth/login")  # a sign-in left at the provider's login page
    assert started.status_code == 302
    authorization = httpx.URL(started.headers["location"]).params
    client = await browser.post(
        f"{EAM}/v1/service-clients", json={"name": "portal", "audiences": ["healthstat"]}, headers=auth("admin")
    )
    assert client.status_code == 201, client.text
    # people registered before they sign in: by a CSV import (its receipt kept) and by hand
    org = await browser.post(f"{EAM}/v1/organisations", json={"name": "AZ Groeninge", "nihdi": "71000535"}, headers=auth("admin"))
    assert org.status_code == 201, org.text
    imported = await browser.post(
        f"{EAM}/v1/imports",
        content=f"first_name;last_name;email;ssin;org_nihdi;role\r\nLies;Maes;lies@groeninge.be;{IMPORTED_NN};71000535;default\r\n".encode(),
        headers={**auth("admin"), "Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    registered = await browser.post(
        f"{EAM}/v1/organisations/{org.json()['id']}/people",
        json={"national_number": "72.01.01-123.08", "display_name": "Piet Claes", "email": "piet@groeninge.be"},
        headers=auth("admin"),
    )
    assert registered.status_code == 201, registered.text
    return {
        "cookie": cookie,
        "provider_tokens": [tokens["id_token"], tokens["access_token"]],
        "sign_in_secrets": [authorization["state"], authorization["nonce"]],
        "client_secret": client.json()["client_secret"],
    }


async def test_after_a_real_sign_in_no_stored_value_holds_a_national_number_or_works_as_a_credential(
    browser: httpx.AsyncClient, provider: OidcProvider, database_url: str  # noqa: F811
) -> None:
    app: Litestar = browser.app  # type: ignore[attr-defined]
    secrets = await _sign_in_every_way(browser, provider)
    stored = await every_stored_value(database_url)
    assert ("browser_sessions", "token_hash") in stored and ("users", "national_number_hash") in stored
    assert len(stored[("browser_sessions", "token_hash")]) == 1 and len(stored[("login_attempts", "provider")]) == 1

    # 1. No national number, in any format, decoded or not; no unkeyed digest of one.
    for national_number in (CAROL_NN, DIRK_NN, IMPORTED_NN, REGISTERED_NN):
        patterns = [digit_pattern(national_number), *(re.compile(re.escape(f)) for f in formats(national_number))]
        digests = unkeyed_digests(national_number)
        for (table, column), values in stored.items():
            for value in values:
                for text_value in strings_in(value):
                    assert text_value.lower() not in digests, f"{table}.{column} holds an unkeyed digest of a national number"
                    for view in views(text_value):
                        assert not any(p.search(view) for p in patterns), f"{table}.{column} holds a national number: {view[:200]!r}"
    keyed = {national_number_hash(DEV_NATIONAL_NUMBER_KEY, n) for n in (CAROL_NN, DIRK_NN, IMPORTED_NN, REGISTERED_NN)}
    assert keyed <= set(stored[("users", "national_number_hash")]), "the keyed hash is what stands for them"

    # 2. No secret that was handed out is stored as such, nor anything that contains one.
    handed_out = [secrets["cookie"], *secrets["provider_tokens"], *secrets["sign_in_secrets"], secrets["client_secret"]]
    every_text = {view for values in stored.values() for value in values for s in strings_in(value) for view in views(s)}
    for secret in handed_out:
        assert not any(secret in view for view in every_text), f"a credential handed out is stored: {secret[:12]}…"

    # 3. Replayed as a bearer token or as the session cookie, every stored value is refused.
    candidates = sorted({s for values in stored.values() for value in values for s in strings_in(value) if s})
    assert len(candidates) > 50, "the database holds what the sign-ins wrote"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=EAM, timeout=30) as fresh:
        assert (await fresh.get("/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={secrets['cookie']}"})).status_code == 200
        assert (await fresh.get("/v1/me", headers={"Authorization": f"Bearer {secrets['provider_tokens'][0]}"})).status_code == 200
        accepted = []
        for candidate in candidates:
            if not candidate.isprintable() or not candidate.isascii() or candidate != candidate.strip():
                continue  # no client can send it in a header
            as_bearer = await fresh.get("/v1/me", headers={"Authorization": f"Bearer {candidate}"})
            as_cookie = await fresh.get("/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={candidate}"})
            for how, response in (("bearer", as_bearer), ("cookie", as_cookie)):
                if response.status_code != 401:
                    accepted.append((how, response.status_code, candidate[:80]))
        assert accepted == [], accepted


# --- the data migration ----------------------------------------------------------------------------


def test_migration_0007_drops_stored_id_tokens_and_clear_sign_in_secrets(empty_database: str) -> None:
    upgrade(empty_database, "0006")
    now, user_id = dt.datetime.now(dt.UTC), uuid.uuid4()
    user_key: Any = user_id.hex if empty_database.startswith("sqlite") else user_id  # how each stores a Uuid
    id_token = "eyJhbGciOiJFUzI1NiJ9." + base64.urlsafe_b64encode(json.dumps({"national_number": CAROL_NN}).encode()).decode().rstrip("=") + ".sig"
    asyncio.run(_sql(
        empty_database,
        "INSERT INTO users (id, issuer, subject, display_name, created_at, updated_at) VALUES (:id, 'https://idp', 'niss-1', 'Carol', :now, :now)",
        id=user_key, now=now,
    ))
    asyncio.run(_sql(
        empty_database,
        "INSERT INTO browser_sessions (token_hash, user_id, provider, id_token, created_at, expires_at)"
        " VALUES (:hash, :id, 'national', :id_token, :now, :now)",
        hash="a" * 64, id=user_key, id_token=id_token, now=now,
    ))
    asyncio.run(_sql(
        empty_database,
        "INSERT INTO login_attempts (state, provider, nonce, code_verifier, return_to, created_at, expires_at)"
        " VALUES ('state-in-clear', 'national', 'nonce-in-clear', :verifier, '/v1/me', :now, :now)",
        verifier="v" * 64, now=now,
    ))
    upgrade(empty_database)
    sessions = asyncio.run(_sql(empty_database, "SELECT * FROM browser_sessions"))
    assert len(sessions) == 1 and id_token not in [str(value) for value in sessions[0]], "the session stays, its ID token goes"
    assert asyncio.run(_sql(empty_database, "SELECT count(*) FROM login_attempts")) == [(0,)]
    engine_columns = asyncio.run(_columns(empty_database))
    assert engine_columns["browser_sessions"] == {"token_hash", "user_id", "provider", "created_at", "expires_at"}
    assert engine_columns["login_attempts"] == {"state_hash", "provider", "sealed", "return_to", "created_at", "expires_at"}


async def _columns(url: str) -> dict[str, set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
    finally:
        await engine.dispose()
    return {name: {column.name for column in table.columns} for name, table in metadata.tables.items()}


@pytest.mark.parametrize("national_number", [CAROL_NN])
def test_the_search_for_national_numbers_can_fail(national_number: str) -> None:
    """The checks above find what they look for: a JWT's claims, a formatted number, a digest."""
    claims = base64.urlsafe_b64encode(json.dumps({"national_number": national_number}).encode()).decode().rstrip("=")
    token = f"eyJhbGciOiJFUzI1NiJ9.{claims}.c2ln"
    found = [view for view in views(token) if digit_pattern(national_number).search(view)]
    assert found, "a JWT's claims are decoded and searched"
    assert all(digit_pattern(national_number).search(f) for f in formats(national_number))
    assert hashlib.sha256(national_number.encode()).hexdigest() in unkeyed_digests(national_number)
    assert not digit_pattern(national_number).search(national_number_hash(DEV_NATIONAL_NUMBER_KEY, national_number))
