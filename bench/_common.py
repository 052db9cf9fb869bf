"""Helpers shared by the benchmarks: dev tokens, ports, process CPU and memory from ``/proc``,
percentiles, scratch PostgreSQL databases."""

from __future__ import annotations

import datetime as dt
import os
import socket
import statistics
import sys
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eam.auth.dev_tokens import issue_dev_token  # noqa: E402
from eam.core.settings import DEV_TOKEN_SECRET  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def bearer(user: str, ttl_seconds: int = 3600) -> dict[str, str]:
    """``Authorization`` header with a dev token for ``user`` (issuer ``eam.auth.dev_tokens.DEV_ISSUER``)."""
    token = issue_dev_token(DEV_TOKEN_SECRET, user, ttl_seconds=ttl_seconds, now=dt.datetime.now(dt.UTC))
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def child_processes(parent: int) -> list[int]:
    """The live direct children of ``parent``."""
    return sorted(_children().get(parent, []))


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant (uvicorn's workers are children of ``eam serve``)."""
    children = _children()
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """User + system CPU time of ``root``'s process tree so far (``/proc/<pid>/stat``)."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / CLOCK_TICKS


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size (``VmRSS`` of ``/proc/<pid>/status``) in MB (10^6 bytes)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for process {pid}")


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def percentile(values: list[float], fraction: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(round(fraction * 100)) - 1]


def admin_dsn(postgres: str) -> str:
    """A libpq DSN (for asyncpg) of the SQLAlchemy URL ``postgres``."""
    return make_url(postgres).set(drivername="postgresql").render_as_string(hide_password=False)


async def scratch_database(postgres: str, prefix: str = "eam_bench") -> tuple[str, str, str]:
    """Create a database beside ``postgres``: (its SQLAlchemy URL, the admin DSN, its name)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    dsn = admin_dsn(postgres)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(postgres).set(database=name).render_as_string(hide_password=False), dsn, name


async def drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
