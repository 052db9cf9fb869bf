"""The API documentation pages, served with EAM's own copies of their scripts and styles.

Litestar's render plugins load Swagger UI, Redoc and RapiDoc from public CDNs by default, so the
pages are blank offline or behind a firewall, and every reader's browser asks a third party.
Here each plugin is pointed at files EAM serves itself, from the ``openapi-ui-bundles`` package
(a dependency in ``pyproject.toml``: Swagger UI 5, Redoc 2 and RapiDoc bundles as package data).

- ``/schema`` and ``/schema/redoc``: Redoc; ``/schema/swagger``: Swagger UI (try requests with a
  bearer token); ``/schema/rapidoc``: RapiDoc; ``/schema/openapi.json`` (and ``.yaml``): the
  document itself. Stoplight Elements, which no package ships, is no longer offered.
- ``/schema/assets/<kit>/<file>``: only the files those pages reference (``ASSETS``), each with
  its exact media type.
"""

from __future__ import annotations

from pathlib import Path

import openapi_ui_bundles
from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RapidocRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.response import File

DOCS_PATH = "/schema"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# Litestar adds "; charset=utf-8" to text types itself.
JAVASCRIPT = "text/javascript"
CSS = "text/css"
PNG = "image/png"

_KITS = {
    "swagger-ui": Path(openapi_ui_bundles.swagger_ui.static_path),
    "redoc": Path(openapi_ui_bundles.redoc.static_path),
    "rapidoc": Path(openapi_ui_bundles.rapidoc.static_path),
}
#: (kit, file name) -> media type: everything the pages load, and nothing else of the packages.
ASSETS: dict[tuple[str, str], str] = {
    ("swagger-ui", "swagger-ui-bundle.js"): JAVASCRIPT,
    ("swagger-ui", "swagger-ui-standalone-preset.js"): JAVASCRIPT,
    ("swagger-ui", "swagger-ui.css"): CSS,
    ("swagger-ui", "favicon-32x32.png"): PNG,
    ("redoc", "redoc.standalone.js"): JAVASCRIPT,
    ("rapidoc", "rapidoc-min.js"): JAVASCRIPT,
}
#: Assets change only with the package version; a day in caches is harmless.
CACHE_CONTROL = "public, max-age=86400"


def asset_url(kit: str, name: str) -> str:
    assert (kit, name) in ASSETS, (kit, name)
    return f"{ASSETS_PATH}/{kit}/{name}"


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """The documentation pages; the first, Redoc, is also served at ``/schema`` itself."""
    favicon = f"<link rel='icon' type='image/png' href='{asset_url('swagger-ui', 'favicon-32x32.png')}'>"
    return [
        RedocRenderPlugin(
            path=["/", "/redoc"], js_url=asset_url("redoc", "redoc.standalone.js"), google_fonts=False, favicon=favicon
        ),
        SwaggerRenderPlugin(
            js_url=asset_url("swagger-ui", "swagger-ui-bundle.js"),
            css_url=asset_url("swagger-ui", "swagger-ui.css"),
            standalone_preset_js_url=asset_url("swagger-ui", "swagger-ui-standalone-preset.js"),
            favicon=favicon,
        ),
        RapidocRenderPlugin(js_url=asset_url("rapidoc", "rapidoc-min.js"), favicon=favicon),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]


@get(f"{ASSETS_PATH}/{{kit:str}}/{{name:str}}", include_in_schema=False, security=[{}], sync_to_thread=False)
def docs_asset(kit: str, name: str) -> Response[bytes]:
    """One file of ``ASSETS``; anything else is 404 (no path is built from the request)."""
    media_type = ASSETS.get((kit, name))
    if media_type is None:
        raise NotFoundException(f"no documentation asset {kit}/{name}")
    return File(  # type: ignore[return-value]
        _KITS[kit] / name,
        media_type=media_type,
        filename=name,
        content_disposition_type="inline",
        headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
    )
