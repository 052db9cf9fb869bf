"""No SQL parameter and no stored secret in any log line, at any level (review finding).

A real ``eam serve`` runs with ``EAM_LOG_LEVEL=DEBUG`` on SQLite and PostgreSQL; requests write
every kind of secret EAM stores (a service client's secret digest, a person's e-mail and
national-number hash, an encrypted signing key), fail a commit on a unique constraint, and use
the client credentials. Then the values as stored in the database are read back and none of
them, nor the secrets as sent, may appear in the server's stderr.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from eam.core.settings import SHIPPED_POLICIES_DIR
from tests.conftest import free_port, reset_postgres, token, wait_until_serving
from tests.test_operations import EamServe

NATIONAL_NUMBER = "85073003328"


async def stored_secrets(url: str) -> set[str]:
    """Every secret value as stored: e-mails, national-number hashes, secret digests, encrypted keys."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            values = [
                *(await connection.scalars(text("SELECT email FROM users"))),
                *(await connection.scalars(text("SELECT national_number_hash FROM users"))),
                *(await connection.scalars(text("SELECT secret_hash FROM service_clients"))),
                *(await connection.scalars(text("SELECT private_key_encrypted FROM signing_keys"))),
            ]
    finally:
        await engine.dispose()
    return {value for value in values if value}


class LoggedEamServe(EamServe):
    """``eam serve`` with stderr to a file: DEBUG output would fill a pipe and stall the server."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        environ = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
        environ.update(EAM_POLICIES_DIR=str(SHIPPED_POLICIES_DIR), **env)
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = tmp_path / "stderr.log"
        command = [sys.executable, "-m", "eam", "serve", "--port", self.base.rsplit(":", 1)[1]]
        with self.log.open("w") as stderr:
            self.process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        wait_until_serving(self.process, f"{self.base}/health/ready")

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text()


@pytest.fixture(params=["sqlite", "postgresql"])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}"
    url = request.getfixturevalue("postgres_database")
    asyncio.run(reset_postgres(url))
    return url


def test_debug_logs_of_a_real_server_hold_no_sql_parameter_or_secret(tmp_path: Path, server_database: str) -> None:
    email = f"carol.{uuid.uuid4().hex[:8]}@example.org"
    carol = token("carol", email=email, national_number=NATIONAL_NUMBER)
    server = LoggedEamServe(tmp_path, EAM_LOG_LEVEL="DEBUG", EAM_DATABASE_URL=server_database)
    try:
        assert server.call("GET", "/v1/me", headers={"Authorization": f"Bearer {carol}"}).status_code == 200
        created = server.call("POST", "/v1/service-clients", "admin", json={"name": "hs", "client_id": "hs-prod", "audiences": ["healthstat"]})
        assert created.status_code == 201, created.text
        secret = created.json()["client_secret"]
        # A unique constraint refusing a row: the driver's message would quote the values.
        again = server.call("POST", "/v1/service-clients", "admin", json={"name": "hs", "client_id": "hs-prod", "audiences": ["healthstat"]})
        assert again.status_code == 409, again.text
        basic = base64.b64encode(f"hs-prod:{secret}".encode()).decode()
        issued = server.call("POST", "/oauth2/token", headers={"Authorization": f"Basic {basic}"}, data={"grant_type": "client_credentials"})
        assert issued.status_code == 200, issued.text
        assert server.call("POST", "/v1/signing-keys/rotate", "admin").status_code == 200
    finally:
        stderr = server.stop()
    # SQL statements were logged (DEBUG is in force), their parameters hidden.
    assert "SQL parameters hidden due to hide_parameters=True" in stderr
    secrets = asyncio.run(stored_secrets(server_database))
    assert len(secrets) >= 5, secrets  # e-mail, national-number hash, secret digest, two encrypted keys
    for leaked in (*secrets, secret, email, NATIONAL_NUMBER, issued.json()["access_token"]):
        assert leaked not in stderr, f"{leaked[:12]}… is in the log"
    # No bound parameters at all: neither SQLAlchemy's "[parameters: …]" nor aiosqlite's call tuples.
    assert not re.search(r"\[(parameters|generated in|cached since)[^\]]*\] \(", stderr), stderr[-2000:]
    assert "hs-prod" not in stderr  # a bound value too (the client id), though not a secret
