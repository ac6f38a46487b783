"""``/docs`` and ``/redoc`` from vendored assets (no request to another host), and ``/v1/``."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from resilience.api.docs_pages import STATIC_DIR

#: Attribute and JavaScript URLs in the pages FastAPI renders (src=, href=, url: '...').
_URL = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|\burl: *["']([^"']+)["']""")
_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _urls(html: str) -> list[str]:
    return [a or b for a, b in _URL.findall(html)]


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon-32x32.png"}),
    ],
)
def test_docs_pages_load_only_local_assets(client, page, assets):
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"https?://", html), "the page names another host"
    urls = _urls(html)
    assert {u.rsplit("/", 1)[1] for u in urls if u.startswith("/docs/assets/")} == assets
    assert "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        suffix = url[url.rfind(".") :]
        if suffix in _TYPES:
            assert _TYPES[suffix] in served.headers["content-type"], url


def test_vendored_files_match_their_provenance():
    provenance = (STATIC_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file() and p.name != "PROVENANCE.md"]
    assert {p.parent.name for p in files} == {"swagger-ui", "redoc"}
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"`{path.parent.name}/{path.name}`" in provenance and digest in provenance, path
    assert {"LICENSE"} <= {p.name for p in files if p.parent.name == "redoc"}
    assert {"LICENSE", "NOTICE"} <= {p.name for p in files if p.parent.name == "swagger-ui"}


def test_index_of_the_api_needs_no_key(client):
    response = client.get("/v1/")
    assert response.status_code == 200
    index = response.json()
    assert index["documentation"] == {
        "swagger_ui": "/docs",
        "redoc": "/redoc",
        "openapi": "/openapi.json",
    }
    listed = {e["endpoint"] for e in index["endpoints"]}
    paths = client.get("/openapi.json").json()["paths"]
    documented = {
        f"{method.upper()} {path}"
        for path, ops in paths.items()
        for method in ops
        if path.startswith("/v1/")
    }
    assert listed == documented - {"GET /v1/"}  # the index lists every API endpoint but itself
    assert {e["key"] for e in index["endpoints"] if "public.atom" in e["endpoint"]} == {"none"}


def test_openapi_declares_the_feeds_parameters(client):
    document = client.get("/openapi.json").json()
    public = document["paths"]["/v1/feeds/public.atom"]["get"]
    assert {p["name"] for p in public["parameters"]} == {"at", "cap"}
    assert "security" not in public
    agency = document["paths"]["/v1/feeds/{agency}.atom"]["get"]
    assert {"bearer", "APIKeyHeader", "key_query"} >= {
        name for item in agency["security"] for name in item
    }
    assert "key_query" in document["components"]["securitySchemes"]


def test_docs_work_over_a_real_socket(world, kit):
    with kit.serve(world["app"]) as base, httpx.Client(base_url=base, timeout=10) as http:
        html = http.get("/docs").text
        for url in _urls(html):
            assert http.get(url).status_code == 200, url
