"""Rate limits on the endpoints that mint credentials or verify them (Litestar's middleware).

A handler joins a limit with ``HandlerOptions(rate_limit=RateLimit.<NAME>)``; each limit counts requests per
client address in a fixed one-minute window (starting at the first request), and answers 429
problem+json with ``Retry-After`` and the ``RateLimit-*`` headers. The client address is the
TCP peer, or what a trusted proxy says it is (:mod:`eam.http.proxies`, ``EAM_TRUSTED_PROXIES``).

Where the counts live:
- ``EAM_REDIS_URL`` set: in Redis (Litestar's ``RedisStore``), shared by every worker and node,
  so the limit holds for the whole deployment. Litestar's middleware reads a count and writes
  it back in two steps, guarded by a lock of one process only; concurrent requests in other
  processes would lose increments. So with Redis the count is checked and incremented in one
  Lua script, atomically.
- unset (the embedded default): in each worker's memory. With N workers (or nodes) a client
  gets up to N times the limit.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from eam.core.settings import Settings
from eam.http.handler_options import RateLimit, options_of

#: KEYS[1] the count; ARGV[1] the limit, ARGV[2] the window in seconds. Counts this request
#: unless the limit is reached; answers the count before it and the seconds left in the window.
_TAKE = b"""
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count < tonumber(ARGV[1]) then
    redis.call('INCR', KEYS[1])
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
end
return {count, ttl}
"""


class SharedRateLimitStore(RedisStore):
    """A ``RedisStore`` that can also count a request against a limit atomically."""

    def __init__(self, redis: Redis, namespace: str, handle_client_shutdown: bool = False) -> None:
        super().__init__(redis, namespace=namespace, handle_client_shutdown=handle_client_shutdown)
        self._take = self._redis.register_script(_TAKE)

    @classmethod
    def for_url(cls, url: str, namespace: str = "eam_rate_limit") -> SharedRateLimitStore:
        return cls(Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5), namespace, handle_client_shutdown=True)

    def with_namespace(self, namespace: str) -> SharedRateLimitStore:
        return type(self)(self._redis, f"{self.namespace}_{namespace}", self.handle_client_shutdown)

    async def take(self, key: str, limit: int, window_seconds: int) -> tuple[int, int]:
        """Count one request unless ``limit`` is reached: (requests counted before, seconds left)."""
        before, ttl = await self._take(keys=[self._make_key(key)], args=[limit, window_seconds])
        return int(before), int(ttl)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


class SharedRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's rate limiter; with a :class:`SharedRateLimitStore`, counting in one atomic step."""

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        if not isinstance(store, SharedRateLimitStore):
            return await super().retrieve_cached_history(key, store)
        now = int(time.time())
        before, ttl = await store.take(key, self.max_requests, DURATION_VALUES[self.unit])
        return CacheObject(history=[now] * before, reset=now + ttl)

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        if not isinstance(store, SharedRateLimitStore):
            await super().set_cached_history(key, cache_object, store)
            return
        cache_object.history = [int(time.time()), *cache_object.history]  # already counted by take()


def _limits(settings: Settings) -> dict[RateLimit, int]:
    limits = {
        RateLimit.SIGN_IN: settings.rate_limit_sign_in_per_minute,
        RateLimit.TOKENS: settings.rate_limit_tokens_per_minute,
        RateLimit.INTROSPECTION: settings.rate_limit_introspection_per_minute,
    }
    return {name: per_minute for name, per_minute in limits.items() if per_minute > 0}


def _limit(name: RateLimit, per_minute: int) -> DefineMiddleware:
    async def applies(request: Request[Any, Any, Any]) -> bool:
        # A coroutine: Litestar runs a plain function here in a worker thread, on every request.
        return options_of(request.route_handler).rate_limit == name

    def identifier(request: Request[Any, Any, Any]) -> str:
        return f"{name}:{get_remote_address(request)}"

    config = RateLimitConfig(
        rate_limit=("minute", per_minute),
        check_throttle_handler=applies,
        identifier_for_request=identifier,
        store=f"rate_limit_{name}",
        middleware_class=SharedRateLimitMiddleware,
    )
    return config.middleware


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    return [_limit(name, per_minute) for name, per_minute in _limits(settings).items()]


def rate_limit_stores(settings: Settings, shared: SharedRateLimitStore | None) -> dict[str, Store]:
    """The limits' stores: namespaces of the shared store, or (none given) Litestar's memory default."""
    if shared is None:
        return {}
    return {f"rate_limit_{name}": shared.with_namespace(name) for name in _limits(settings)}
