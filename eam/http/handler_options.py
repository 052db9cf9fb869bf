"""What a route handler declares about itself, typed: its rate limit, whether it decides
anything, which problems it may answer beyond those its shape implies, and its OAuth form.

A handler passes ``opt=HandlerOptions(...).opt()``; middleware, the context provider and the
OpenAPI shaping read it back with :func:`options_of`. A misspelt option is a ``TypeError`` when
the module loads, not a rate limit silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from litestar.handlers import BaseRouteHandler

#: The one key EAM uses in a handler's ``opt``.
OPT_KEY = "eam"


class RateLimit(StrEnum):
    """The limits (per client address and minute; their sizes are settings)."""

    SIGN_IN = "sign_in"
    TOKENS = "tokens"
    INTROSPECTION = "introspection"


@dataclass(frozen=True, kw_only=True)
class HandlerOptions:
    rate_limit: RateLimit | None = None
    #: Changes nothing but, at most once, the caller's user row (grant tokens, introspection):
    #: statement-level transaction, no catch-up with the policy log first.
    read_only: bool = False
    #: False when no compare-and-set or uniqueness rule can make it answer 409.
    conflicts: bool = True
    #: Further problem statuses it may answer (e.g. 503 when signing is unavailable).
    problems: tuple[int, ...] = ()
    #: The msgspec Struct documenting its OAuth form parameters (RFC 6749 endpoints).
    form: type | None = None
    #: Unknown query parameters are ignored, not refused: pages a login provider redirects to
    #: (RFC 6749 section 4.1.2: the client ignores parameters it does not recognise).
    ignores_unknown_query: bool = False
    #: A web page (:mod:`eam.ui`): its body, if any, is an HTML form the page reads itself.
    page: bool = False
    #: The body is a CSV file (RFC 4180 ``text/csv``) the handler reads as bytes (imports).
    csv_body: bool = False

    def opt(self) -> dict[str, Any]:
        return {OPT_KEY: self}


DEFAULT = HandlerOptions()


def options_of(handler: BaseRouteHandler) -> HandlerOptions:
    options = handler.opt.get(OPT_KEY, DEFAULT)
    if not isinstance(options, HandlerOptions):
        raise TypeError(f"{handler}: opt[{OPT_KEY!r}] must be a HandlerOptions")
    return options
