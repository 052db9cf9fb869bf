"""Rate limits that hold across workers and nodes: counts in Redis when ``EAM_REDIS_URL`` is set.

Two app instances stand for two workers (or two nodes) sharing the real Redis server at
127.0.0.1:6379; if it is unreachable these tests fail, they are never skipped. Each test counts
under an address of its own (from a trusted proxy's ``X-Forwarded-For``), so parallel runs
sharing the server do not meet, and removes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import msgspec
import pytest
from redis.asyncio import Redis

from eam.app import create_app
from eam.core.settings import Settings, SettingsError
from tests.conftest import Clock, assert_problem, serve_in_process

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def address() -> AsyncIterator[str]:
    """A client address of this test's own; its counts are removed from Redis afterwards."""
    chosen = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
    yield chosen
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"eam_rate_limit*{chosen}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def shared(settings: Settings, per_minute: int, redis_url: str | None = REDIS_URL) -> Settings:
    return msgspec.structs.replace(
        settings, redis_url=redis_url, trusted_proxies=("127.0.0.1",), rate_limit_tokens_per_minute=per_minute
    )


async def instances(stack: AsyncExitStack, settings: Settings, clock: Clock, count: int = 2) -> list[httpx.AsyncClient]:
    return [
        await stack.enter_async_context(serve_in_process(create_app(settings, clock=clock, run_housekeeping=False)))
        for _ in range(count)
    ]


async def ask(http: httpx.AsyncClient, address: str) -> httpx.Response:
    return await http.post("/oauth2/token", data={"grant_type": "nonsense"}, headers={"X-Forwarded-For": address})


async def test_two_instances_share_one_limit_per_client(settings: Settings, clock: Clock, address: str) -> None:
    async with AsyncExitStack() as stack:
        first, second = await instances(stack, shared(settings, 3), clock)
        answers = [await ask(first, address), await ask(second, address), await ask(first, address)]
        assert [r.status_code for r in answers] == [400, 400, 400]
        assert [r.headers["ratelimit-remaining"] for r in answers] == ["2", "1", "0"]
        for http in (second, first):
            refused = await ask(http, address)
            assert_problem(refused, 429, "too-many-requests")
            assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await ask(second, f"{address}, {address}0")).status_code == 400  # another client (x.y.z.w0): its own budget


async def test_concurrent_requests_on_two_instances_never_exceed_the_limit(settings: Settings, clock: Clock, address: str) -> None:
    async with AsyncExitStack() as stack:
        pair = await instances(stack, shared(settings, 10), clock)
        answers = await asyncio.gather(*(ask(pair[n % 2], address) for n in range(40)))
    statuses = [r.status_code for r in answers]
    assert statuses.count(400) == 10 and statuses.count(429) == 30, statuses


async def test_without_redis_each_process_counts_on_its_own(settings: Settings, clock: Clock, address: str) -> None:
    """The documented embedded default: per-process memory, so N workers allow up to N times the limit."""
    async with AsyncExitStack() as stack:
        first, second = await instances(stack, shared(settings, 2, redis_url=None), clock)
        assert [(await ask(first, address)).status_code for _ in range(3)] == [400, 400, 429]
        assert [(await ask(second, address)).status_code for _ in range(3)] == [400, 400, 429]


async def test_an_unreachable_redis_stops_start_up_with_a_clear_message(settings: Settings, clock: Clock) -> None:
    app = create_app(shared(settings, 3, redis_url="redis://127.0.0.1:1/0"), clock=clock, run_housekeeping=False)
    with pytest.raises(BaseExceptionGroup) as refused:  # Litestar's lifespan runs in a task group
        async with serve_in_process(app):
            pass
    assert refused.group_contains(RuntimeError, match="cannot reach Redis at EAM_REDIS_URL")


def test_the_redis_url_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).redis_url is None
    assert Settings.from_env({"EAM_REDIS_URL": "redis://cache:6379/2"}).redis_url == "redis://cache:6379/2"
    with pytest.raises(SettingsError, match="EAM_REDIS_URL"):
        Settings.from_env({"EAM_REDIS_URL": "http://cache:6379"})
