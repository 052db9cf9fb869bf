"""How many webhook deliveries per second the outbox delivers to a receiver on loopback.

    .venv/bin/python bench/outbox_throughput.py [--messages 1000] [--postgres URL]

Writes ``--messages`` Standard Webhooks messages for one subscription in one transaction, then
runs delivery rounds (claim, sign, POST through the SSRF guard, record) in this process, one
worker, until all are delivered; prints messages per second. Default database: a new SQLite file; ``--postgres URL``: a scratch PostgreSQL database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from _common import drop_database, scratch_database  # (puts the project root, hence tests/, on sys.path)
from eam.app import create_app, delivery_channels
from eam.core.database import transaction
from eam.core.settings import Settings
from eam.migrations import upgrade
from eam.outbox.service import deliver_due, enqueue
from tests.conftest import Api, Clock, serve_in_process
from tests.webhook_receiver import running_receiver


async def measure(database_url: str, messages: int) -> tuple[int, float]:
    settings = Settings(
        database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0, webhook_allowed_hosts=("127.0.0.1",), log_level="WARNING"
    )
    clock = Clock()
    app = create_app(settings, clock=clock, run_housekeeping=False)
    with running_receiver() as receiver:
        async with serve_in_process(app) as http:
            created = await Api(http).post("/v1/webhooks", json={"url": receiver.url, "events": ["organisation.created"]})
            assert created.status_code == 201, created.text
            hook_id = created.json()["webhook"]["id"]
            services = app.state.services
            async with transaction(services.sessionmaker) as session:
                for index in range(messages):
                    payload = {"type": "organisation.created", "timestamp": clock().isoformat(), "data": {"id": index, "target_id": str(uuid.uuid4())}}
                    enqueue(session, clock(), channel="webhook", event="organisation.created", recipient=hook_id, payload=payload)
            deliver = delivery_channels(services)
            started, delivered = time.perf_counter(), 0
            while delivered < messages:
                counts = await deliver_due(services.sessionmaker, settings, clock, deliver, limit=20)
                if counts["pending"] or counts["dead"]:
                    raise RuntimeError(f"deliveries failed: {counts}")
                delivered += counts["delivered"]
            elapsed = time.perf_counter() - started
            assert len(receiver.requests) == messages
            return delivered, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL: the bench runs in a scratch database created beside it, dropped after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = asyncio.run(scratch_database(args.postgres)) if args.postgres else None
        url = scratch[0] if scratch else f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        try:
            upgrade(url)
            delivered, elapsed = asyncio.run(measure(url, args.messages))
        finally:
            if scratch:
                asyncio.run(drop_database(scratch[1], scratch[2]))
    print(f"{delivered} webhook deliveries on {url.split(':')[0]} in {elapsed:.2f} s: {delivered / elapsed:.0f} messages/s (one worker)")


if __name__ == "__main__":
    main()
