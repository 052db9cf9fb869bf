"""Benchmark: token issuance over HTTP, EAM against Node oidc-provider, and offline verification.

Runs a real ``eam serve`` on PostgreSQL (a scratch database created beside the URL given, and
dropped afterwards), gives one user several assignments and registers one service client, and
runs panva's ``oidc-provider`` (Node, ``bench/oidc_node``, installed with ``npm ci`` from its
committed lock file on first use) as the reference issuer. Then, per signing algorithm:

- the same load generator (this process: N concurrent httpx clients on one asyncio loop, a fixed
  number of requests) drives, one after the other,
  * EAM ``POST /v1/grant-tokens`` (a person's grant token: dev-token authentication, one
    transaction, the assignments read, the token signed),
  * EAM ``POST /oauth2/token`` client credentials (a service token: the like-for-like request),
  * oidc-provider ``POST /token`` client credentials (a JWT access token, ``typ`` at+jwt);
  and prints tokens/s, p50 and p99 latency, the server's CPU time per token (all its processes,
  from ``/proc``, read before and after the run) and the load generator's CPU per request;
- prints the ratios EAM/oidc-provider (throughput and server CPU per token);
- verifies one grant token EAM issued, with the JWKS EAM serves, with ``eam.verifier``, raw PyJWT
  and raw joserfc (and jwcrypto if installed), per CPU-second (``bench/verification.py``).

EAM's token rate limit (``EAM_RATE_LIMIT_TOKENS_PER_MINUTE``, 600 per client address and
minute by default) would answer 429 after about 1 200 requests from this one address: the bench
server runs with it set to 0 (unlimited), so the bench measures issuance, not the limiter.

Usage (from the project root, after the README's test command has created .venv; Node.js >= 20
and npm on PATH)::

    .venv/bin/python bench/grant_tokens.py \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        --clients 16 --requests 2000 --workers 2 --assignments 6

Figures depend on the machine: compare within one run, not across machines. The load generator
shares the machine's cores with the server it drives.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eam.migrations import upgrade  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
import verification  # noqa: E402
from _common import bearer, cpu_seconds, drop_database, free_port, percentile, scratch_database  # noqa: E402

ALGORITHMS = ("ES256", "RS256", "EdDSA")
NODE_DIR = ROOT / "bench" / "oidc_node"
#: Set on the bench server: 0 = unlimited (the default, 600 a minute, would answer 429 mid-run).
BENCH_ENV = {"EAM_RATE_LIMIT_TOKENS_PER_MINUTE": "0"}


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
            **BENCH_ENV,
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


class NodeIssuer:
    """``bench/oidc_node/issuer.mjs``: oidc-provider issuing client-credentials JWT access tokens."""

    def __init__(self, alg: str) -> None:
        node, npm = shutil.which("node"), shutil.which("npm")
        if not (node and npm):
            raise SystemExit("node and npm are needed for the oidc-provider reference")
        if not (NODE_DIR / "node_modules" / "oidc-provider").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True)
        self.process = subprocess.Popen(
            [node, "issuer.mjs", "--alg", alg, "--watch-stdin"],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            self.stop()
            raise SystemExit("oidc-provider did not start (run `npm ci` in bench/oidc_node to see why)")
        ready = json.loads(line)
        self.base = ready["issuer"]
        self.client = (ready["client_id"], ready["client_secret"])

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.terminate()
        self.process.wait(30)


async def seed(base: str, assignments: int) -> tuple[str, str]:
    """Carol's assignments for the grant tokens; a service client (id, secret) for service tokens."""
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
        created = await call("POST", "/v1/service-clients", "admin", json={"name": "bench client", "audiences": ["healthstat"]})
        return created["client"]["client_id"], created["client_secret"]


#: One token request: the client, and the token from its 200 answer (anything else stops the bench).
Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def grant_token_request() -> Send:
    headers = bearer("carol")
    return lambda http: http.post("/v1/grant-tokens", headers=headers, json={"application": "healthstat"})


def client_credentials_request(path: str, client: tuple[str, str], **form: str) -> Send:
    auth = httpx.BasicAuth(*client)
    return lambda http: http.post(path, auth=auth, data={"grant_type": "client_credentials", **form})


