"""Authentication: bearer tokens, user creation, national-number hashing, production settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from cryptography.fernet import Fernet
from litestar import Litestar
from sqlalchemy import func, select, text

from eam.app import create_app
from eam.auth.dev_tokens import (
    DEV_AUDIENCE,
    DEV_ISSUER,
    DEV_TOKEN_TYPE,
    issue_dev_token,
)
from eam.auth.identity import national_number_hash
from eam.core.settings import (
    DEV_NATIONAL_NUMBER_KEY,
    DEV_TOKEN_SECRET,
    Settings,
    SettingsError,
)
from eam.users.models import User
from tests.conftest import Api, Clock, serve_in_process

NATIONAL_NUMBER = "85.07.30-033.28"
DIGITS = "85073003328"


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    body = response.json()
    assert body["type"] == "urn:eam:problem:unauthenticated"
    assert body["status"] == 401
    assert body["title"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    return {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "mallory", "iat": now, "exp": now + 600, **overrides}


async def user_rows(app: Litestar, subject: str | None = None) -> list[User]:
    async with app.state.sessionmaker() as session:
        stmt = select(User)
        if subject is not None:
            stmt = stmt.where(User.subject == subject)
        return list(await session.scalars(stmt))


async def test_no_authorization_header_is_401_with_www_authenticate(api: Api) -> None:
    assert_unauthenticated(await api.get("/v1/me", None))
    assert_unauthenticated(await api.post("/v1/organisations", None, json={"name": "X", "nihdi": "71000436"}))


async def test_non_bearer_scheme_is_401(api: Api) -> None:
    good = issue_dev_token(DEV_TOKEN_SECRET, "mallory", ttl_seconds=600, now=dt.datetime.now(dt.UTC))
    for header in (f"Basic {good}", "Basic bWFsbG9yeTpzZWNyZXQ=", f"Token {good}", good, "Bearer", "Bearer    "):
        assert_unauthenticated(await api.get("/v1/me", None, headers={"Authorization": header}))


async def test_garbage_token_is_401(api: Api, app: Litestar) -> None:
    for garbage in ("garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 5000):
        assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(garbage)))
    assert await user_rows(app) == []


async def test_token_signed_with_another_secret_is_401(api: Api, app: Litestar) -> None:
    forged = issue_dev_token("another-secret-that-is-long-enough-000000", "mallory", ttl_seconds=600, now=dt.datetime.now(dt.UTC))
    assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(forged)))
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"typ": DEV_TOKEN_TYPE})
    assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(unsigned)))
    assert await user_rows(app, "mallory") == []


async def test_expired_token_is_401(api: Api, app: Litestar) -> None:
    expired = issue_dev_token(
        DEV_TOKEN_SECRET, "mallory", ttl_seconds=600, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    )
    response = await api.get("/v1/me", None, headers=bearer(expired))
    assert_unauthenticated(response)
    assert "expired" in response.json()["detail"]
    assert await user_rows(app, "mallory") == []


async def test_token_from_an_untrusted_issuer_is_401(api: Api, app: Litestar) -> None:
    foreign = jwt.encode(claims(iss="https://idp.example.org"), DEV_TOKEN_SECRET, algorithm="HS256", headers={"typ": DEV_TOKEN_TYPE})
    response = await api.get("/v1/me", None, headers=bearer(foreign))
    assert_unauthenticated(response)
    assert "issuer" in response.json()["detail"]
    no_issuer = jwt.encode({k: v for k, v in claims().items() if k != "iss"}, DEV_TOKEN_SECRET, algorithm="HS256", headers={"typ": DEV_TOKEN_TYPE})
    assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(no_issuer)))
    # right issuer and secret, but not marked as a development token
    untyped = jwt.encode(claims(), DEV_TOKEN_SECRET, algorithm="HS256")
    assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(untyped)))
    wrong_audience = jwt.encode(claims(aud="urn:other:api"), DEV_TOKEN_SECRET, algorithm="HS256", headers={"typ": DEV_TOKEN_TYPE})
    assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(wrong_audience)))
    assert await user_rows(app, "mallory") == []


async def test_token_with_a_nul_character_in_a_claim_is_401_not_a_server_error(api: Api, app: Litestar) -> None:
    now = dt.datetime.now(dt.UTC)
    for token in (
        issue_dev_token(DEV_TOKEN_SECRET, "mallory\u0000", ttl_seconds=600, now=now),
        issue_dev_token(DEV_TOKEN_SECRET, "mallory", ttl_seconds=600, now=now, name="Mal\u0000lory"),
        issue_dev_token(DEV_TOKEN_SECRET, "mallory", ttl_seconds=600, now=now, email="mal\u0000@example.be"),
    ):
        assert_unauthenticated(await api.get("/v1/me", None, headers=bearer(token)))
    assert await user_rows(app) == []


async def test_first_authentication_creates_the_user_and_later_ones_reuse_it(api: Api, app: Litestar) -> None:
    assert await user_rows(app, "erin") == []
    first = await api.get("/v1/me", "erin")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["issuer"], body["subject"], body["display_name"]) == (DEV_ISSUER, "erin", "erin")
    assert body["platform_admin"] is False
    second = await api.get("/v1/me", "erin")
    assert second.json()["id"] == body["id"]
    rows = await user_rows(app, "erin")
    assert [str(row.id) for row in rows] == [body["id"]]


async def test_national_number_is_stored_only_as_a_keyed_hash(api: Api, app: Litestar, settings: Settings) -> None:
    response = await api.get("/v1/me", None, headers=bearer(issue_dev_token(
        DEV_TOKEN_SECRET, "erin", ttl_seconds=600, now=dt.datetime.now(dt.UTC), national_number=NATIONAL_NUMBER
    )))
    assert response.status_code == 200, response.text
    assert NATIONAL_NUMBER not in response.text and DIGITS not in response.text
    [user] = await user_rows(app, "erin")
    assert user.national_number_hash == national_number_hash(settings.national_number_key, NATIONAL_NUMBER)
    assert user.national_number_hash == national_number_hash(settings.national_number_key, DIGITS)
    unkeyed = {hashlib.sha256(value.encode()).hexdigest() for value in (NATIONAL_NUMBER, DIGITS)}
    assert user.national_number_hash not in unkeyed
    assert user.national_number_hash != national_number_hash("another-key", DIGITS)
    async with app.state.sessionmaker() as session:
        raw = (await session.execute(text("SELECT * FROM users WHERE subject = 'erin'"))).mappings().one()
    for column, value in raw.items():
        if value is None:
            continue
        stored = str(value)
        assert DIGITS not in stored and NATIONAL_NUMBER not in stored, column
        assert stored not in unkeyed, column


async def test_patch_me_sets_the_email_and_refuses_a_bad_one(api: Api) -> None:
    response = await api.patch("/v1/me", "carol", json={"email": "c.peeters@azsintjan.be"})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "c.peeters@azsintjan.be"
    assert (await api.get("/v1/me", "carol")).json()["email"] == "c.peeters@azsintjan.be"
    for bad in ("not-an-email", "two@@example.be", "spaces in@example.be", "", 42):
        refused = await api.patch("/v1/me", "carol", json={"email": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["errors"][0]["field"] == "$.email"
    assert (await api.get("/v1/me", "carol")).json()["email"] == "c.peeters@azsintjan.be"


PRODUCTION_PROVIDERS = '[{"name": "national", "issuer": "https://idp.example.org", "client_id": "eam", "client_secret": "s3cret"}]'


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "EAM_ENV": "production",
        "EAM_DATABASE_URL": database_url,
        "EAM_NATIONAL_NUMBER_KEY": secrets.token_urlsafe(48),
        "EAM_PLATFORM_ADMINS": "https://idp.example.org#admin",
        "EAM_OIDC_PROVIDERS": PRODUCTION_PROVIDERS,
        "EAM_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "EAM_ISSUER": "https://eam.example.org",
        **extra,
    }


def test_production_refuses_to_start_with_a_dev_token_secret(database_url: str) -> None:
    for secret in (DEV_TOKEN_SECRET, secrets.token_urlsafe(48)):
        with pytest.raises(SettingsError, match="EAM_DEV_TOKEN_SECRET"):
            Settings.from_env(production_env(database_url, EAM_DEV_TOKEN_SECRET=secret))


def test_production_refuses_to_start_without_a_national_number_key(database_url: str) -> None:
    env = production_env(database_url)
    del env["EAM_NATIONAL_NUMBER_KEY"]
    with pytest.raises(SettingsError, match="EAM_NATIONAL_NUMBER_KEY"):
        Settings.from_env(env)


def test_production_refuses_to_start_with_the_development_national_number_key(database_url: str) -> None:
    with pytest.raises(SettingsError, match="EAM_NATIONAL_NUMBER_KEY"):
        Settings.from_env(production_env(database_url, EAM_NATIONAL_NUMBER_KEY=DEV_NATIONAL_NUMBER_KEY))
    with pytest.raises(SettingsError, match="EAM_NATIONAL_NUMBER_KEY"):
        Settings.from_env(production_env(database_url, EAM_NATIONAL_NUMBER_KEY="short"))


async def test_production_app_accepts_no_dev_token(database_url: str, clock: Clock) -> None:
    settings = Settings.from_env(production_env(database_url))
    assert settings.is_production and settings.dev_token_secret is None
    token = issue_dev_token(DEV_TOKEN_SECRET, "admin", ttl_seconds=600, now=dt.datetime.now(dt.UTC))
    app = create_app(settings, clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        assert_unauthenticated(await http.get("/v1/me", headers=bearer(token)))
        assert_unauthenticated(await http.post("/v1/organisations", headers=bearer(token), json={"name": "X", "nihdi": "71000436"}))
        async with app.state.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(User)) == 0
    # even a production Settings built by hand with a dev secret installs no dev-token source
    by_hand = msgspec.structs.replace(settings, dev_token_secret=DEV_TOKEN_SECRET)
    app = create_app(by_hand, clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        assert_unauthenticated(await http.get("/v1/me", headers=bearer(token)))


async def test_request_id_is_echoed_and_generated_when_absent(api: Api) -> None:
    sent = await api.get("/v1/me", "carol", headers={"X-Request-ID": "trace-42.a:b_c"})
    assert sent.headers["x-request-id"] == "trace-42.a:b_c"
    on_error = await api.get("/v1/me", None, headers={"X-Request-ID": "trace-401"})
    assert on_error.status_code == 401
    assert on_error.headers["x-request-id"] == "trace-401"
    generated = [(await api.get("/v1/me", "carol")).headers["x-request-id"] for _ in range(2)]
    assert all(uuid.UUID(value) for value in generated)
    assert generated[0] != generated[1]
    for insane in ("has spaces", "x" * 129, "semi;colon", "new\\nline"):
        replaced = await api.get("/v1/me", "carol", headers={"X-Request-ID": insane})
        assert replaced.headers["x-request-id"] != insane
        assert uuid.UUID(replaced.headers["x-request-id"])
