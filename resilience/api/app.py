"""REST API (FastAPI): feasibility checks, and the warnings' alerts, CAP messages and feeds.

``create_app(settings)`` builds the app; the CLI serves it (``uvicorn``); docs/api.md is the
reference. Endpoints:

* ``GET /v1/health``: liveness, no key; ``GET /v1/``: an index of the endpoints, no key.
* ``/docs`` and ``/redoc`` (:mod:`.docs_pages`): Swagger UI and ReDoc from vendored assets.
* ``/v1/checks...`` (:mod:`.checks`): submit, list and read feasibility checks, their
  reports, and reviewers' decisions; keys of role ``engineer`` or ``reviewer``.
* ``/v1/alerts...`` and ``/v1/feeds/{agency}.atom`` (:mod:`.alerts`): keys of role ``agency``.

**Keys** (:mod:`.auth`, :mod:`.keys`): in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``;
stored in the database table ``api_keys`` with a role, only as SHA-256. The legacy keys file
(:mod:`.legacy_keys`, default ``<data_dir>/api_keys.toml``) still holds agency keys until
``resilience keys import`` copies them.

**Status codes.** 401: no key, an unknown or a revoked key (with ``WWW-Authenticate:
Bearer``). 403: a role the endpoint does not serve, or a feed of another agency. 404: unknown
or hidden (another engineer's check, a Restricted message not addressed to the caller). 413:
a body over 1 MB. 422: a malformed body or query, one ``field: message`` line per field, or
a site the layers do not cover. 503: the legacy keys file is invalid (fail closed).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import Engine

from resilience.api.alerts import AlertSummary, alert_router
from resilience.api.auth import caller_dependency
from resilience.api.checks import CheckQueue, check_router, open_check_queue
from resilience.api.docs_pages import add_docs_pages
from resilience.api.legacy_keys import ApiKeyError, hash_api_key, issue_api_key, load_api_keys
from resilience.api.limits import MAX_BODY_BYTES, BodyLimit, validation_response
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.rules import load_rules
from resilience.settings import Settings
from resilience.storage.database import make_engine
from resilience.web import CheckBackend, CheckFigure, RiskSource, mount_web

__all__ = [
    "SERVE_ENVIRONMENT",
    "AlertSummary",
    "ApiKeyError",
    "app_from_environment",
    "create_app",
    "hash_api_key",
    "issue_api_key",
    "load_api_keys",
]

#: What ``resilience serve --workers N`` hands each worker process (paths absolute, or unset).
SERVE_ENVIRONMENT = {
    "config": "RESILIENCE_SERVE_CONFIG",
    "rules": "RESILIENCE_SERVE_RULES",
    "keys": "RESILIENCE_SERVE_KEYS",
    "base_url": "RESILIENCE_SERVE_BASE_URL",
    "check_processes": "RESILIENCE_SERVE_CHECK_PROCESSES",
}


def create_app(
    settings: Settings,
    *,
    rules_path: Path | None = None,
    keys_path: Path | None = None,
    base_url: str = "",
    clock: Callable[[], datetime] | None = None,
    check_processes: int = 0,
) -> FastAPI:
    """Build the REST API: feasibility checks and warnings.

    Parameters
    ----------
    settings : Settings
        Gives the database URL, the data directory and the layer store.
    rules_path : Path, optional
        Rule set naming the agencies (default: the shipped Shanghai rules).
    keys_path : Path, optional
        Legacy keys file (default ``<data_dir>/api_keys.toml``); re-read on each request for
        keys the database does not know, so keys issued or removed there take effect at once.
    base_url : str
        Public root used in links (feed, ``cap_url``); default the request's own root.
    clock : callable, optional
        Returns the current time (aware); default the system clock in Beijing time.
    check_processes : int
        0 (default): checks run in the server process, one at a time; N: in a pool of N
        spawned processes (about one per core), so one server process uses N cores.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    ApiKeyError
        If the legacy keys file exists but is invalid (naming the file and the line). A file
        broken later makes requests with keys the database does not know answer 503.
    """
    engine = make_engine(settings.resolved_database_url)
    keys_file = Path(keys_path or settings.data_dir / "api_keys.toml")
    load_api_keys(keys_file)  # a corrupt keys file fails here, not as a 503 on every request
    caller = caller_dependency(engine, keys_file)
    app = FastAPI(
        title="resilience",
        version="1",
        description="Climate feasibility checks and early warnings for Shanghai (docs/api.md).",
        docs_url=None,  # served by add_docs_pages from vendored assets, not from a CDN
        redoc_url=None,
    )
    add_docs_pages(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_exception_handler(RequestValidationError, validation_response)

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    queue = open_check_queue(settings, check_processes)  # shared: the API and the form
    app.include_router(check_router(engine, settings, caller=caller, queue=queue))
    agencies = {a.id: a for a in load_rules(rules_path).agencies}
    now = clock or (lambda: datetime.now(BEIJING))
    app.include_router(alert_router(engine, agencies, caller=caller, clock=now, base_url=base_url))
    # the pages (docs/web.md): warnings (`/`, `/warnings/{id}`) and engineers' checks
    # (`/checks...`), on the same alerts, keys and check service as the API
    mount_web(
        app,
        engine=engine,
        agencies=agencies,
        clock=now,
        caller=caller,
        checks=_check_backend(engine, settings, queue),
        risk=RiskSource(settings.risk_dir, settings.layer_store_dir),
    )
    return app


def _check_backend(engine: Engine, settings: Settings, queue: CheckQueue) -> CheckBackend:
    """Bind the feasibility service to this app's database, settings and check queue.

    The form's checks run in ``queue``, the one ``POST /v1/checks`` uses (a thread, or the
    ``check_processes`` pool); the result page's figures are the report's own.
    """
    from resilience.feasibility.models import Submission
    from resilience.feasibility.report import render_html, render_pdf
    from resilience.feasibility.store import list_checks, load_stored_check, store_check

    return CheckBackend(
        submission_model=Submission,
        check=queue.check,
        store=lambda submission, result, owner_key_id: store_check(
            engine, submission, result, owner_key_id=owner_key_id
        ),
        load=lambda check_id: load_stored_check(engine, check_id),
        list_checks=lambda owner_key_id: list_checks(engine, owner_key_id=owner_key_id),
        render_html=render_html,
        render_pdf=render_pdf,
        render_figures=_report_figures,
        site_domain=lambda: _site_domain(settings),
    )


#: Matplotlib's SVG metadata block (creator, date, licence namespaces): not shown, dropped.
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _report_figures(result: Any) -> list[CheckFigure]:
    """Return the report's figures of a check (English, as the pages' report links)."""
    from resilience.feasibility.report_context import ReportContext
    from resilience.feasibility.report_sections import hazard_sections
    from resilience.feasibility.report_text import TEXT

    figures = []
    for section in hazard_sections(result, "en", ReportContext()):  # no site curves: as the API
        spread = str(section["spread"])
        if section["probability_svg"]:
            caption = " ".join(
                [TEXT["prob_fig"]["en"].replace("10-90 %", spread), *section["life_lines"]]
            )
            svg = _SVG_METADATA.sub("", section["probability_svg"])
            figures.append(CheckFigure(section["name"], "probability", svg, caption))
        if section["return_svg"]:
            source = {"rows": TEXT["rl_fig_rows"]["en"], "gev": TEXT["rl_fig_gev"]["en"]}
            caption = f"{TEXT['rl_fig']['en']} {source.get(section['return_source'], '')}"
            svg = _SVG_METADATA.sub("", section["return_svg"])
            figures.append(CheckFigure(section["name"], "return_level", svg, caption.strip()))
    return figures


def _site_domain(settings: Settings) -> tuple[float, float, float, float] | None:
    """Return where the published layers can be checked (degrees), or None without layers."""
    from resilience.feasibility.domain import layer_domain
    from resilience.feasibility.service import layer_cache_for

    try:
        layers = layer_cache_for(settings).layers()  # the check's own cache (opened once)
    except Exception as error:  # noqa: BLE001 - only a hint on the form: a check says why
        logging.getLogger(__name__).warning("layer extent for the check form: %s", error)
        return None
    if not layers:
        return None
    domain = layer_domain(layers)
    return (domain.lon_min, domain.lon_max, domain.lat_min, domain.lat_max)


def app_from_environment() -> FastAPI:
    """Build the app from :data:`SERVE_ENVIRONMENT` (uvicorn's factory in each worker).

    Returns
    -------
    fastapi.FastAPI
        As :func:`create_app` with the settings file, rules, keys file, base URL and check
        processes named by the environment (each optional).
    """
    from resilience.settings import get_settings

    def path(option: str) -> Path | None:
        value = os.environ.get(SERVE_ENVIRONMENT[option])
        return Path(value) if value else None

    return create_app(
        get_settings(path("config")),
        rules_path=path("rules"),
        keys_path=path("keys"),
        base_url=os.environ.get(SERVE_ENVIRONMENT["base_url"], ""),
        check_processes=int(os.environ.get(SERVE_ENVIRONMENT["check_processes"]) or 0),
    )
