"""Service clients: registered by platform admins, secret shown once and stored hashed, rotated,
disabled; authenticated at the OAuth endpoints. Also the ``eam clients`` and ``eam keys`` commands."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from sqlalchemy import select

from eam.core.database import transaction
from eam.service_clients.models import ServiceClient
from tests.conftest import Api, Clock, assert_problem, error_fields


async def create(
    api: Api, client_id: str | None = "healthstat-prod", audiences: list[str] | None = None, user: str = "admin"
) -> Any:
    body: dict[str, Any] = {"name": "healthstat production", "audiences": audiences or ["healthstat"]}
    if client_id is not None:
        body["client_id"] = client_id
    return await api.post("/v1/service-clients", user, json=body)


async def created(api: Api, client_id: str = "healthstat-prod", **kwargs: Any) -> tuple[dict[str, Any], str]:
    response = await create(api, client_id, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()["client"], response.json()["client_secret"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 section 2.3.1: form-urlencode each part, then base64 ``id:secret``."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


async def introspect(api: Api, client_id: str, secret: str) -> Any:
    return await api.post("/oauth2/introspect", None, data={"token": "not-a-grant-token"}, headers=basic(client_id, secret))


async def assert_authenticates(api: Api, client_id: str, secret: str) -> None:
    response = await introspect(api, client_id, secret)
    assert response.status_code == 200, response.text
    assert response.json() == {"active": False}


async def assert_refused(api: Api, client_id: str, secret: str) -> None:
    response = await introspect(api, client_id, secret)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def stored(app: Litestar, client_id: str) -> ServiceClient | None:
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        return await session.scalar(select(ServiceClient).where(ServiceClient.client_id == client_id))


async def audit_actions(api: Api, target_id: str) -> list[str]:
    response = await api.get("/v1/audit-events", params={"target_id": target_id})
    assert response.status_code == 200, response.text
    return [event["action"] for event in response.json()["items"]]


async def test_admin_creates_a_client_and_sees_its_secret_only_once(app: Litestar, api: Api) -> None:
    response = await create(api, audiences=["healthstat", "hd4dp2", "healthstat"])
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body["client_secret"]
    assert isinstance(secret, str) and len(secret) >= 43  # 256 random bits
    client = body["client"]
    assert client["client_id"] == "healthstat-prod"
    assert client["name"] == "healthstat production"
    assert client["audiences"] == ["hd4dp2", "healthstat"]
    assert client["status"] == "active"
    assert "client_secret" not in client and "secret_hash" not in client

    shown = await api.get("/v1/service-clients/healthstat-prod")
    assert shown.status_code == 200, shown.text
    assert shown.json() == client
    listed = await api.get("/v1/service-clients")
    assert listed.json()["items"] == [client]
    for text in (shown.text, listed.text):
        assert secret not in text and "secret_hash" not in text

    row = await stored(app, "healthstat-prod")
    assert row is not None
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", row.secret_hash)
    assert all(secret not in str(getattr(row, column.key)) for column in ServiceClient.__table__.columns)

    await assert_authenticates(api, "healthstat-prod", secret)


async def test_each_client_gets_its_own_secret_and_a_generated_id_when_none_is_given(api: Api) -> None:
    first, first_secret = await created(api, None)
    second, second_secret = await created(api, None)
    assert re.fullmatch(r"client-[0-9a-f]{16}", first["client_id"])
    assert first["client_id"] != second["client_id"]
    assert first_secret != second_secret
    await assert_authenticates(api, first["client_id"], first_secret)
    await assert_refused(api, first["client_id"], second_secret)


async def test_a_duplicate_client_id_is_a_conflict_and_keeps_the_first_secret(api: Api) -> None:
    _, secret = await created(api)
    response = await create(api, audiences=["hd4dp2"])
    body = assert_problem(response, 409, "already-exists")
    assert body["existing"] == "/v1/service-clients/healthstat-prod"
    assert (await api.get("/v1/service-clients/healthstat-prod")).json()["audiences"] == ["healthstat"]
    await assert_authenticates(api, "healthstat-prod", secret)


@pytest.mark.parametrize(
    ("audiences", "field"),
    [(["nonexistent"], "$.audiences[0]"), (["healthstat", "nonexistent"], "$.audiences[1]")],
)
async def test_an_unknown_audience_is_a_validation_problem(api: Api, audiences: list[str], field: str) -> None:
    response = await create(api, audiences=audiences)
    body = assert_problem(response, 422, "validation-error")
    assert error_fields(response) == {field}
    assert "healthstat" in body["errors"][0]["message"]  # names the applications that exist
    assert_problem(await api.get("/v1/service-clients/healthstat-prod"), 404, "not-found")


@pytest.mark.parametrize("client_id", ["HealthStat", "ab", "-healthstat", "health stat", "health/stat", "x" * 65, ""])
async def test_a_client_id_outside_the_pattern_is_refused(api: Api, client_id: str) -> None:
    response = await create(api, client_id)
    assert_problem(response, 422, "validation-error")
    assert "$.client_id" in error_fields(response)
    assert (await api.get("/v1/service-clients")).json()["items"] == []


async def test_other_body_problems_are_listed_by_field(api: Api) -> None:
    response = await api.post("/v1/service-clients", json={"name": "", "audiences": "healthstat", "secret": "mine"})
    assert_problem(response, 422, "validation-error")
    assert {"$.name", "$.audiences", "$.secret"} <= error_fields(response)


async def test_employees_cannot_see_or_manage_service_clients(api: Api) -> None:
    _, secret = await created(api)
    assert_problem(await create(api, "carol-client", user="carol"), 403, "forbidden")
    assert_problem(await api.get("/v1/service-clients", "carol"), 403, "forbidden")
    assert_problem(await api.get("/v1/service-clients/healthstat-prod", "carol"), 403, "forbidden")
    assert_problem(await api.post("/v1/service-clients/healthstat-prod/rotate-secret", "carol"), 403, "forbidden")
    assert_problem(await api.post("/v1/service-clients/healthstat-prod/disable", "carol"), 403, "forbidden")
    listed = (await api.get("/v1/service-clients")).json()["items"]
    assert [(c["client_id"], c["status"]) for c in listed] == [("healthstat-prod", "active")]
    await assert_authenticates(api, "healthstat-prod", secret)


async def test_the_client_list_is_paginated(api: Api) -> None:
    secrets = [(await created(api, client_id))[1] for client_id in ("zeta-client", "alpha-client", "mid-client")]
    first = await api.get("/v1/service-clients", params={"limit": 2})
    assert first.status_code == 200, first.text
    assert [c["client_id"] for c in first.json()["items"]] == ["alpha-client", "mid-client"]
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await api.get("/v1/service-clients", params={"limit": 2, "cursor": cursor})
    assert [c["client_id"] for c in second.json()["items"]] == ["zeta-client"]
    assert second.json()["next_cursor"] is None
    assert not any(secret in first.text + second.text for secret in secrets)
    assert_problem(await api.get("/v1/service-clients", params={"limit": 0}), 422, "validation-error")
    assert_problem(await api.get("/v1/service-clients", params={"cursor": "bm90LWEtY3Vyc29y"}), 422, "validation-error")


async def test_rotating_the_secret_stops_the_old_one_at_once(app: Litestar, api: Api, clock: Clock) -> None:
    client, old_secret = await created(api)
    clock.advance(seconds=60)
    response = await api.post("/v1/service-clients/healthstat-prod/rotate-secret")
    assert response.status_code == 200, response.text
    new_secret = response.json()["client_secret"]
    assert new_secret != old_secret
    rotated = response.json()["client"]
    assert rotated["secret_created_at"] != client["secret_created_at"]
    assert rotated["created_at"] == client["created_at"]
    assert (await api.get("/v1/service-clients/healthstat-prod")).json() == rotated

    await assert_refused(api, "healthstat-prod", old_secret)
    await assert_authenticates(api, "healthstat-prod", new_secret)
    row = await stored(app, "healthstat-prod")
    assert row is not None and row.secret_hash == hashlib.sha256(new_secret.encode()).hexdigest()


async def test_client_secret_post_authenticates_too(api: Api) -> None:
    _, secret = await created(api)
    ok = await api.post(
        "/oauth2/introspect", None, data={"token": "x", "client_id": "healthstat-prod", "client_secret": secret}
    )
    assert ok.status_code == 200, ok.text
    wrong = await api.post(
        "/oauth2/introspect", None, data={"token": "x", "client_id": "healthstat-prod", "client_secret": secret + "x"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


async def test_an_unknown_client_or_a_wrong_secret_is_refused(api: Api) -> None:
    _, secret = await created(api)
    await assert_refused(api, "healthstat-prod", "")
    await assert_refused(api, "healthstat-prod", secret[:-1])
    await assert_refused(api, "nobody", secret)
    await assert_refused(api, "healthstat-prod-extra", secret)


async def test_a_longer_id_does_not_authenticate_as_the_client_it_starts_with(api: Api) -> None:
    client_id = "a" * 64
    _, secret = await created(api, client_id)
    await assert_authenticates(api, client_id, secret)
    await assert_refused(api, client_id + "b", secret)


async def test_a_disabled_client_cannot_authenticate_and_disabling_again_conflicts(api: Api) -> None:
    client, secret = await created(api)
    response = await api.post("/v1/service-clients/healthstat-prod/disable")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "disabled"
    assert response.json()["client_id"] == client["client_id"]
    assert (await api.get("/v1/service-clients/healthstat-prod")).json()["status"] == "disabled"

    assert_problem(await api.post("/v1/service-clients/healthstat-prod/disable"), 409, "conflict")
    await assert_refused(api, "healthstat-prod", secret)
    assert_problem(await api.post("/v1/service-clients/healthstat-prod/rotate-secret"), 409, "conflict")
    await assert_refused(api, "healthstat-prod", secret)


async def test_an_unknown_client_is_not_found(api: Api) -> None:
    assert_problem(await api.get("/v1/service-clients/nobody"), 404, "not-found")
    assert_problem(await api.post("/v1/service-clients/nobody/rotate-secret"), 404, "not-found")
    assert_problem(await api.post("/v1/service-clients/nobody/disable"), 404, "not-found")


async def test_every_change_is_audited_without_the_secret(api: Api) -> None:
    _, first_secret = await created(api)
    rotated = await api.post("/v1/service-clients/healthstat-prod/rotate-secret")
    second_secret = rotated.json()["client_secret"]
    assert (await api.post("/v1/service-clients/healthstat-prod/disable")).status_code == 200
    assert await audit_actions(api, "healthstat-prod") == [
        "service_client.disabled",
        "service_client.secret_rotated",
        "service_client.created",
    ]
    events = await api.get("/v1/audit-events", params={"target_id": "healthstat-prod"})
    text = events.text
    for secret in (first_secret, second_secret):
        assert secret not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text
    by_action = {event["action"]: event for event in events.json()["items"]}
    assert by_action["service_client.created"]["after"]["audiences"] == ["healthstat"]
    assert by_action["service_client.created"]["actor"].endswith("<admin>")
    assert by_action["service_client.disabled"]["before"]["status"] == "active"
    assert by_action["service_client.disabled"]["after"]["status"] == "disabled"


# --- the eam command -----------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file, and an environment with no EAM_ settings but its URL."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
    environment["EAM_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    eam("migrate", env=environment)
    return environment


def eam(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "eam", *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def database_rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    path = env["EAM_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def test_cli_creates_a_client_and_rotates_its_secret(cli_env: dict[str, str]) -> None:
    result = eam("clients", "create", "--name", "healthstat production", "--audience", "healthstat", "--client-id", "x-prod", env=cli_env)
    printed = json.loads(result.stdout)
    assert printed["client_id"] == "x-prod"
    assert printed["audiences"] == ["healthstat"]
    first = printed["client_secret"]
    assert len(first) >= 43
    assert "shown once" in result.stderr
    assert database_rows(cli_env, "SELECT secret_hash, status FROM service_clients WHERE client_id = 'x-prod'") == [
        (hashlib.sha256(first.encode()).hexdigest(), "active")
    ]

    rotated = json.loads(eam("clients", "rotate-secret", "x-prod", env=cli_env).stdout)
    second = rotated["client_secret"]
    assert rotated["client_id"] == "x-prod" and second != first
    assert database_rows(cli_env, "SELECT secret_hash FROM service_clients WHERE client_id = 'x-prod'") == [
        (hashlib.sha256(second.encode()).hexdigest(),)
    ]

    eam("clients", "disable", "x-prod", env=cli_env)
    again = eam("clients", "disable", "x-prod", env=cli_env, check=False)
    assert again.returncode != 0
    assert "disabled already" in again.stderr and "Traceback" not in again.stderr

    events = database_rows(cli_env, "SELECT action, actor FROM audit_events WHERE target_id = 'x-prod' ORDER BY id")
    assert [action for action, _ in events] == [
        "service_client.created",
        "service_client.secret_rotated",
        "service_client.disabled",
    ]
    assert all(actor.startswith("system:cli:") for _, actor in events)
    everything = json.dumps(database_rows(cli_env, "SELECT * FROM audit_events"), default=str)
    assert first not in everything and second not in everything


def test_cli_refuses_an_unknown_audience_or_a_bad_client_id(cli_env: dict[str, str]) -> None:
    unknown = eam("clients", "create", "--name", "X", "--audience", "nonexistent", "--client-id", "x-prod", env=cli_env, check=False)
    assert unknown.returncode != 0
    assert unknown.stdout == ""
    assert "nonexistent" in unknown.stderr and "application" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    bad_id = eam("clients", "create", "--name", "X", "--audience", "healthstat", "--client-id", "X Prod", env=cli_env, check=False)
    assert bad_id.returncode != 0
    assert "client_id" in bad_id.stderr and "Traceback" not in bad_id.stderr

    missing = eam("clients", "rotate-secret", "nobody", env=cli_env, check=False)
    assert missing.returncode != 0 and "nobody" in missing.stderr and "Traceback" not in missing.stderr
    assert database_rows(cli_env, "SELECT count(*) FROM service_clients") == [(0,)]


def test_cli_rotates_and_lists_signing_keys(cli_env: dict[str, str]) -> None:
    assert eam("keys", "list", env=cli_env).stdout == ""
    line = re.compile(r"new current key ([A-Za-z0-9_-]{43}) \(ES256\)")
    first = line.fullmatch(eam("keys", "rotate", env=cli_env).stdout.strip())
    second = line.fullmatch(eam("keys", "rotate", env=cli_env).stdout.strip())
    assert first and second and first[1] != second[1]

    listed = eam("keys", "list", env=cli_env).stdout.strip().splitlines()
    assert len(listed) == 2
    assert listed[0].split() == [second[1], "ES256", "current"]
    assert listed[1].split()[:3] == [first[1], "ES256", "previous"]
    assert listed[1].split()[3] == "until"
    assert database_rows(cli_env, "SELECT status, count(*) FROM signing_keys GROUP BY status ORDER BY status") == [
        ("current", 1),
        ("previous", 1),
    ]
