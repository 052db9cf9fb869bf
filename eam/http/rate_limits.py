"""Rate limits on the endpoints that mint credentials or verify them (Litestar's middleware).

A handler joins a limit with ``opt={"rate_limit": "<name>"}``; each limit counts requests per
client address in a fixed one-minute window (starting at the first request), in a store of its own, and answers 429 problem+json with
``Retry-After`` and the ``RateLimit-*`` headers. Counts are per worker process: with N workers
the effective limit is up to N times the setting. Behind a reverse proxy, let uvicorn take the
client address from ``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``), or every caller shares one.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address

from eam.core.settings import Settings


def _limit(name: str, per_minute: int) -> DefineMiddleware:
    async def applies(request: Request[Any, Any, Any]) -> bool:
        # A coroutine: Litestar runs a plain function here in a worker thread, on every request.
        return request.route_handler.opt.get("rate_limit") == name

    def identifier(request: Request[Any, Any, Any]) -> str:
        return f"{name}:{get_remote_address(request)}"

    config = RateLimitConfig(
        rate_limit=("minute", per_minute),
        check_throttle_handler=applies,
        identifier_for_request=identifier,
        store=f"rate_limit_{name}",
    )
    return config.middleware


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    limits = {
        "sign_in": settings.rate_limit_sign_in_per_minute,
        "tokens": settings.rate_limit_tokens_per_minute,
        "introspection": settings.rate_limit_introspection_per_minute,
    }
    return [_limit(name, per_minute) for name, per_minute in limits.items() if per_minute > 0]
