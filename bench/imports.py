"""How long a CSV import takes: a dry run of N lines (all people new), applying it, and a dry run
of the same file again (every line ``unchanged``), through the real API in one process.

    .venv/bin/python bench/imports.py [--lines 10000] [--database-url sqlite+aiosqlite:///...]

The target (issue 14): a dry run of 10,000 lines within 10 s on the 2-core machine. The database
is a fresh SQLite file (migrated with ``eam migrate``) unless ``--database-url`` names another
empty, migrated database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from litestar.testing import AsyncTestClient

from _common import ROOT, bearer

from eam.app import create_app
from eam.core.settings import Settings

ORGANISATIONS = ("71000436", "71000931", "71001030", "71001129")
CODES = (("healthstat", "DATA_PROVIDER_HOSPITAL", ""), ("hd4dp2", "1", ""), ("hd4dp2", "3", "team {n}"), ("healthstat", "SPONSOR_INDIVIDUAL", ""))


def national_number(n: int) -> str:
    base = f"{80 + n // 1_000_000 % 20:02d}{1 + n // 10_000 % 12:02d}{1 + n // 400 % 25:02d}{n % 400 + 1:03d}"
    return base + f"{97 - int(base) % 97:02d}"


def accounts_file(lines: int) -> bytes:
    rows = ["first_name,last_name,email,ssin,org_nihdi,app,role,authorgroup,register"]
    for n in range(lines):
        app, code, group = CODES[n % len(CODES)]
        rows.append(
            f"Person{n},Tester{n},person{n}@example.be,{national_number(n)},{ORGANISATIONS[n % len(ORGANISATIONS)]},{app},{code},{group.format(n=n % 50)},HDBP0147"
        )
    return ("\r\n".join(rows) + "\r\n").encode()


async def run(database_url: str, lines: int) -> None:
    settings = Settings(database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0, log_level="WARNING")
    app = create_app(settings, run_housekeeping=False)
    async with AsyncTestClient(app) as client:
        alice = bearer("alice")
        await client.get("/v1/me", headers=alice)
        me = (await client.get("/v1/me", headers=alice)).json()
        for index, nihdi in enumerate(ORGANISATIONS):
            org = (await client.post("/v1/organisations", json={"name": f"Bench hospital {index}", "nihdi": nihdi}, headers=bearer("admin"))).json()
            await client.post(f"/v1/organisations/{org['id']}/access-managers", json={"user_id": me["id"]}, headers=bearer("admin"))
        body = accounts_file(lines)
        headers = {**alice, "Content-Type": "text/csv"}
        for label, params, expected in (
            ("dry run, all new", {"dry_run": "true", "mode": "pre_approved"}, 200),
            ("apply (pre-approved)", {"mode": "pre_approved"}, 201),
            ("dry run, all unchanged", {"dry_run": "true", "mode": "pre_approved"}, 200),
        ):
            started = time.perf_counter()
            response = await client.post("/v1/imports", content=body, params=params, headers=headers, timeout=600)
            elapsed = time.perf_counter() - started
            assert response.status_code == expected, response.text[:500]
            print(f"{label:26} {lines:>7} lines {len(body) / 1024:>8.0f} KiB {elapsed:>8.2f} s  {response.json()['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        if args.database_url is None:
            eam = Path(sys.executable).parent / "eam"
            subprocess.run([str(eam), "migrate"], check=True, cwd=ROOT, env={**os.environ, "EAM_DATABASE_URL": url}, stdout=subprocess.DEVNULL)
        asyncio.run(run(url, args.lines))


if __name__ == "__main__":
    main()
