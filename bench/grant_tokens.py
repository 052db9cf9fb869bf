"""Benchmark: grant-token issuance over HTTP and offline verification, per signing algorithm.

Runs a real ``eam serve`` on PostgreSQL (a scratch database created beside the URL given, and
dropped afterwards), gives one user several assignments, then for each algorithm:

- N concurrent HTTP clients call ``POST /v1/grant-tokens`` for a fixed number of requests;
  prints tokens/s, p50 and p99 latency;
- ``eam.verifier.Verifier`` verifies one token repeatedly with its JWKS cached; prints
  verifications/s (single thread).

Usage (from the project root, after the README's test command has created .venv)::

    .venv/bin/python bench/grant_tokens.py \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        --clients 16 --requests 2000 --workers 2 --assignments 6

Figures depend on the machine: compare algorithms within one run, not across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eam.auth.dev_tokens import issue_dev_token  # noqa: E402
from eam.migrations import upgrade  # noqa: E402
from eam.settings import DEV_TOKEN_SECRET  # noqa: E402
from eam.verifier import Verifier  # noqa: E402

ALGORITHMS = ("ES256", "RS256", "EdDSA")


def bearer(user: str) -> dict[str, str]:
    token = issue_dev_token(DEV_TOKEN_SECRET, user, ttl_seconds=3600, now=dt.datetime.now(dt.UTC))
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url: str, alg: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
        env.update(
            EAM_DATABASE_URL=database_url,
            EAM_GRANT_SIGNING_ALG=alg,
            EAM_ISSUER=self.base,
            EAM_DATABASE_POOL_SIZE="20",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eam", "serve", "--no-migrate", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("eam serve did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


async def seed(base: str, assignments: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        async def call(method: str, path: str, user: str, **kwargs: object) -> dict:
            response = await http.request(method, path, headers=bearer(user), **kwargs)
            if response.status_code >= 300:
                raise SystemExit(f"seeding failed: {method} {path} -> {response.status_code} {response.text}")
            return response.json()

        carol = (await call("GET", "/v1/me", "carol"))["id"]
        alice = (await call("GET", "/v1/me", "alice"))["id"]
        org = await call("POST", "/v1/organisations", "admin", json={"name": "Bench Hospital", "nihdi": "71000436"})
        await call("POST", f"/v1/organisations/{org['id']}/access-managers", "admin", json={"user_id": alice})
        for index in range(assignments):
            code = f"BENCH{index:03d}"
            await call("POST", "/v1/registers", "admin", json={"code": code, "name": f"Bench register {index}", "applications": ["healthstat"]})
            await call(
                "POST",
                "/v1/assignments",
                "alice",
                json={
                    "user_id": carol,
                    "organisation_id": org["id"],
                    "application": "healthstat",
                    "register": code,
                    "profile": {"role": "data_provider", "data_level": "hospital"},
                },
            )


async def issue_load(base: str, clients: int, requests: int) -> tuple[float, list[float], str]:
    headers = bearer("carol")
    latencies: list[float] = []
    remaining = requests
    last_token = ""

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal remaining, last_token
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await http.post("/v1/grant-tokens", headers=headers, json={"application": "healthstat"})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"issuance failed: {response.status_code} {response.text}")
            last_token = response.json()["access_token"]

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        await http.post("/v1/grant-tokens", headers=headers, json={"application": "healthstat"})  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, last_token


def verify_rate(base: str, token: str, seconds: float = 2.0) -> float:
    verifier = Verifier(base, "healthstat")
    verifier.require(token, register="BENCH000")  # fetches and caches the JWKS
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        verifier.require(token, register="BENCH000")
        count += 1
    return count / (time.perf_counter() - started)


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(fraction * 100) - 1]


async def scratch_database(postgres: str) -> tuple[str, str, str]:
    name = f"eam_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = make_url(postgres).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(postgres).set(database=name).render_as_string(hide_password=False), admin_dsn, name


async def drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignments", type=int, default=6)
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    args = parser.parse_args()

    database_url, admin_dsn, name = asyncio.run(scratch_database(args.postgres))
    try:
        upgrade(database_url)
        print(f"grant tokens: {args.clients} clients, {args.requests} requests, {args.workers} workers, "
              f"{args.assignments} assignments per token, PostgreSQL")
        print(f"{'alg':<6} {'tokens/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'verify/s':>10} {'token bytes':>12}")
        seeded = False
        for alg in args.algorithms.split(","):
            server = Server(database_url, alg, args.workers)
            try:
                if not seeded:
                    asyncio.run(seed(server.base, args.assignments))
                    seeded = True
                elapsed, latencies, token = asyncio.run(issue_load(server.base, args.clients, args.requests))
                verifications = verify_rate(server.base, token)
            finally:
                server.stop()
            print(
                f"{alg:<6} {len(latencies) / elapsed:>9.0f} {percentile(latencies, 0.50) * 1000:>8.1f} "
                f"{percentile(latencies, 0.99) * 1000:>8.1f} {verifications:>10.0f} {len(token):>12}"
            )
    finally:
        asyncio.run(drop_database(admin_dsn, name))


if __name__ == "__main__":
    main()
