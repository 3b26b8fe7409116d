"""`GET /openapi.json`, `GET /docs` (Swagger UI) and `GET /redoc` (ReDoc), every asset served locally.

Swagger UI's files come from the `swagger-ui-bundle` package, ReDoc's bundle is vendored into `assets/`
by `scripts/vendor_redoc.py`: the pages load nothing from outside the app, so they work offline.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs
from aiohttp import web

from adapters_http.server.endpoints import HTML, JSON, Endpoint, Handler, Reply, Tag
from adapters_http.server.openapi import ApiInfo, build_document

ASSETS: Final = Path(__file__).resolve().parent.parent / "assets"
STATIC = "/docs/static/"
JS = "text/javascript"


@attrs.frozen
class Asset:
    """A file a documentation page loads, served at `STATIC + name`."""

    name: str
    path: Path
    media_type: str
    what: str
    operation_id: str


def swagger_ui_files() -> Path | None:
    """The folder of Swagger UI's files (from `swagger-ui-bundle`), or None when the package is missing."""
    try:
        module = importlib.import_module("swagger_ui_bundle")
    except ModuleNotFoundError:
        return None
    return Path(str(module.swagger_ui_path))


def _assets() -> tuple[Asset, ...]:
    # Without the package, its files are 404s saying so, rather than an app that does not start.
    swagger = swagger_ui_files() or Path("swagger-ui-bundle is not installed")
    redoc = ASSETS / "redoc"
    return (
        Asset(
            "swagger-ui-bundle.js", swagger / "swagger-ui-bundle.js", JS, "Swagger UI's script", "getSwaggerUiScript"
        ),
        Asset(
            "swagger-ui.css", swagger / "swagger-ui.css", "text/css", "Swagger UI's style sheet", "getSwaggerUiStyle"
        ),
        Asset("favicon-32x32.png", swagger / "favicon-32x32.png", "image/png", "The pages' icon", "getDocsIcon"),
        Asset("redoc.standalone.js", redoc / "redoc.standalone.js", JS, "ReDoc's script", "getRedocScript"),
    )


def _file(path: Path, media_type: str) -> Handler:
    present = path.is_file()

    async def serve(request: web.Request) -> web.StreamResponse:
        if not present:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": media_type, "Cache-Control": "public, max-age=3600"})

    return serve


@attrs.define
class DocsRoutes:
    """The document and the pages that render it. `publish` builds the document from the whole route table."""

    info: ApiInfo
    _document: bytes = b"{}"

    def publish(self, endpoints: Sequence[Endpoint]) -> None:
        """Build the document of `endpoints`, once, when the app is built."""
        self._document = json.dumps(build_document(endpoints, self.info), ensure_ascii=False).encode()

    def endpoints(self) -> list[Endpoint]:
        pages = [
            Endpoint(
                "GET",
                "/openapi.json",
                self.openapi,
                operation_id="getOpenApiDocument",
                tag=Tag.SYSTEM,
                summary="This OpenAPI document",
                description="The OpenAPI 3.1 document of the API, generated from the schema classes it uses.",
                replies=(Reply(200, "The document.", dict[str, object], {"openapi": "3.1.0"}),),
            ),
            self._page("/docs", "getSwaggerUi", "Swagger UI", "swagger-ui.html"),
            self._page("/redoc", "getRedoc", "ReDoc", "redoc.html"),
        ]
        files = [
            Endpoint(
                "GET",
                STATIC + asset.name,
                _file(asset.path, asset.media_type),
                operation_id=asset.operation_id,
                tag=Tag.SYSTEM,
                summary=f"{asset.what} ({asset.name})",
                description="A file the documentation pages load, served locally so that they work offline.",
                replies=(Reply(200, f"{asset.what}.", str, media_type=asset.media_type),),
            )
            for asset in _assets()
        ]
        return [*pages, *files]

    def _page(self, path: str, operation_id: str, name: str, file: str) -> Endpoint:
        return Endpoint(
            "GET",
            path,
            _file(ASSETS / file, HTML + "; charset=utf-8"),
            operation_id=operation_id,
            tag=Tag.SYSTEM,
            summary=f"{name} of this API",
            description=f"{name} rendering `/openapi.json`, with every file it loads served by the app. No API key.",
            replies=(Reply(200, "The page.", str, f"<!doctype html><html>... {name} ...</html>", media_type=HTML),),
        )

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(body=self._document, content_type=JSON)
