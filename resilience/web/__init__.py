"""The warnings web pages: active warnings on a district map and as a list, and details.

Server-rendered HTML and inline SVG served by the API's FastAPI app, working with no
internet: :func:`mount_web` adds ``/`` (active warnings at a time, filterable, Shanghai
time), ``/warnings/{identifier}`` (one CAP message in Chinese and English) and its ``.xml``,
``/signin`` and ``/signout`` (an agency key in a cookie shows its Restricted alerts) and
``/web/static``.
Start reading at :mod:`.routes`; :mod:`.pages` holds the data, :mod:`.map_svg` the map.
May import the top level, ``storage``, ``geodata`` and ``early_warning`` (docs/web.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from resilience.early_warning.rule_models import Agency
from resilience.web.routes import KEY_COOKIE, web_router

__all__ = ["KEY_COOKIE", "mount_web"]


def mount_web(
    app: FastAPI,
    *,
    engine: Engine,
    agencies: dict[str, Agency],
    clock: Callable[[], datetime],
    caller: Callable[..., Any],
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
    """
    from importlib.resources import files

    app.include_router(web_router(engine, agencies, clock=clock, caller=caller))
    static = str(files("resilience.web").joinpath("static"))
    app.mount("/web/static", StaticFiles(directory=static), name="web-static")
