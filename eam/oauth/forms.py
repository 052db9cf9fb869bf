"""OAuth request bodies: ``application/x-www-form-urlencoded`` parameters (RFC 6749 section 3.2)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Request

from eam.errors import OAuthInvalidRequest

#: RFC 8707 section 2: ``resource`` may be given several times; nothing else may.
REPEATABLE = frozenset({"resource"})
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class OAuthForm:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)
        repeated = sorted(name for name, values in self._values.items() if len(values) > 1 and name not in REPEATABLE)
        if repeated:
            raise OAuthInvalidRequest(f"parameters must not be repeated: {', '.join(repeated)}")

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise OAuthInvalidRequest(f"the {name} parameter is required")
        return value

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def single_values(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._values.items()}


async def read_form(request: Request[Any, Any, Any]) -> OAuthForm:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise OAuthInvalidRequest(f"send the parameters as {FORM_MEDIA_TYPE} (RFC 6749 section 3.2)")
    body = await request.body()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthInvalidRequest("the body is not valid UTF-8 form encoding") from None
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise OAuthInvalidRequest("parameters must not contain NUL characters")
    return OAuthForm(pairs)
