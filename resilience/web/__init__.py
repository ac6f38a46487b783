"""The warnings web pages: active warnings on a district map and as a list, and details.

Server-rendered HTML and inline SVG served by the API's FastAPI app, working with no
internet: :func:`mount_web` adds ``/`` (active warnings at a time, filterable, Shanghai
time), ``/warnings/{identifier}`` (one CAP message in Chinese and English) and its ``.xml``,
``/signin`` and ``/signout`` (an agency key in a cookie shows its Restricted alerts) and
``/web/static``; given a :class:`~.engineer.CheckBackend`, also the engineers' pages
``/checks`` (:mod:`.engineer`: submit a feasibility check, its verdict and report).
Start reading at :mod:`.routes`; :mod:`.pages` holds the data, :mod:`.map_svg` the map.
May import the top level, ``storage``, ``geodata`` and ``early_warning`` (docs/web.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from resilience.early_warning.rule_models import Agency
from resilience.web.engineer import CheckBackend, CheckFigure, engineer_router
from resilience.web.risk_data import RiskSource
from resilience.web.routes import KEY_COOKIE, _environment, web_router

__all__ = ["KEY_COOKIE", "CheckBackend", "CheckFigure", "RiskSource", "mount_web"]


def mount_web(
    app: FastAPI,
    *,
    engine: Engine,
    agencies: dict[str, Agency],
    clock: Callable[[], datetime],
    caller: Callable[..., Any],
    checks: CheckBackend | None = None,
    risk: RiskSource | None = None,
) -> None:
    """Add the warnings pages to ``app``.

    Parameters
    ----------
    app : FastAPI
        The API app (:func:`resilience.api.app.create_app`).
    engine : Engine
        The alert database.
    agencies : dict of str to Agency
        The rule set's agencies, by id (the agency filter's choices).
    clock : callable
        Returns the current time (aware): the default view time.
    caller : callable
        The API's key lookup (:func:`resilience.api.auth.caller_dependency`), called as
        ``caller(bearer=None, header=KEY)``: returns the key's holder (``role``, ``agency``)
        or raises ``HTTPException`` (401 unknown or revoked, 503 keys file broken).
    checks : CheckBackend, optional
        The feasibility-check service; when given, the engineers' pages are added.
    risk : RiskSource, optional
        The published risk table and layer store; when given, the risk map is added.
    """
    from importlib.resources import files

    app.include_router(web_router(engine, agencies, clock=clock, caller=caller))
    if checks is not None:
        env = _environment()

        def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
            html = env.get_template(name).render(agencies=agencies, **context)
            return HTMLResponse(html, status_code=status)

        router = engineer_router(checks, caller=caller, key_cookie=KEY_COOKIE, render=render)
        app.include_router(router)
    if risk is not None:
        from resilience.web.risk_routes import risk_router

        app.include_router(risk_router(risk, environment=_environment()))
    static = str(files("resilience.web").joinpath("static"))
    app.mount("/web/static", StaticFiles(directory=static), name="web-static")
