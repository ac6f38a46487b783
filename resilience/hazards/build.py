"""Build heat, rain and IDF layers from a projections store or a folder of files (the CLI's engine).

I/O edge of :mod:`hazard_models.heat.layer`, :mod:`hazard_models.rain.layer` and
:mod:`hazard_models.rain.idf_layer`: open a projections store or a folder of daily CMIP6 files
(:func:`resilience.climate.store.open_projections_source`), pick horizons and scenarios
by name, build the layers lazily under the configured dask scheduler and write each one
atomically as NetCDF. ``resilience hazards heat|rain`` call these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import xarray as xr

from resilience.schema import SchemaError
from resilience.storage.atomic import atomic_path

__all__ = [
    "HazardKind",
    "build_hazard",
    "open_hazard_projections",
    "pick_horizons",
    "summary_rows",
    "write_layer",
]

HazardKind = Literal["heat", "rain"]
#: Daily variables each hazard reads; the optional ones are used when the source holds them.
_VARIABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "heat": (("tasmax",), ("tasmin", "hurs")),
    "rain": (("pr",), ()),
}


def pick_horizons(names: Sequence[str] | None) -> tuple:
    """Return the AR6 horizons named (baseline always first: changes are against it).

    Raises
    ------
    SchemaError
        For an unknown horizon name; the message lists the known ones.
    """
    from hazard_models.horizon import AR6_HORIZONS

    known = {h.name: h for h in AR6_HORIZONS}
    if not names:
        return tuple(AR6_HORIZONS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SchemaError(f"--horizons: expected names from {sorted(known)}, found {unknown}")
    wanted = {"baseline", *names}
    return tuple(h for h in AR6_HORIZONS if h.name in wanted)


def open_hazard_projections(
    source: Path, kind: HazardKind, scenarios: Sequence[str] | None = None
) -> xr.Dataset:
    """Open the daily variables a hazard reads from a projections store or a folder of files.

    Parameters
    ----------
    source : Path
        A projections store (``resilience pull --out``) or a directory of daily files.
    kind : {"heat", "rain"}
        Heat reads ``tasmax`` and, when present, ``tasmin`` and ``hurs``; rain reads ``pr``.
    scenarios : sequence of str, optional
        SSPs; ``historical`` is always added for the baseline. Default all found.

    Returns
    -------
    xarray.Dataset
        Lazy Projections (see :func:`resilience.climate.store.open_projections_source`).
    """
    from resilience.climate.store import open_projections_source

    required, optional = _VARIABLES[kind]
    wanted = None if scenarios is None else ["historical", *scenarios]
    return open_projections_source(
        Path(source), variables=required, optional_variables=optional, scenarios=wanted
    )


def build_hazard(
    kind: HazardKind,
    directory: Path,
    *,
    scenarios: Sequence[str] | None = None,
    horizons: Sequence[str] | None = None,
    code_version: str = "",
) -> xr.Dataset:
    """Open the projections in ``directory`` and return the (lazy) heat or rain layer.

    Parameters
    ----------
    kind : {"heat", "rain"}
        Which layer.
    directory : Path
        A projections store, or a directory of projection files (searched recursively).
    scenarios : sequence of str, optional
        SSPs; default all found. ``historical`` is always read for the baseline.
    horizons : sequence of str, optional
        AR6 horizon names; ``baseline`` is always added.
    code_version : str
        Recorded in the layer.

    Raises
    ------
    FileNotFoundError, ClimateDataError, SchemaError
        With the file, variable or option at fault.
    """
    from hazard_models.heat.layer import build_heat_layer
    from hazard_models.rain.layer import build_rain_layer

    projections = open_hazard_projections(Path(directory), kind, scenarios)
    builder = build_heat_layer if kind == "heat" else build_rain_layer
    layer = builder(
        projections,
        horizons=pick_horizons(horizons),
        scenarios=scenarios,
        inputs_sha256=str(projections.attrs.get("inputs_sha256", "")),
        code_version=code_version,
    )
    gaps = str(projections.attrs.get("missing_combinations", ""))
    if gaps:  # kept with the layer, so that a gap in the inputs is never lost
        layer.attrs["projections_missing_combinations"] = gaps
    return layer


def write_layer(layer: xr.Dataset, path: Path) -> Path:
    """Compute and write ``layer`` as compressed NetCDF, atomically; return the path.

    The layer is computed first, in one pass on the active dask scheduler (a
    dask.distributed cluster when ``dask_address`` is set), and then written by this
    process alone (:func:`resilience.compute.compute_layer`).
    """
    from resilience.compute import compute_layer

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    computed = compute_layer(layer)
    encoding = {v: {"zlib": True, "complevel": 1} for v in computed.data_vars}
    with atomic_path(path) as tmp:
        computed.to_netcdf(tmp, encoding=encoding)
    return path


def summary_rows(layer: xr.Dataset, variables: Sequence[str]) -> list[list[str]]:
    """Return rows (variable, scenario, horizon, median, change, robust share) for a table.

    Values are grid means of the ensemble median; for return levels the 20-year level (or
    the nearest return period). The robust share is the fraction of cells where at least
    80 % of models agree on the sign of the change (IPCC AR6 WGI).
    """
    rows = []
    for name in variables:
        if name not in layer.data_vars:
            continue
        value, change = layer[name], layer.get(f"{name}_change")
        robust = layer.get(f"{name}_robustness")
        if "return_period" in value.dims:
            period = float(value["return_period"].sel(return_period=20, method="nearest"))
            value = value.sel(return_period=period)
            name = f"{name} {period:g}-yr"
            change = None if change is None else change.sel(return_period=period)
            robust = None if robust is None else robust.sel(return_period=period)
        for scenario in layer["scenario"].values:
            for horizon in layer["horizon"].values:
                pick = {"scenario": scenario, "horizon": horizon}
                median = float(value.sel(pick).sel(quantile=0.5, method="nearest").mean())
                delta = ""
                if change is not None:
                    picked = change.sel(pick).sel(quantile=0.5, method="nearest")
                    named = {"long_name": value.attrs.get("long_name")}  # per year or not
                    shown = display_units(change.attrs | named)
                    delta = f"{float(picked.mean()):+.3g} {shown}"
                share = "" if robust is None else _share(robust.sel(pick))
                units = display_units(value.attrs)
                rows.append(
                    [name, str(scenario), str(horizon), f"{median:.4g} {units}", delta, share]
                )
    return rows


def display_units(attrs: Mapping[str, Any]) -> str:
    """Return a variable's CF units as people read them in a table.

    ``yr-1`` (a rate) reads ``events/yr``; a count of days, millimetres or degree days
    averaged per year (``long_name`` "mean annual ...") reads ``days/yr``, ``mm/yr``,
    ``K d/yr`` (not a length: "mean annual length of the longest heat wave" stays
    ``days``); ``1`` reads ``fraction``, or ``%`` for a relative change. Anything else
    is shown as stored.
    """
    units = str(attrs.get("units", ""))
    long_name = str(attrs.get("long_name") or "")
    if units == "yr-1":
        return "events/yr"
    per_year = long_name.startswith("mean annual") and "length" not in long_name
    if units in ("days", "d", "mm", "K d") and per_year:  # a yearly total, averaged
        return f"{'days' if units in ('days', 'd') else units}/yr"
    if units == "1":
        return "fraction"
    return units


def _share(robust: xr.DataArray) -> str:
    if bool(robust.isnull().all()):
        return ""
    return f"{float((robust >= 0.8).mean()):.0%}"
