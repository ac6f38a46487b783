"""PNG figures of hazard layers: return-level and change maps, and an IDF chart.

matplotlib (Agg backend, no display) is imported inside each function so that the CLI starts
fast. Every figure is written atomically and its path returned. Maps draw the shipped
district boundaries and the municipality's outline (its coast) over the cells, name the
return period in the title of a return level, and explain their dots in a legend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from resilience.storage.atomic import atomic_path

__all__ = ["map_figure", "plot_change_map", "plot_idf_chart", "plot_level_map"]

#: The legend entry of the dots on change maps (IPCC AR6 WGI Atlas, "simple approach").
DISAGREE_LABEL = "dots: fewer than 80 % of models agree on the sign"


def _pyplot():  # noqa: ANN202 - the matplotlib.pyplot module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:  # noqa: ANN001 - matplotlib Figure
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _pyplot().close(fig)
    return Path(path)


def _outlines(ax) -> int:  # noqa: ANN001 - matplotlib Axes
    """Draw district boundaries and the municipality's outline (its coast); return how many."""
    from resilience.geodata.geography import open_districts, open_municipality

    drawn = 0
    for frame, width, colour in ((open_districts(), 0.4, "0.35"), (open_municipality(), 1.0, "k")):
        for geometry in frame.geometry.boundary:
            parts = getattr(geometry, "geoms", [geometry])
            for part in parts:
                x, y = part.xy
                ax.plot(x, y, linewidth=width, color=colour, zorder=3)
                drawn += 1
    return drawn


def map_figure(
    field: xr.DataArray,
    title: str,
    *,
    cmap: str,
    centred: bool,
    stipple: xr.DataArray | None = None,
    outlines: bool = True,
):  # noqa: ANN201 - matplotlib Figure
    """Return the figure of one map: cells, colour bar in the field's units, outlines, dots.

    Parameters
    ----------
    field : xarray.DataArray
        A (lat, lon) field with ``units``.
    title : str
    cmap : str
        A matplotlib colour map.
    centred : bool
        Colour scale symmetric about 0 (changes).
    stipple : xarray.DataArray, optional
        True where a dot is drawn (models disagree); explained in a legend.
    outlines : bool
        Draw the districts and the municipality's outline (the shipped boundaries).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    values = np.asarray(field.transpose("lat", "lon").values, dtype=float)
    limit = float(np.nanmax(np.abs(values))) if centred and np.isfinite(values).any() else None
    mesh = ax.pcolormesh(
        field["lon"].values,
        field["lat"].values,
        values,
        shading="nearest",
        cmap=cmap,
        vmin=-limit if limit else None,
        vmax=limit,
    )
    fig.colorbar(mesh, ax=ax, label=field.attrs.get("units", ""))
    if outlines:
        x_range, y_range = ax.get_xlim(), ax.get_ylim()
        _outlines(ax)
        ax.set_xlim(x_range)  # the cells' extent, not the whole municipality's
        ax.set_ylim(y_range)
    if stipple is not None:  # cells where models do not agree on the sign (AR6 hatching)
        lon, lat = np.meshgrid(stipple["lon"].values, stipple["lat"].values)
        mask = np.asarray(stipple.transpose("lat", "lon").values, dtype=bool)
        ax.scatter(lon[mask], lat[mask], s=4, c="k", marker=".", label=DISAGREE_LABEL)
        ax.legend(loc="lower left", fontsize="x-small", framealpha=0.8)
    ax.set(xlabel="longitude (degrees east)", ylabel="latitude (degrees north)", title=title)
    ax.set_aspect(1.0 / np.cos(np.deg2rad(float(field["lat"].mean()))))
    return fig


def _map(
    field: xr.DataArray,
    path: Path,
    title: str,
    *,
    cmap: str,
    centred: bool,
    stipple: xr.DataArray | None = None,
) -> Path:
    figure = map_figure(field, title, cmap=cmap, centred=centred, stipple=stipple)
    return _save(figure, path)


def _select(var: xr.DataArray, scenario: str, horizon: str, period: float | None) -> xr.DataArray:
    picked = var.sel(scenario=scenario, horizon=horizon)
    if "quantile" in picked.dims:
        picked = picked.sel(quantile=0.5, method="nearest")
    if "return_period" in picked.dims:
        picked = picked.sel(return_period=period or 20.0, method="nearest")
    return picked


def _period_text(field: xr.DataArray) -> str:
    """Return ``"20-yr "`` for a field picked at a return period, else ``""``."""
    if "return_period" in field.coords and field["return_period"].ndim == 0:
        return f"{float(field['return_period']):g}-yr "
    return ""


def plot_level_map(
    layer: xr.Dataset,
    variable: str,
    path: Path,
    *,
    scenario: str,
    horizon: str,
    return_period: float | None = None,
) -> Path:
    """Map the ensemble median of ``variable`` (the 20-yr level of a return level by default).

    The title names the return period of a return level, the scenario and the horizon.
    """
    field = _select(layer[variable], scenario, horizon, return_period)
    name = layer[variable].attrs.get("long_name", variable)
    title = f"{_period_text(field)}{name}\n{scenario} {horizon}, median"
    return _map(field, path, title, cmap="magma_r", centred=False)


def plot_change_map(
    layer: xr.Dataset,
    variable: str,
    path: Path,
    *,
    scenario: str,
    horizon: str,
    return_period: float | None = None,
) -> Path:
    """Map the median change of ``variable`` vs the baseline.

    Dots mark cells where fewer than 80 % of models agree on the sign of the change
    (``{variable}_robustness``; the IPCC AR6 WGI Atlas "simple approach"); a legend says so.
    """
    change = layer[f"{variable}_change"]
    field = _select(change, scenario, horizon, return_period)
    robust = layer.get(f"{variable}_robustness")
    stipple = None
    if robust is not None:
        stipple = _select(robust, scenario, horizon, return_period) < 0.8
    what = f"{_period_text(field)}{variable}"
    title = f"change of {what} vs 1995-2014\n{scenario} {horizon}, median of models"
    return _map(field, path, title, cmap="RdBu_r", centred=True, stipple=stipple)


def plot_idf_chart(idf: xr.DataArray, path: Path, *, title: str) -> Path:
    """Plot intensity (mm/h) against duration, one line per return period, log-log axes.

    ``idf`` has dims (return_period, duration) and optionally ``horizon`` (dashed lines for
    the last horizon against solid baseline lines).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    horizons = list(idf["horizon"].values) if "horizon" in idf.dims else [None]
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, idf.sizes["return_period"]))
    for style, horizon in zip(("-", "--"), (horizons[0], horizons[-1]), strict=True):
        curves = idf if horizon is None else idf.sel(horizon=horizon)
        for colour, period in zip(colours, idf["return_period"].values, strict=True):
            label = f"{period:g} yr" + ("" if horizon is None else f" ({horizon})")
            ax.plot(
                curves["duration"].values,
                curves.sel(return_period=period).values,
                style,
                color=colour,
                label=label if style == "-" or horizon != horizons[0] else None,
            )
        if len(horizons) == 1:
            break
    ax.set(xscale="log", yscale="log", xlabel="duration (min)", ylabel="intensity (mm/h)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)
