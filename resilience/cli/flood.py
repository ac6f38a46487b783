"""``resilience flood``: coastal flood-depth maps of one tide station, as a HazardLayer file.

Reads the current surge layer from the layer store (or ``--surge-layer FILE``) and the
shipped DEM (or ``--dem FILE``), floods it with the station's still-water levels behind the
chosen defences (:mod:`resilience.coast.flood_map`), writes the validated layer atomically,
prints the flooded area per scenario, horizon and return period and, with ``--plot``, draws
the depth maps. ``--method overtopping`` (default) stores behind the defences the water that
overflows them during a storm tide (:mod:`hazard_models.coast.overtopping`; synthetic shape
or ``--storm-tide FILE``) and also prints the static bathtub's area, its upper bound;
``--method bathtub`` is the static bathtub alone. Read the limits in ``docs/surge.md``
section 6.

Start-up stays light: only typer and rich load with this module. The lead registers it in
``resilience/cli/main.py``::

    from resilience.cli.flood import flood_command
    app.command("flood")(flood_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from hazard_models.coast.storm_tide import SyntheticStormTide

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["flood_command", "flooded_area_rows", "format_flooded_area", "open_surge_layer"]


def open_surge_layer(path: Path | None, config: Path | None = None) -> tuple[xr.Dataset, Path]:
    """Return the surge layer (loaded, validated) and its file.

    Parameters
    ----------
    path : pathlib.Path, optional
        A surge HazardLayer NetCDF; default the current ``surge`` layer of the layer store
        (``settings.layer_store_dir``, settings from ``config`` or the environment).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        If the file is not a valid HazardLayer or not a surge layer.
    ValueError
        If the store has no surge layer (the message says how to make one).
    """
    import xarray as xr

    from hazard_models.layer import SchemaError, validate_hazard_layer

    if path is None:
        from resilience.settings import get_settings
        from resilience.storage.layer_store import LayerStore

        store = LayerStore(get_settings(config).layer_store_dir)
        try:
            path = store.current("surge").path
        except KeyError as error:
            raise ValueError(
                f"{error.args[0]}; run `resilience refresh` or pass --surge-layer FILE"
            ) from None
    if not Path(path).is_file():
        raise FileNotFoundError(f"--surge-layer: {path} does not exist")
    with xr.open_dataset(path) as dataset:
        layer = dataset.load()
    try:
        validate_hazard_layer(layer)
    except SchemaError as error:
        raise SchemaError(f"{path}: {error}") from None
    if layer.attrs.get("hazard") != "surge" or "station" not in layer.dims:
        found = layer.attrs.get("hazard")
        raise SchemaError(f"{path}: expected a station layer with hazard 'surge', found {found!r}")
    return layer, Path(path)


#: Per-map variables of the layer -> JSON keys (units in the names).
ROW_VARIABLES = {
    "flooded_area": "flooded_area_km2",
    "bathtub_area": "bathtub_area_km2",
    "overtopping_volume": "overtopping_volume_m3",
    "stored_volume": "stored_volume_m3",
    "bathtub_bound": "bathtub_bound",
}


def flooded_area_rows(layer: xr.Dataset) -> list[dict[str, Any]]:
    """Return one row per map: scenario, horizon, return period[, quantile], area (km2).

    With the overtopping method the rows also hold the bathtub area (km2, the upper bound),
    the volume over the defences and the volume stored (m3), and ``bathtub_bound`` (1 where
    the stored water reached the bathtub level).
    """
    names = {v: key for v, key in ROW_VARIABLES.items() if v in layer.data_vars}
    frame = layer[list(names)].to_dataframe().rename(columns=names)
    frame = frame[list(names.values())].reset_index()
    frame = frame.drop(columns=[c for c in ("start", "end") if c in frame.columns])
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def format_flooded_area(layer: xr.Dataset, variable: str = "flooded_area") -> Any:
    """Return a rich table of flooded area (km2): scenario x horizon rows, return periods.

    ``variable`` is ``"flooded_area"`` (the layer's method) or ``"bathtub_area"`` (the
    static upper bound, in an overtopping layer).
    """
    from rich.table import Table

    from resilience.coast.flood_map import METHOD_LABELS

    area = layer[variable]
    periods = [float(p) for p in area["return_period"].values]
    label = METHOD_LABELS.get(str(layer.attrs.get("flood_method", "bathtub")), "")
    label = "static bathtub, upper bound" if variable == "bathtub_area" else label
    table = Table(
        title=f"{layer.attrs.get('station', '')}: flooded land, km2 ({label})",
        caption=f"{layer.attrs.get('defences', '')}; levels: {layer.attrs.get('level_variable')}"
        + ("; median (17-83 % rise)" if "quantile" in area.dims else ""),
    )
    for column in ("scenario", "horizon", *(f"{p:g}-yr" for p in periods)):
        table.add_column(column, justify="right")
    for scenario in area["scenario"].values:
        for horizon in area["horizon"].values:
            cells = []
            for period in periods:
                value = area.sel(scenario=scenario, horizon=horizon, return_period=period)
                if "quantile" in value.dims:
                    low, mid, high = (float(value.sel(quantile=q)) for q in (0.17, 0.5, 0.83))
                    cells.append(f"{mid:,.0f} ({low:,.0f}-{high:,.0f})")
                else:
                    cells.append(f"{float(value):,.0f}")
            table.add_row(str(scenario), str(horizon), *cells)
    return table


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


def _numbers(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers, found {text!r}", param_hint="--return-periods"
        ) from None


def _defence_choice(no_defences: bool, crest_m: float | None, defences: Path | None) -> str:
    if sum([no_defences, crest_m is not None, defences is not None]) > 1:
        _fail("give at most one of --no-defences, --crest-m and --defences")
    return "none" if no_defences else ("file" if defences is not None else "notional")


def flood_command(
    out: Annotated[Path, typer.Option("--out", help="Flood-depth HazardLayer to write (.nc).")],
    station: Annotated[str, typer.Option("--station", help="Tide station.")] = "wusongkou",
    scenarios: Annotated[str | None, typer.Option("--scenarios", help="Default: all.")] = None,
    horizons: Annotated[str | None, typer.Option("--horizons", help="Default: all.")] = None,
    return_periods: Annotated[
        str | None, typer.Option("--return-periods", help="Years; default: all of the layer.")
    ] = None,
    levels: Annotated[
        str, typer.Option("--levels", help="integrated (over the rise) or quantiles.")
    ] = "integrated",
    no_defences: Annotated[bool, typer.Option("--no-defences", help="No defence at all.")] = False,
    crest_m: Annotated[
        float | None, typer.Option("--crest-m", help="Notional seawall crest, m (DEM datum).")
    ] = None,
    defences: Annotated[
        Path | None, typer.Option("--defences", help="CSV of segment, crest_m, lon, lat.")
    ] = None,
    breach: Annotated[
        list[str] | None, typer.Option("--breach", help="Remove a named segment (repeatable).")
    ] = None,
    overtopping: Annotated[str, typer.Option("--overtopping", help="allow or none.")] = "allow",
    method: Annotated[
        str, typer.Option("--method", help="overtopping (volume over the walls) or bathtub.")
    ] = "overtopping",
    storm_tide: Annotated[
        Path | None,
        typer.Option("--storm-tide", help="CSV time_h, level_m: the event's shape (overtopping)."),
    ] = None,
    tide_range_m: Annotated[
        float, typer.Option("--tide-range-m", help="Synthetic storm tide: M2 tide range, m.")
    ] = SyntheticStormTide.tide_range_m,
    surge_peak_m: Annotated[
        float, typer.Option("--surge-peak-m", help="Synthetic storm tide: surge peak, m.")
    ] = SyntheticStormTide.surge_peak_m,
    surge_duration_h: Annotated[
        float, typer.Option("--surge-duration-h", help="Synthetic storm tide: surge length, h.")
    ] = SyntheticStormTide.surge_duration_h,
    surge_layer: Annotated[
        Path | None, typer.Option("--surge-layer", help="Surge layer file (default: store).")
    ] = None,
    dem: Annotated[
        Path | None, typer.Option("--dem", help="DEM NetCDF (default: shipped).")
    ] = None,
    dem_datum: Annotated[
        str, typer.Option("--dem-datum", help="Datum of the DEM (shipped: taken as Wusong).")
    ] = "Wusong",
    wusong_below_1985: Annotated[
        float | None, typer.Option("--wusong-below-1985-m", help="Datum offset (UNCONFIRMED).")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Depth maps (PNG).")] = None,
    plot_return_period: Annotated[
        float | None,
        typer.Option(
            "--plot-return-period",
            help="Return period of the maps, years (default: where the panels differ most).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print flooded areas as JSON.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Settings TOML file.")] = None,
) -> None:
    """Coastal flood-depth maps of a station's still-water levels (overtopping or bathtub)."""
    from pydantic import ValidationError

    from hazard_models.layer import SchemaError
    from resilience.coast.flood_map import FloodOptions
    from resilience.validation_text import describe

    choice = _defence_choice(no_defences, crest_m, defences)
    try:
        options = FloodOptions.model_validate(
            {
                "station": station,
                "scenarios": _names(scenarios),
                "horizons": _names(horizons),
                "return_periods": _numbers(return_periods),
                "levels": levels,
                "defences": choice,
                "crest_m": crest_m,
                "breached": breach or [],
                "overtopping": overtopping,
                "method": method,
                "tide_range_m": tide_range_m,
                "surge_peak_m": surge_peak_m,
                "surge_duration_h": surge_duration_h,
                "dem_datum": dem_datum,
                "wusong_below_1985_m": wusong_below_1985,
            }
        )
        if storm_tide is not None and options.method != "overtopping":
            raise ValueError("--storm-tide: only with --method overtopping")
        layer = _build(
            options,
            surge_layer=surge_layer,
            dem=dem,
            files={"defences": defences, "storm_tide": storm_tide},
            config=config,
        )
    except ValidationError as error:
        _fail(describe("invalid option", error, prefix="--"))
    except (FileNotFoundError, SchemaError, ValueError) as error:
        _fail(str(error))
    from resilience.coast.flood_map import (
        most_telling_return_period,
        plot_flood_depth,
        write_flood_layer,
    )

    written = write_flood_layer(layer, out)
    if as_json:
        typer.echo(json.dumps({"layer": str(written), "areas": flooded_area_rows(layer)}, indent=2))
    else:
        console = Console()
        console.print(format_flooded_area(layer))
        if "bathtub_area" in layer.data_vars:
            console.print(format_flooded_area(layer, "bathtub_area"))
            console.print(_volume_note(layer))
        console.print(f"layer {written}")
    if plot is not None:
        try:
            picture = plot_flood_depth(layer, plot, return_period=plot_return_period)
        except ValueError as error:
            _fail(f"--plot-return-period: {error}")
        if not as_json:
            period = plot_return_period or most_telling_return_period(layer)
            median = ", median" if "quantile" in layer["flood_depth"].dims else ""
            Console().print(f"plot {picture} ({period:g}-yr flood depth{median})")


