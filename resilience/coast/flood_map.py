"""Coastal flood maps of one tide station: defences, the inundation layer, its file and figure.

The still-water levels of one station of the surge layer flood a DEM from the sea. Two
methods (``FloodOptions.method``): ``"overtopping"`` (default) stores behind the defences the
volume that overflows them during a storm tide peaking at each level
(:mod:`hazard_models.coast.overtopping`); ``"bathtub"`` is the connected-component bathtub of
:mod:`hazard_models.coast.inundation`, the static upper bound (read the limits in
``docs/surge.md`` section 6 before using a map). Defences are explicit, one of:

* ``"notional"`` (default): a wall on the coastline ring of the DEM (no surveyed alignment
  ships, domain.md 2.2), its crest at today's 200-year level of the station (Shanghai's
  seawall standard is 100-200 years, domain.md 2.1-2.2) or at ``crest_m``;
* ``"file"``: surveyed lines from a CSV (:func:`read_defence_lines`);
* ``"none"``: no defence at all.

Heights are converted explicitly to the DEM's datum (:mod:`resilience.coast.datum`; the shipped
DEM's datum is undocumented and taken as Wusong, D10, UNCONFIRMED). ``resilience flood``
(:mod:`resilience.cli.flood`) is the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from hazard_models.coast.storm_tide import SyntheticStormTide

if TYPE_CHECKING:
    import xarray as xr

    from hazard_models.coast.inundation import DefenceLine
    from hazard_models.coast.storm_tide import StormTideSeries

__all__ = [
    "DEFENCE_COLUMNS",
    "METHOD_LABELS",
    "NOTIONAL_WALL_RETURN_PERIOD",
    "FloodOptions",
    "build_flood_layer",
    "most_telling_return_period",
    "plot_flood_depth",
    "read_defence_lines",
    "write_flood_layer",
]

#: Columns of a defence-line CSV: one row per vertex, vertices of a segment in order.
DEFENCE_COLUMNS = ("segment", "crest_m", "lon", "lat")
#: How each method is named in tables and figures.
METHOD_LABELS = {"overtopping": "overtopping volume", "bathtub": "static bathtub"}
#: Standard of the notional seawall, years: the upper Shanghai seawall standard (domain.md 2.2).
NOTIONAL_WALL_RETURN_PERIOD = 200.0


class FloodOptions(BaseModel):
    """Choices of a coastal flood map; the defaults are those of ``resilience flood``."""

    station: str = "wusongkou"
    scenarios: list[str] | None = None  #: None: every scenario of the surge layer
    horizons: list[str] | None = None  #: None: every horizon of the surge layer
    return_periods: list[float] | None = None  #: None: every return period of the layer
    levels: Literal["integrated", "quantiles"] = "integrated"
    defences: Literal["notional", "file", "none"] = "notional"
    crest_m: float | None = None  #: notional wall crest on the DEM datum; None: 200-yr level
    breached: list[str] = Field(default_factory=list)
    overtopping: Literal["allow", "none"] = "allow"
    method: Literal["overtopping", "bathtub"] = "overtopping"
    #: synthetic storm tide (hazard_models.coast.storm_tide; ASSUMPTIONS, docs/surge.md 6)
    tide_range_m: float = Field(default=SyntheticStormTide.tide_range_m, ge=0.0, le=20.0)
    surge_peak_m: float = Field(default=SyntheticStormTide.surge_peak_m, ge=0.0, le=10.0)
    surge_duration_h: float = Field(default=SyntheticStormTide.surge_duration_h, gt=0.0, le=240.0)
    dem_datum: str = "Wusong"  #: the shipped DEM's datum is undocumented (D10, UNCONFIRMED)
    wusong_below_1985_m: float | None = None  #: None: the UNCONFIRMED default 1.717 m


def read_defence_lines(path: Path) -> list[DefenceLine]:
    """Read defence segments from a CSV: ``segment, crest_m, lon, lat``, one row per vertex.

    Rows of one segment are consecutive and in order along the line; every row of a segment
    repeats its crest height (m, on the DEM's datum). Other columns are ignored.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        A missing column, a number that does not parse, a segment whose crest changes or
        whose rows are split, or a segment of one vertex (file, line and field).
    """
    from hazard_models.coast.inundation import DefenceLine
    from hazard_models.layer import SchemaError
    from resilience.storage.csv_rows import parse_float, read_rows, where

    _, rows = read_rows(Path(path), DEFENCE_COLUMNS)
    segments: dict[str, dict] = {}
    previous = None
    for line, row in rows:
        name = row["segment"]
        if not name:
            raise SchemaError(f"{where(path, line, 'segment')}: expected a name, found ''")
        crest = parse_float(row["crest_m"], path, line, "crest_m")
        if name in segments and name != previous:
            message = f"expected the rows of segment {name!r} together, found it again"
            raise SchemaError(f"{where(path, line, 'segment')}: {message}")
        entry = segments.setdefault(name, {"crest": crest, "lon": [], "lat": [], "line": line})
        if crest != entry["crest"]:
            message = f"expected one crest per segment ({entry['crest']:g} m), found {crest:g}"
            raise SchemaError(f"{where(path, line, 'crest_m')}: {message}")
        entry["lon"].append(parse_float(row["lon"], path, line, "lon"))
        entry["lat"].append(parse_float(row["lat"], path, line, "lat"))
        previous = name
    for name, entry in segments.items():
        if len(entry["lon"]) < 2:
            message = f"expected at least 2 vertices for segment {name!r}, found 1"
            raise SchemaError(f"{where(path, entry['line'], 'segment')}: {message}")
    return [
        DefenceLine(name, tuple(e["lon"]), tuple(e["lat"]), e["crest"])
        for name, e in segments.items()
    ]


def _pick(values: Sequence, wanted: Sequence | None, option: str) -> list:
    """Return ``wanted`` (or all ``values``), raising for any value the layer lacks."""
    if wanted is None:
        return list(values)
    known = list(values)
    missing = [w for w in wanted if w not in known]
    if missing:
        raise ValueError(f"{option}: {missing} not in the surge layer; expected some of {known}")
    return list(wanted)


def _station_levels(surge: xr.Dataset, options: FloodOptions) -> xr.DataArray:
    """Return the chosen levels of the station (scenario, horizon, return_period[, quantile])."""
    stations = [str(s) for s in surge["station"].values]
    if options.station not in stations:
        raise ValueError(f"--station {options.station!r}: expected one of {stations}")
    name = "still_water_level_integrated" if options.levels == "integrated" else "still_water_level"
    if name not in surge.data_vars:
        raise ValueError(
            f"surge layer: expected variable {name!r} (republish the surge layer, or use "
            f"--levels quantiles), found {sorted(str(v) for v in surge.data_vars)}"
        )
    level = surge[name].sel(station=options.station)
    periods = [float(p) for p in surge["return_period"].values]
    chosen = {
        "scenario": _pick(surge["scenario"].values.tolist(), options.scenarios, "--scenarios"),
        "horizon": _pick(surge["horizon"].values.tolist(), options.horizons, "--horizons"),
        "return_period": _pick(periods, options.return_periods, "--return-periods"),
    }
    return level.sel(chosen)


def _datum_shift(datum: str, options: FloodOptions) -> tuple[float, str]:
    """Return the shift (m) from the surge layer's datum to the DEM's, and a note of it."""
    from resilience.coast.datum import DEFAULT_OFFSETS, DatumOffsets, canonical_datum, datum_shift_m

    offsets = DEFAULT_OFFSETS
    if options.wusong_below_1985_m is not None:
        offsets = DatumOffsets(wusong_below_1985_m=options.wusong_below_1985_m)
    source, target = canonical_datum(datum), canonical_datum(options.dem_datum)
    if source == target:
        return 0.0, f"levels and DEM on the {target} datum"
    shift = datum_shift_m(source, target, offsets=offsets)
    flagged = [d for d in (source, target) if not offsets.is_confirmed(d)]
    status = f" (offset UNCONFIRMED for {flagged})" if flagged else ""
    return shift, f"levels converted {source} -> {target} datum, {shift:+.4f} m{status}"


def _notional_crest(surge: xr.Dataset, options: FloodOptions) -> float:
    """Return today's 200-year median level of the station (m, the layer's datum)."""
    periods = [float(p) for p in surge["return_period"].values]
    if NOTIONAL_WALL_RETURN_PERIOD not in periods or "baseline" not in surge["horizon"].values:
        raise ValueError(
            "--crest-m: the surge layer has no baseline 200-yr level for the notional seawall "
            f"(return periods {periods}); give --crest-m"
        )
    pick = {"horizon": "baseline", "return_period": NOTIONAL_WALL_RETURN_PERIOD, "quantile": 0.5}
    today = surge["still_water_level"].sel(pick).sel(station=options.station)
    return float(today.isel(scenario=0))


def _defences(
    dem: xr.DataArray,
    lines: Sequence[DefenceLine],
    crest_m: float | None,
    *,
    options: FloodOptions,
) -> tuple[xr.Dataset | None, str]:
    """Return the defence raster (crest_m, segment) on the DEM grid and its description.

    ``crest_m`` is the notional wall's crest on the DEM datum (used for "notional" only).
    """
    import numpy as np
    import xarray as xr

    from hazard_models.coast.inundation import coastal_ring, edge_water, rasterise_defences

    if options.defences == "none":
        raster, description = None, "no defences"
    elif options.defences == "file":
        names = ", ".join(f"{line.name} {line.crest_m:g} m" for line in lines)
        raster = rasterise_defences(lines, dem["lat"].values, dem["lon"].values)
        description = f"defence lines: {names}"
    else:
        if crest_m is None:
            raise ValueError("--crest-m: expected the crest of the notional seawall, found none")
        ring = coastal_ring(edge_water(dem.values))
        raster = xr.Dataset(
            {
                "crest_m": (("lat", "lon"), np.where(ring, crest_m, np.nan)),
                "segment": (("lat", "lon"), np.where(ring, "notional_seawall", "")),
            },
            coords={"lat": dem["lat"], "lon": dem["lon"]},
        )
        description = f"notional seawall on the coastline ring, crest {crest_m:.3f} m"
    known = (
        [] if raster is None else sorted({str(s) for s in raster["segment"].values.ravel()} - {""})
    )
    unknown = [name for name in options.breached if name not in known]
    if unknown:
        raise ValueError(f"--breach: unknown segments {unknown}; expected some of {known}")
    return raster, description


def build_flood_layer(
    surge: xr.Dataset,
    dem: xr.DataArray,
    lines: Sequence[DefenceLine] = (),
    *,
    options: FloodOptions,
    storm_tide: StormTideSeries | None = None,
    inputs_sha256: str = "",
    code_version: str = "",
) -> xr.Dataset:
    """Build the coastal-flood HazardLayer of one station (no I/O).

    Parameters
    ----------
    surge : xarray.Dataset
        The surge HazardLayer (``still_water_level`` and, for ``levels="integrated"``,
        ``still_water_level_integrated``; m on its ``datum`` coordinate).
    dem : xarray.DataArray
        Ground elevation (lat, lon), m on ``options.dem_datum``; NaN = sea or no data.
    lines : sequence of DefenceLine
        Defence segments when ``options.defences == "file"`` (crest m on the DEM datum).
    options : FloodOptions
        Station, selections, defences, breaches, overtopping, method, storm-tide shape and
        datums.
    storm_tide : StormTideSeries, optional
        A user storm-tide event for ``method="overtopping"`` (shifted to each level); default
        the synthetic shape of ``options`` (tide range, surge peak and duration).

    Returns
    -------
    xarray.Dataset
        :func:`hazard_models.coast.inundation.build_inundation_layer` of the station's levels, with
        the station, the levels used, the datum conversion and the defences in ``history``
        and in the ``station``, ``level_variable`` and ``defences`` attributes.

    Raises
    ------
    ValueError
        An unknown station, scenario, horizon, return period or breached segment (the
        option and the known values are named), or a layer without the chosen levels.
    """
    from hazard_models.coast.inundation import build_inundation_layer
    from hazard_models.layer import append_history, synthetic_flag

    levels = _station_levels(surge, options)
    datum = str(surge["datum"].sel(station=options.station).item())
    shift, datum_note = _datum_shift(datum, options)
    levels = (levels + shift).assign_attrs(levels.attrs)
    crest = options.crest_m
    if options.defences == "notional" and crest is None:
        crest = _notional_crest(surge, options) + shift
    defences, description = _defences(dem, lines, crest, options=options)
    shape = storm_tide or SyntheticStormTide(
        tide_range_m=options.tide_range_m,
        surge_peak_m=options.surge_peak_m,
        surge_duration_h=options.surge_duration_h,
    )
    layer = build_inundation_layer(
        dem,
        levels,
        defences=defences,
        overtopping=options.overtopping,
        breached=options.breached,
        method=options.method,
        storm_tide=shape,
        inputs_sha256=inputs_sha256,
        code_version=code_version,
        synthetic=synthetic_flag(surge.attrs),
    )
    layer.attrs.update(
        station=options.station,
        level_variable=str(levels.name),
        defences=description,
        flood_method=options.method,
        storm_tide=shape.describe() if options.method == "overtopping" else "none (static)",
    )
    note = (
        f"flood map of station {options.station} ({options.method}): {levels.name}; "
        f"{datum_note}; {description}"
    )
    append_history(layer.attrs, note)
    return layer


def write_flood_layer(layer: xr.Dataset, path: Path) -> Path:
    """Write the layer to NetCDF atomically (temporary file, then ``os.replace``)."""
    from resilience.storage.atomic import atomic_path

    encoding = {name: {"zlib": True, "complevel": 1} for name in layer.data_vars}
    with atomic_path(Path(path)) as temporary:
        layer.to_netcdf(temporary, encoding=encoding)
    return Path(path)


def _depth_panel(axis: Any, depth: xr.DataArray, limit: float) -> Any:
    """Draw one depth map (lat, lon; m) on ``axis``: dry land grey, water blue, sea blank."""
    import numpy as np

    values = depth.values
    lon, lat = depth["lon"].values, depth["lat"].values
    dry = np.where(values == 0, 1.0, np.nan)  # light grey on a 0-4 grey scale
    axis.pcolormesh(lon, lat, dry, shading="nearest", cmap="Greys", vmin=0, vmax=4)
    wet = np.where(values > 0, values, np.nan)
    # vmin below 0 so that the shallowest water is visibly blue against the white sea.
    mesh = axis.pcolormesh(
        lon, lat, wet, shading="nearest", cmap="Blues", vmin=-0.2 * limit, vmax=limit
    )
    axis.set_aspect(1.0 / np.cos(np.deg2rad(float(lat.mean()))))
    return mesh


def most_telling_return_period(layer: xr.Dataset) -> float:
    """Return the return period whose panels differ most: the largest spread of flooded area.

    The spread is max - min of the median ``flooded_area`` (km2) over scenario x horizon; at
    the largest return periods every panel is often flooded alike (the whole polder behind
    an overtopped wall), and at the smallest none is. Ties go to the shorter period.
    """
    area = layer["flooded_area"]
    if "quantile" in area.dims:
        area = area.sel(quantile=0.5, method="nearest")
    spread = (area.max(["scenario", "horizon"]) - area.min(["scenario", "horizon"])).values
    periods = [float(p) for p in area["return_period"].values]
    best = max(range(len(periods)), key=lambda i: (float(spread[i]), -periods[i]))
    return periods[best]


def plot_flood_depth(layer: xr.Dataset, path: Path, *, return_period: float | None = None) -> Path:
    """Draw flood-depth maps, one panel per scenario and horizon (PNG, atomic write).

    The panels show ``return_period`` (default :func:`most_telling_return_period`) and the
    median quantile when the layer has one, each titled with its flooded area (km2); dry
    land is grey, the sea white.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from resilience.storage.atomic import atomic_path

    depth = layer["flood_depth"]
    period = return_period or most_telling_return_period(layer)
    if period not in {float(p) for p in depth["return_period"].values}:
        raise ValueError(
            f"return period {period:g}: expected one of the layer's "
            f"{[float(p) for p in depth['return_period'].values]}"
        )
    depth = depth.sel(return_period=period)
    area = layer["flooded_area"].sel(return_period=period)
    if "quantile" in depth.dims:
        depth = depth.sel(quantile=0.5, method="nearest")
    if "quantile" in area.dims:
        area = area.sel(quantile=0.5, method="nearest")
    scenarios, horizons = depth["scenario"].values, depth["horizon"].values
    fig, axes = plt.subplots(
        len(scenarios),
        len(horizons),
        figsize=(3.2 * len(horizons), 3.0 * len(scenarios)),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    limit = max(float(np.nanmax(depth.values)), 0.1)
    for i, scenario in enumerate(scenarios):
        for j, horizon in enumerate(horizons):
            mesh = _depth_panel(axes[i, j], depth.sel(scenario=scenario, horizon=horizon), limit)
            flooded = float(area.sel(scenario=scenario, horizon=horizon))
            axes[i, j].set_title(f"{scenario} {horizon}: {flooded:,.0f} km²", fontsize="small")
    label = METHOD_LABELS.get(str(layer.attrs.get("flood_method", "bathtub")), "")
    bar = fig.colorbar(mesh, ax=axes, label=f"flood depth (m), {label}", shrink=0.8)
    bar.ax.set_ylim(0.0, limit)
    fig.suptitle(f"{layer.attrs.get('station', '')}: {period:g}-yr flood depth ({label})")
    with atomic_path(Path(path)) as temporary:
        fig.savefig(temporary, format="png", dpi=100)
    plt.close(fig)
    return Path(path)
