"""The README's run command, for real: ``eam serve`` in a subprocess on a new SQLite file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eam.verifier import Verifier
from tests.conftest import free_port


def _eam(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-m", "eam", *args], env=env, capture_output=True, text=True, check=True).stdout.strip()


class Server:
    def __init__(self, env: dict[str, str], *extra: str) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eam", "serve", "--port", str(self.port), *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"eam serve exited: {self.process.stdout.read()}")
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("eam serve did not become ready within 60 s")

    def stop(self) -> str:
        self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output

    def call(self, method: str, path: str, user: str, **kwargs) -> httpx.Response:
        token = _eam("dev-token", user, env=self.env)
        return httpx.request(method, f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
    environment["EAM_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'quickstart.db'}"
    yield environment


def test_run_command_migrates_loads_demo_data_once_and_serves_the_flow(env: dict[str, str]) -> None:
    server = Server(env)
    try:
        orgs = server.call("GET", "/v1/organisations", "carol").json()["items"]
        assert sorted(o["name"] for o in orgs) == ["AZ Sint-Jan Brugge", "UZ Leuven"]
        brugge = next(o for o in orgs if o["nihdi"] == "71000436")
        pending = server.call("GET", "/v1/access-requests?status=pending", "alice").json()["items"]
        assert [r["requester"]["display_name"] for r in pending] == ["Dave Employee"]

        submitted = server.call(
            "POST",
            "/v1/access-requests",
            "carol",
            json={
                "organisation_id": brugge["id"],
                "application": "healthstat",
                "register": "HDBP0147",
                "profile": {"role": "data_provider", "data_level": "hospital"},
                "justification": "I need our hospital's INTEGO reports.",
            },
        )
        assert submitted.status_code == 201, submitted.text
        approved = server.call("POST", f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json={})
        assert approved.status_code == 200, approved.text
        me = server.call("GET", "/v1/me", "carol").json()
        assert [a["register"] for a in me["assignments"]] == ["HDBP0147"]
        # The default issuer is the address served, so the metadata and the verifier agree.
        metadata = httpx.get(f"{server.base}/.well-known/oauth-authorization-server", timeout=10).json()
        assert metadata["issuer"] == server.base and metadata["jwks_uri"] == f"{server.base}/.well-known/jwks.json"
        grant = server.call("POST", "/v1/grant-tokens", "carol", json={"application": "healthstat"})
        assert grant.status_code == 200, grant.text
        access = Verifier(metadata["issuer"], "healthstat").require(grant.json()["access_token"], register="HDBP0147")
        assert access.organisation.nihdi == brugge["nihdi"]
    finally:
        server.stop()

    again = Server(env)
    try:
        orgs = again.call("GET", "/v1/organisations", "carol").json()["items"]
        assert len(orgs) == 2  # demo data only into a new database
        me = again.call("GET", "/v1/me", "carol").json()
        assert len(me["assignments"]) == 1
    finally:
        again.stop()


README = Path(__file__).resolve().parent.parent / "README.md"


def _walkthrough() -> str:
    """The shell block under "Five-minute walkthrough", as written."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Five-minute walkthrough") :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("```", start)]


def test_the_readme_walkthrough_runs_as_written(env: dict[str, str]) -> None:
    """Every command of the walkthrough against a real ``eam serve``: the shell stops at the first
    command that fails, and curl fails on any HTTP error, so the documented flow cannot rot."""
    assert shutil.which("curl") and shutil.which("bash"), "the walkthrough needs curl and bash"
    script = _walkthrough()
    first_line, rest = script.split("\n", 1)
    assert first_line.startswith("E=.venv/bin/eam; B=http://127.0.0.1:8000;"), first_line
    server = Server(env)
    try:
        bin_dir = Path(sys.executable).parent
        prologue = (
            "set -euo pipefail\n"
            'curl() { command curl --fail-with-body --show-error "$@"; }\n'
            + first_line.replace(".venv/bin/", f"{bin_dir}/").replace("http://127.0.0.1:8000", server.base)
            + "\n"
        )
        result = subprocess.run(
            ["bash", "-c", prologue + rest.replace(".venv/bin/", f"{bin_dir}/")],
            cwd=README.parent, env=env, capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        server.stop()
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert "organisation=" in result.stdout and "HDBP0147" in result.stdout  # the verifier's answer
    assert "[]\n" in result.stdout  # /v1/me's assignments after the revocation
    assert "p,role:access_manager" in result.stdout  # the policy export


def test_several_worker_processes_on_postgresql_enforce_each_others_policy_changes(
    env: dict[str, str], postgres_database: str
) -> None:
    """``eam serve --workers 2``: whichever process answers, a fresh appointment is enforced."""
    import asyncio

    from tests.conftest import reset_postgres

    asyncio.run(reset_postgres(postgres_database))
    env = {**env, "EAM_DATABASE_URL": postgres_database}
    server = Server(env, "--workers", "2")
    try:
        org = server.call("POST", "/v1/organisations", "admin", json={"name": "AZ Groeninge", "nihdi": "71000535"}).json()
        requests = []
        for employee in ("carol", "dave", "erin", "frank", "grace", "heidi"):
            response = server.call(
                "POST",
                "/v1/access-requests",
                employee,
                json={
                    "organisation_id": org["id"],
                    "application": "hd4dp2",
                    "register": "HDBP0147",
                    "profile": {"role": "local_study_associate"},
                    "justification": "I register data for the study.",
                },
            )
            assert response.status_code == 201, response.text
            requests.append(response.json()["id"])
        alice = server.call("GET", "/v1/me", "alice").json()["id"]
        appointed = server.call("POST", f"/v1/organisations/{org['id']}/access-managers", "admin", json={"user_id": alice})
        assert appointed.status_code == 201
        # each approval is a new connection, so the two worker processes share the work
        statuses = [server.call("POST", f"/v1/access-requests/{rid}/approve", "alice", json={}).status_code for rid in requests]
        assert statuses == [200] * len(requests)
    finally:
        output = server.stop()
    assert output.count("Started server process") >= 2, output