def _volume_note(layer: xr.Dataset) -> str:
    """Return one line on the volumes of an overtopping layer (largest map)."""
    volume = float(layer["overtopping_volume"].max())
    bound = int(layer["bathtub_bound"].sum())
    maps = int(layer["bathtub_bound"].size)
    return (
        f"overtopping: up to {volume / 1e6:,.1f} million m3 over the defences in one event; "
        f"{bound} of {maps} maps reach the bathtub bound somewhere; "
        f"{layer.attrs.get('storm_tide')}"
    )


def _build(
    options: Any,
    *,
    surge_layer: Path | None,
    dem: Path | None,
    files: dict[str, Path | None],
    config: Path | None,
) -> xr.Dataset:
    """Read the inputs and build the layer (see :mod:`resilience.coast.flood_map`).

    ``files`` holds the optional ``defences`` and ``storm_tide`` CSV paths.
    """
    import resilience
    from resilience.coast.flood_map import build_flood_layer, read_defence_lines
    from resilience.coast.storm_tide_io import read_storm_tide
    from resilience.geodata.geography import DEM_FILE, data_path, open_dem
    from resilience.storage.provenance import sha256_files

    surge, surge_path = open_surge_layer(surge_layer, config)
    dem_path = Path(dem) if dem is not None else data_path(*DEM_FILE)
    defences, tide_file = files.get("defences"), files.get("storm_tide")
    lines = read_defence_lines(defences) if defences is not None else []
    event = read_storm_tide(tide_file) if tide_file is not None else None
    inputs = [surge_path, dem_path, *[f for f in (defences, tide_file) if f is not None]]
    return build_flood_layer(
        surge,
        open_dem(dem_path),
        lines,
        options=options,
        storm_tide=event,
        inputs_sha256=sha256_files(inputs),
        code_version=f"resilience {resilience.__version__}",
    )


def _fail(message: str) -> NoReturn:
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)
