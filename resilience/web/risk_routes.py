"""The risk map's routes: ``/risk``, ``/risk/assets/{asset_id}``, ``/risk/layers`` and SVGs.

``/risk`` colours the published risk table's assets (:mod:`.risk_data`) by risk class for a
hazard, scenario and horizon (:mod:`.risk_pages`), drawn by :mod:`.risk_svg`; each asset
links to its page of rows. ``/risk/layers`` lists the layer store's current layers and maps
one variable (:mod:`.layer_view`) as ``/risk/layers/{layer}/{variable}.svg``. A query value
that is not present answers 422 naming the parameter and the allowed values; an unknown
asset or layer 404. Before the first refresh the pages say what to run (status 200).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import xarray as xr
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment

from resilience.storage.layer_store import LayerStore, LayerVersion
from resilience.web.layer_view import ParamError, select_field, variable_choices
from resilience.web.risk_data import RiskSource, RiskTable, load_risk_table, read_current_layer
from resilience.web.risk_pages import (
    ASSET_COLUMNS,
    COLUMN_LABELS,
    asset_rows,
    asset_url,
    choose_selection,
    class_counts,
    map_marks,
    selected_rows,
    selector_options,
    top_assets,
)
from resilience.web.risk_svg import CLASS_COLOURS, render_asset_map, render_grid_map

__all__ = ["risk_router"]

Render = Callable[..., HTMLResponse]
_SVG = "image/svg+xml"


def _store_versions(source: RiskSource) -> dict[str, str]:
    """Return layer name -> current version in the store (empty when there is none)."""
    store = LayerStore(source.layer_store_dir)
    try:
        return {name: store.current(name).version for name in store.names()}
    except (KeyError, ValueError, OSError):
        return {}


def _is_synthetic(table: RiskTable) -> bool:
    column = table.rows["synthetic_input"] if "synthetic_input" in table.rows else []
    flags = {str(flag) for flag in column}
    return table.provenance.get("synthetic") == "yes" or "yes" in flags


def _common(source: RiskSource, table: RiskTable) -> dict[str, Any]:
    return {
        "table": table,
        "synthetic": _is_synthetic(table),
        "layers": table.provenance.get("layers", {}),
        "store_versions": _store_versions(source),
        "CLASS_COLOURS": CLASS_COLOURS,
    }


def _table(source: RiskSource, render: Render) -> RiskTable | HTMLResponse:
    """Return the published table, or the page to show instead (none yet: 200; broken: 503)."""
    try:
        table = load_risk_table(source.risk_dir)
    except ValueError as error:
        return render("risk_error.html", 503, message=str(error))
    if table is None or table.rows.empty:
        empty = None if table is None else table.path
        return render("risk_empty.html", source=source, section="risk", empty_table=empty)
    return table


def _map_page(source: RiskSource, render: Render, query: Mapping[str, str]) -> HTMLResponse:
    table = _table(source, render)
    if isinstance(table, HTMLResponse):
        return table
    options = selector_options(table.rows)
    context = _common(source, table) | {"options": options, "section": "risk"}
    try:
        chosen = choose_selection(table.rows, query)
    except ParamError as error:
        return render("risk.html", 422, error=error, chosen={}, **context)
    selected = selected_rows(table.rows, chosen)
    label = f"风险等级 risk class: {chosen['hazard']}, {chosen['scenario']}, {chosen['horizon']}"
    return render(
        "risk.html",
        error=None,
        chosen=chosen,
        map_svg=render_asset_map(map_marks(selected, chosen), label=label),
        counts=class_counts(selected),
        top=top_assets(selected),
        asset_url=asset_url,
        **context,
    )


def _asset_page(
    source: RiskSource, render: Render, asset_id: str, query: Mapping[str, str]
) -> HTMLResponse:
    table = _table(source, render)
    if isinstance(table, HTMLResponse):
        return table
    rows = asset_rows(table.rows, asset_id)
    if rows.empty:
        return render("risk_error.html", 404, message=f"没有资产 no asset {asset_id!r}")
    chosen = {k: query[k] for k in ("hazard", "scenario", "horizon") if query.get(k)}
    columns = [c for c in ASSET_COLUMNS if c in rows.columns]
    return render(
        "risk_asset.html",
        asset=rows.iloc[0].to_dict(),
        labels=COLUMN_LABELS,
        name_zh=table.names_zh.get(asset_id, ""),
        rows=rows,
        columns=columns,
        chosen=chosen,
        back="/risk?" + urlencode(chosen),
        **_common(source, table),
    )


def _layer_summary(entry: LayerVersion, ds: xr.Dataset) -> dict[str, Any]:
    return {
        "name": entry.name,
        "version": entry.version,
        "synthetic": entry.manifest.get("synthetic", "unknown"),
        "created": entry.manifest.get("created", ""),
        "variables": variable_choices(ds),
    }


def _layers_page(source: RiskSource, render: Render, query: Mapping[str, str]) -> HTMLResponse:
    summaries = []
    for name in LayerStore(source.layer_store_dir).names():
        try:
            summaries.append(read_current_layer(source.layer_store_dir, name, _layer_summary))
        except (KeyError, ValueError, OSError) as error:  # integrity, schema: shown, not hidden
            summaries.append({"name": name, "version": "", "error": str(error), "variables": []})
    context: dict[str, Any] = {"summaries": summaries, "source": source, "section": "risk"}
    layer = query.get("layer") or ""
    if not layer:
        return render("risk_layers.html", chosen=None, **context)
    by_name = {s["name"]: s for s in summaries}
    if layer not in by_name:
        message = f"layer={layer!r}: expected one of {sorted(by_name)}"
        return render("risk_layers.html", 404, chosen=None, error=message, **context)
    variables = by_name[layer]["variables"]
    variable = query.get("variable") or (variables[0].name if variables else "")
    try:
        _, dims = read_current_layer(
            source.layer_store_dir, layer, lambda _, ds: select_field(ds, layer, variable, query)
        )
    except ParamError as error:
        return render("risk_layers.html", 422, chosen=None, error=str(error), **context)
    choice = next(v for v in variables if v.name == variable)
    src = f"/risk/layers/{layer}/{variable}.svg?" + urlencode(dims)
    chosen = {"layer": layer, "variable": choice, "dims": dims, "src": src}
    return render("risk_layers.html", chosen=chosen, error="", **context)


def _layer_svg(
    source: RiskSource, render: Render, layer: str, variable: str, query: Mapping[str, str]
) -> Response:
    names = LayerStore(source.layer_store_dir).names()
    if layer not in names:
        message = f"没有图层 no layer {layer!r}: expected one of {names}"
        return render("risk_error.html", 404, message=message)
    try:
        field, _ = read_current_layer(
            source.layer_store_dir, layer, lambda _, ds: select_field(ds, layer, variable, query)
        )
    except ParamError as error:
        return render("risk_error.html", 422, message=str(error))
    return Response(render_grid_map(field), media_type=_SVG)


def _number(value: Any, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits; NaN or missing: an em dash."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "—" if math.isnan(number) else f"{number:.{digits}g}"


def risk_router(source: RiskSource, *, environment: Environment) -> APIRouter:
    """Return the risk map's routes.

    Parameters
    ----------
    source : RiskSource
        The published risk table's folder and the layer store.
    environment : jinja2.Environment
        The pages' Jinja2 environment (``resilience.web.routes._environment()``, so that
        ``base.html`` gets its globals); a ``num`` filter is added to it.

    Returns
    -------
    APIRouter
        ``GET /risk``, ``/risk/assets/{asset_id}``, ``/risk/layers`` and
        ``/risk/layers/{layer}/{variable}.svg``.
    """
    environment.filters["num"] = _number

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = environment.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)

    router = APIRouter(include_in_schema=False)

    @router.get("/risk", response_class=HTMLResponse)
    def risk_map(request: Request) -> HTMLResponse:
        return _map_page(source, render, request.query_params)

    @router.get("/risk/assets/{asset_id}", response_class=HTMLResponse)
    def risk_asset(request: Request, asset_id: str) -> HTMLResponse:
        return _asset_page(source, render, asset_id, request.query_params)

    @router.get("/risk/layers", response_class=HTMLResponse)
    def risk_layers(request: Request) -> HTMLResponse:
        return _layers_page(source, render, request.query_params)

    @router.get("/risk/layers/{layer}/{variable}.svg")
    def layer_svg(request: Request, layer: str, variable: str) -> Response:
        return _layer_svg(source, render, layer, variable, request.query_params)

    return router
