"""How long from a revocation to its Security Event Token at the application (issue 15 item 4,
target: under 1 s at p99 on an idle system).

    .venv/bin/python bench/set_push_latency.py [--revocations 50] [--postgres URL]

EAM runs in this process with its outbox worker (``run_housekeeping``), the default poll interval
(2 s: a delivery inside it shows the commit woke the worker), a ``secevent`` subscription to a real
HTTP receiver on loopback. Each revocation is timed from sending ``POST …/revoke`` to the SET's
arrival, so the figure includes the request itself. Default database: a new SQLite file;
``--postgres postgresql+asyncpg://…`` runs in a scratch database beside the one named, dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _common import drop_database, percentile, scratch_database

from eam.app import create_app
from eam.core.settings import Settings
from eam.migrations import upgrade
from tests.conftest import Api, Clock, serve_in_process
from tests.webhook_receiver import running_receiver


async def measure(database_url: str, revocations: int) -> list[float]:
    settings = Settings(
        database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0, webhook_allowed_hosts=("127.0.0.1",), log_level="WARNING"
    )
    app = create_app(settings, clock=Clock(), run_housekeeping=True)
    with running_receiver(status=202) as receiver:
        async with serve_in_process(app) as http:
            api = Api(http)
            created = await api.post("/v1/webhooks", json={"url": receiver.url, "format": "secevent", "application": "healthstat"})
            assert created.status_code == 201, created.text
            org = await api.managed_organisation()
            assignments = [await api.approved_assignment(org["id"], user=f"bench-user-{index}") for index in range(revocations)]
            await asyncio.sleep(0.5)
            latencies = []
            for index, assignment in enumerate(assignments):
                started = time.monotonic()
                revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "bench"})
                assert revoked.status_code == 200, revoked.text
                while len(receiver.requests) <= index:
                    await asyncio.sleep(0.001)
                latencies.append(receiver.requests[index].at - started)
            return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revocations", type=int, default=50)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL: the bench runs in a scratch database created beside it, dropped after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = asyncio.run(scratch_database(args.postgres)) if args.postgres else None
        url = scratch[0] if scratch else f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        try:
            upgrade(url)
            latencies = asyncio.run(measure(url, args.revocations))
        finally:
            if scratch:
                asyncio.run(drop_database(scratch[1], scratch[2]))
    ms = sorted(value * 1000 for value in latencies)
    print(f"{len(ms)} revocations on {url.split(':')[0]}: revoke → SET received p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, max {ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