@dataclass
class Run:
    name: str
    alg: str
    elapsed: float
    latencies: list[float]
    server_cpu: float  # seconds, all the server's processes
    generator_cpu: float  # seconds, this process
    token: str

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def row(self) -> str:
        count = len(self.latencies)
        return (
            f"{self.name:<30} {self.alg:<6} {self.rate:>9.0f} {percentile(self.latencies, 0.50) * 1000:>8.1f} "
            f"{percentile(self.latencies, 0.99) * 1000:>8.1f} {self.server_cpu / count * 1000:>11.2f} "
            f"{self.generator_cpu / count * 1000:>9.2f} {len(self.token):>7}"
        )


HEADER = f"{'issuer, request':<30} {'alg':<6} {'tokens/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'srv CPU ms':>11} {'gen CPU':>9} {'bytes':>7}"


async def load(name: str, alg: str, base: str, server_pid: int, send: Send, clients: int, requests: int) -> Run:
    """``requests`` requests from ``clients`` concurrent connections; the server's CPU time and
    this process's are read just before the first and just after the last."""
    latencies: list[float] = []
    remaining = requests
    last_token = ""

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal remaining, last_token
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await send(http)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{name}: issuance failed: {response.status_code} {response.text}")
            last_token = response.json()["access_token"]

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        for _ in range(clients):  # warm-up (connections, caches), not measured
            warm = await send(http)
            if warm.status_code != 200:
                raise SystemExit(f"{name}: issuance failed: {warm.status_code} {warm.text}")
        server_before, generator_before = cpu_seconds(server_pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
        server_cpu, generator_cpu = cpu_seconds(server_pid) - server_before, time.process_time() - generator_before
    return Run(name, alg, elapsed, latencies, server_cpu, generator_cpu, last_token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignments", type=int, default=6)
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--verify-seconds", type=float, default=3.0, help="measuring time per verifier (best of 3 interleaved runs)")
    args = parser.parse_args()

    database_url, admin_dsn, name = asyncio.run(scratch_database(args.postgres))
    try:
        upgrade(database_url)
        print(f"{dt.date.today().isoformat()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
              f"Python {platform.python_version()}, node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}")
        print(f"issuance: {args.clients} concurrent clients, {args.requests} requests per row, one load generator "
              f"(this process, httpx) for every row; EAM: eam serve --workers {args.workers}, PostgreSQL, "
              f"{args.assignments} assignments per grant token; oidc-provider: one Node process, in-memory")
        print("EAM bench server: " + ", ".join(f"{key}={value}" for key, value in BENCH_ENV.items())
              + " (token rate limit off: the default 600/min per address answers 429 after ~1 200 requests)")
        print("srv CPU: the server's CPU (all its processes) per token; gen CPU: the load generator's per request\n")
        print(HEADER)
        seeded: tuple[str, str] | None = None
        verifications: list[tuple[str, str, dict[str, float]]] = []
        for alg in args.algorithms.split(","):
            server = Server(database_url, alg, args.workers)
            try:
                if seeded is None:
                    seeded = asyncio.run(seed(server.base, args.assignments))
                pid = server.process.pid
                grant = asyncio.run(load("EAM grant token", alg, server.base, pid, grant_token_request(), args.clients, args.requests))
                print(grant.row(), flush=True)
                service = asyncio.run(load(
                    "EAM client credentials", alg, server.base, pid,
                    client_credentials_request("/oauth2/token", seeded), args.clients, args.requests,
                ))
                print(service.row(), flush=True)
                jwks = httpx.get(f"{server.base}/.well-known/jwks.json", timeout=10).json()
            finally:
                server.stop()
            node = NodeIssuer(alg)
            try:
                reference = asyncio.run(load(
                    "oidc-provider client creds", alg, node.base, node.process.pid,
                    client_credentials_request("/token", node.client, scope="api:read"), args.clients, args.requests,
                ))
            finally:
                node.stop()
            print(reference.row())
            for run in (grant, service):
                print(
                    f"  {run.name} / oidc-provider: {run.rate / reference.rate:.2f}x the tokens/s, "
                    f"{(run.server_cpu / len(run.latencies)) / (reference.server_cpu / len(reference.latencies)):.2f}x the server CPU per token"
                )
            verifications.append((alg, grant.token, verification.measure(grant.token, jwks, server.base, args.verify_seconds)))
        for alg, token, rates in verifications:
            print(f"\n{alg}: ", end="")
            verification.print_rates(rates, token)
    finally:
        asyncio.run(drop_database(admin_dsn, name))


if __name__ == "__main__":
    main()
