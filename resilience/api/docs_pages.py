"""The API's documentation pages and its index, working with no internet.

* ``GET /docs``: Swagger UI, ``GET /redoc``: ReDoc, both built by FastAPI's
  ``get_swagger_ui_html`` / ``get_redoc_html`` but loading their scripts and styles from
  ``/docs/assets/`` (the files vendored in ``resilience/api/static/``, whose versions,
  checksums and licences are in ``static/PROVENANCE.md``), with Google Fonts and Swagger UI's
  online validator off: the pages make no request to another host.
* ``GET /v1/``: a small JSON index of the endpoints, no key.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "STATIC_DIR", "add_docs_pages", "api_index"]

#: The vendored Swagger UI and ReDoc files.
STATIC_DIR = Path(__file__).with_name("static")
#: Where they are served.
ASSETS_URL = "/docs/assets"

_ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("GET /v1/health", "none", "liveness"),
    ("POST /v1/checks", "engineer, reviewer", "submit a feasibility check"),
    ("GET /v1/checks", "engineer, reviewer", "list checks"),
    ("GET /v1/checks/{check_id}", "engineer, reviewer", "one check, its result and decisions"),
    ("GET /v1/checks/{check_id}/report.html", "engineer, reviewer", "the report (?lang=en|zh)"),
    ("GET /v1/checks/{check_id}/report.pdf", "engineer, reviewer", "the report as PDF"),
    ("POST /v1/checks/{check_id}/decisions", "reviewer", "record a decision"),
    ("GET /v1/alerts", "agency", "active alerts (?agency=&hazard=&at=)"),
    ("GET /v1/alerts/{identifier}.xml", "agency", "one CAP 1.2 message"),
    ("GET /v1/feeds/public.atom", "none", "Atom feed of Public alerts (?at=)"),
    ("GET /v1/feeds/{agency}.atom", "agency", "Atom feed of one agency (?at=, ?key=)"),
)


def api_index() -> dict[str, object]:
    """Return the JSON index of ``/v1/``: endpoints, who may call them, and the docs' links."""
    return {
        "name": "resilience",
        "version": "1",
        "documentation": {"swagger_ui": "/docs", "redoc": "/redoc", "openapi": "/openapi.json"},
        "endpoints": [
            {"endpoint": endpoint, "key": key, "does": does} for endpoint, key, does in _ENDPOINTS
        ],
    }


def add_docs_pages(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and ``/v1/`` on ``app`` from the vendored assets.

    The app must be built with ``docs_url=None`` and ``redoc_url=None`` (FastAPI's own pages
    load from a CDN).

    Parameters
    ----------
    app : fastapi.FastAPI
        The API app; its ``openapi_url`` and ``title`` are used.
    """
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title
    oauth2_redirect = "/docs/oauth2-redirect"
    app.mount(ASSETS_URL, StaticFiles(directory=STATIC_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/swagger-ui/favicon-32x32.png",
            oauth2_redirect_url=oauth2_redirect,
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )

    @app.get("/v1/", tags=["index"], summary="Index of the endpoints (no key)")
    def index() -> dict[str, object]:
        return api_index()
