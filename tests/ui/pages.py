"""A person using the pages in-process: their own cookie jar, forms sent with the CSRF token the
page gave them, text read the way a person reads it (tags stripped)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode
from typing import Any

import httpx
from litestar import Litestar

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def text_of(page: str) -> str:
    """The visible text of a page's main part, whitespace collapsed."""
    main = page.split('<main id="main">', 1)[-1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


class Person:
    def __init__(self, app: Litestar, language: str | None = None) -> None:
        headers = {"Accept-Language": language} if language else {}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://eam.test", headers=headers)
        self.last_page = ""

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(path, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last_page = response.text
        return response

    def csrf(self) -> str:
        found = CSRF_FIELD.search(self.last_page)
        assert found, "the last page has no form with a CSRF token"
        return found.group(1)

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None, *, csrf: bool = True) -> httpx.Response:
        fields: list[tuple[str, str]] = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("_csrf_token", self.csrf()))
        body = urlencode(fields)
        response = await self.http.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last_page = response.text
        return response

    async def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, (response.status_code, text_of(response.text))
        return await self.get(response.headers["location"])

    async def sign_in(self, username: str) -> None:
        await self.get("/sign-in")
        response = await self.post("/sign-in/demo", {"username": username, "return_to": "/"})
        assert response.status_code == 303, response.text
        home = await self.follow(response)
        assert home.status_code == 200, home.text
