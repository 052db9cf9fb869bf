"""Rate limits on the endpoints that mint credentials or verify them (Litestar's middleware).

A handler joins a limit with ``HandlerOptions(rate_limit=RateLimit.<NAME>)``; each limit counts requests per
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
from eam.http.handler_options import RateLimit, options_of


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
    )
    return config.middleware


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    limits = {
        RateLimit.SIGN_IN: settings.rate_limit_sign_in_per_minute,
        RateLimit.TOKENS: settings.rate_limit_tokens_per_minute,
        RateLimit.INTROSPECTION: settings.rate_limit_introspection_per_minute,
    }
    return [_limit(name, per_minute) for name, per_minute in limits.items() if per_minute > 0]
