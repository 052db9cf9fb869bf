"""``HEAD`` wherever ``GET`` works (RFC 9110 section 9.3.2), for every route at once.

"The HEAD method is identical to GET except that the server MUST NOT send content in the
response. ... The server SHOULD send the same header fields in response to a HEAD request as it
would have sent if the request method had been GET." So a ``HEAD`` request is run as the ``GET``
it stands for, by the same handler, authentication, rate limits and input checks, and only the
body is dropped: status and headers (``Content-Length`` included, section 8.6) are the GET's.
Every method list EAM answers with (``Allow`` on 405 and ``OPTIONS``) names ``HEAD`` next to
``GET``.

Why not Litestar's own: a handler whose methods include ``HEAD`` is routed, but Litestar still
sends the GET body (uvicorn happens to drop it; RFC 9110 forbids sending it), documents a second
operation per path in OpenAPI, and the schema and docs routes Litestar adds itself would still be
GET only. This wrapper covers them all, once.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def with_allow_head(allow: str) -> str:
    methods = [method.strip() for method in allow.split(",") if method.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


def head_as_get(app: ASGIApp) -> ASGIApp:
    """Wrap the ASGI app so that HEAD is answered as GET without content."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "allow" in headers:
                    headers["allow"] = with_allow_head(headers["allow"])
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        if head:
            scope["method"] = "GET"  # in place: outer middleware reads what Litestar adds to the scope
        try:
            await app(scope, receive, send_head)
        finally:
            if head:
                scope["method"] = "HEAD"

    return wrapped
