"""Static coastal inundation: a connected-component bathtub on a DEM, with defence lines.

For a still-water level h, a land cell floods when its ground is below h AND it is linked to
the sea or river by a chain of such cells (4-connected: edge neighbours only). Components are
labelled with ``scipy.ndimage.label``; only those that contain a source cell (sea or river)
flood, so a low basin behind high ground stays dry. This is the "connected" bathtub of
Poulter & Halpin (2008) and Yunus et al. (2016), as opposed to the plain "h > ground" bathtub.

Defence lines are rasterised as chains of cells with a crest height (m, same datum as the
DEM). Options, all explicit:

* ``overtopping="allow"`` (default): a wall cell passes water only when h exceeds
  max(ground, crest); ``"none"``: walls hold at any level (a "defences hold" scenario).
* ``breached=("name", ...)``: the named segments are removed (their cells take the ground
  level of the DEM), so water enters through the gap.

Limits (``docs/surge.md``): the method is static. It has no flow dynamics, no storm duration
or volume (an overtopped basin fills to h however short the peak; ``method="overtopping"`` of
:func:`build_inundation_layer` stores only the water that crosses the walls, see
:mod:`hazard_models.coast.overtopping`), no friction, wave run-up,
drainage or pumping, and a 30-arc-second DEM (~0.9 km) that cannot resolve walls, creeks or
the Huangpu channel. Depths are upper bounds of what a real event of level h would bring.

References
----------
Poulter, B. & Halpin, P. N. (2008). Raster modelling of coastal flooding from sea-level rise.
Int. J. Geogr. Inf. Sci. 22, 167-182.
Yunus, A. P. et al. (2016). Uncertainties in tidally adjusted estimates of sea level rise
flooding (bathtub model) for the Greater London. Remote Sens. 8, 366.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from hazard_models.coast.storm_tide import StormTideShape
from hazard_models.horizon_stats import finish_layer, with_attrs
from hazard_models.layer import SchemaError

__all__ = [
    "DefenceLine",
    "FloodMethod",
    "Overtopping",
    "build_inundation_layer",
    "cell_area_km2",
    "coastal_ring",
    "edge_water",
    "flood_depth",
    "flood_extent",
    "rasterise_defences",
]

Overtopping = Literal["allow", "none"]
FloodMethod = Literal["bathtub", "overtopping"]
#: Edge neighbours only: water does not pass diagonally between two wall cells.
FOUR_NEIGHBOURS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
EARTH_RADIUS_KM = 6371.0  # mean Earth radius (IUGG), for cell areas
_SAMPLES_PER_CELL = 4  # points per cell length when rasterising a line (keeps it 8-connected)
_LEVEL_DIMS = ("scenario", "horizon", "return_period", "quantile")


@dataclass(frozen=True)
class DefenceLine:
    """A named defence segment: a polyline (degrees) with one crest height (m on the datum)."""

    name: str
    lon: tuple[float, ...]
    lat: tuple[float, ...]
    crest_m: float

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("DefenceLine: expected a segment name, found ''")
        if len(self.lon) != len(self.lat) or len(self.lon) < 2:
            raise ValueError(f"DefenceLine {self.name!r}: expected >= 2 (lon, lat) vertices")
        if not np.isfinite(self.crest_m):
            raise ValueError(f"DefenceLine {self.name!r}: expected a finite crest_m")


def edge_water(ground_m: NDArray) -> NDArray:
    """Return the no-data (NaN) cells connected to the grid edge: the open sea and estuary.

    Inland NaN patches (lakes, gaps) are not sources. Dims as ``ground_m`` (lat, lon).
    """
    water = np.isnan(np.asarray(ground_m, dtype=float))
    labels, _ = _label(water)
    border = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return np.isin(labels, border[border > 0])


def coastal_ring(source: NDArray) -> NDArray:
    """Return the land cells that touch a source cell by an edge (a notional coastline).

    Every 4-connected path from the sea inland crosses this ring, so a wall on it closes the
    coast (useful for a schematic seawall where no surveyed line is available).
    """
    source = np.asarray(source, dtype=bool)
    padded = np.pad(source, 1)
    touching = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    return touching & ~source


def _label(mask: NDArray) -> tuple[NDArray, int]:
    from scipy import ndimage

    return ndimage.label(mask, structure=FOUR_NEIGHBOURS)


def flood_extent(
    ground_m: NDArray,
    source: NDArray,
    level_m: float,
    *,
    crest_m: NDArray | None = None,
    overtopping: Overtopping = "allow",
) -> NDArray:
    """Return the land cells flooded by a still-water level (connected bathtub).

    Parameters
    ----------
    ground_m : numpy.ndarray, shape (lat, lon)
        Ground elevation, m; NaN = water or no data (never flooded land).
    source : numpy.ndarray of bool, shape (lat, lon)
        Sea or river cells, at ``level_m``.
    level_m : float
        Still-water level, m on the datum of ``ground_m``.
    crest_m : numpy.ndarray, optional
        Crest height of a defence in each cell, m; NaN where there is none.
    overtopping : {"allow", "none"}
        "allow": a wall cell passes water when level > max(ground, crest). "none": never.

    Returns
    -------
    numpy.ndarray of bool
        True for flooded land cells (source cells are False).
    """
    if overtopping not in ("allow", "none"):
        raise ValueError(f"overtopping: expected 'allow' or 'none', found {overtopping!r}")
    ground = np.asarray(ground_m, dtype=float)
    source = np.asarray(source, dtype=bool)
    with np.errstate(invalid="ignore"):
        passable = ground < level_m
        if crest_m is not None:
            wall = ~np.isnan(crest_m)  # an infinite crest is a wall that always holds
            over = np.fmax(ground, crest_m) < level_m if overtopping == "allow" else False
            passable &= ~wall | over
    labels, _ = _label(passable | source)
    wet = np.unique(labels[source])
    return np.isin(labels, wet[wet > 0]) & ~source


def flood_depth(
    ground_m: NDArray,
    source: NDArray,
    level_m: float,
    *,
    crest_m: NDArray | None = None,
    overtopping: Overtopping = "allow",
) -> NDArray:
    """Return flood depth (m): level - ground on flooded land, 0 on dry land, NaN on water.

    Parameters are those of :func:`flood_extent`.
    """
    ground = np.asarray(ground_m, dtype=float)
    flooded = flood_extent(ground, source, level_m, crest_m=crest_m, overtopping=overtopping)
    depth = np.where(flooded, level_m - ground, 0.0)
    return np.where(np.isnan(ground) | np.asarray(source, dtype=bool), np.nan, depth)


def _regular_axis(values: NDArray, name: str) -> tuple[float, float]:
    step = np.diff(values)
    if values.size < 2 or not np.allclose(step, step[0], rtol=1e-6) or step[0] <= 0:
        raise SchemaError(f"{name}: expected a regular ascending axis")
    return float(values[0]), float(step[0])


def rasterise_defences(lines: Sequence[DefenceLine], lat: NDArray, lon: NDArray) -> xr.Dataset:
    """Rasterise defence lines onto a regular grid.

    Parameters
    ----------
    lines : sequence of DefenceLine
        Segments with unique names; where two share a cell the higher crest wins.
    lat, lon : numpy.ndarray
        Regular ascending cell-centre coordinates, degrees.

    Returns
    -------
    xarray.Dataset
        ``crest_m`` (lat, lon; m, NaN = no defence), ``segment`` (lat, lon; name, "" =
        none) and ``crest_length_m`` (lat, lon; m, the length of line in the cell, for the
        overtopping volume). Each line is sampled 4 times per cell length and every sample
        marks its nearest cell, so the cells of a line are 8-connected and block 4-connected
        water; each sample carries an equal share of its piece's length (equirectangular
        distance on a sphere of radius 6371 km), so a segment's cell lengths add up to its
        length inside the grid.
    """
    names = [line.name for line in lines]
    if len(set(names)) != len(names):
        raise SchemaError(f"defence lines: expected unique names, found {names}")
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    (lat0, dlat), (lon0, dlon) = _regular_axis(lat, "lat"), _regular_axis(lon, "lon")
    crest = np.full((lat.size, lon.size), np.nan)
    segment = np.full((lat.size, lon.size), "", dtype=object)
    samples = []
    for line in lines:
        x, y = (np.asarray(line.lon) - lon0) / dlon, (np.asarray(line.lat) - lat0) / dlat
        for k in range(x.size - 1):
            n = int(np.ceil(_SAMPLES_PER_CELL * np.hypot(x[k + 1] - x[k], y[k + 1] - y[k]))) + 1
            col = np.rint(np.linspace(x[k], x[k + 1], n)).astype(int)
            row = np.rint(np.linspace(y[k], y[k + 1], n)).astype(int)
            keep = (row >= 0) & (row < lat.size) & (col >= 0) & (col < lon.size)
            row, col = row[keep], col[keep]
            higher = ~(crest[row, col] >= line.crest_m)
            crest[row[higher], col[higher]] = line.crest_m
            segment[row[higher], col[higher]] = line.name
            piece = _piece_length_m(line, k) / n  # each sample carries 1/n of the piece
            samples.append((line.name, row, col, piece))
    length = np.zeros((lat.size, lon.size))
    for name, row, col, piece in samples:  # a cell's length: samples of its winning segment
        mine = segment[row, col] == name
        np.add.at(length, (row[mine], col[mine]), piece)
    coords = {"lat": lat, "lon": lon}
    return xr.Dataset(
        {
            "crest_m": (("lat", "lon"), crest, {"units": "m", "long_name": "defence crest"}),
            "segment": (("lat", "lon"), segment, {"long_name": "defence segment name"}),
            "crest_length_m": (
                ("lat", "lon"),
                np.where(np.isfinite(crest), length, np.nan),
                {"units": "m", "long_name": "crest length of the defence in the cell"},
            ),
        },
        coords=coords,
    )


def _piece_length_m(line: DefenceLine, k: int) -> float:
    """Return the length (m) of piece k of a line (equirectangular at its mid latitude)."""
    mid = np.deg2rad((line.lat[k] + line.lat[k + 1]) / 2)
    east = np.deg2rad(line.lon[k + 1] - line.lon[k]) * np.cos(mid)
    north = np.deg2rad(line.lat[k + 1] - line.lat[k])
    return float(EARTH_RADIUS_KM * 1000.0 * np.hypot(east, north))


def _crest_after_breach(defences: xr.Dataset | None, breached: Sequence[str]) -> NDArray | None:
    """Return the crest raster with the breached segments removed (NaN)."""
    if defences is None:
        if breached:
            raise SchemaError(f"breached: {list(breached)} given but no defences")
        return None
    segment = defences["segment"].values
    known = sorted(set(segment.ravel().tolist()) - {""})
    unknown = [name for name in breached if name not in known]
    if unknown:
        raise SchemaError(f"breached: unknown segments {unknown}; expected some of {known}")
    crest = defences["crest_m"].values.astype(float)
    return np.where(np.isin(segment, list(breached)), np.nan, crest)


def cell_area_km2(lat: NDArray, lon: NDArray) -> NDArray:
    """Return the area of each cell of a regular lat/lon grid, km2 (spherical Earth)."""
    (_, dlat), (_, dlon) = _regular_axis(lat, "lat"), _regular_axis(lon, "lon")
    height = EARTH_RADIUS_KM * np.deg2rad(dlat)
    width = EARTH_RADIUS_KM * np.deg2rad(dlon) * np.cos(np.deg2rad(lat))
    return np.broadcast_to((height * width)[:, None], (lat.size, lon.size))


def _check_inputs(dem: xr.DataArray, water_level: xr.DataArray) -> xr.DataArray:
    """Check dims of the DEM and the levels; return the levels with only dim coordinates."""
    if dem.dims != ("lat", "lon"):
        raise SchemaError(f"dem: expected dims ('lat', 'lon'), found {dem.dims}")
    dims = tuple(d for d in _LEVEL_DIMS if d in water_level.dims)
    if set(water_level.dims) != set(dims) or dims[:3] != _LEVEL_DIMS[:3]:
        raise SchemaError(
            f"water_level: expected dims (scenario, horizon, return_period[, quantile]), "
            f"found {water_level.dims}"
        )
    for coord in ("start", "end"):
        if coord not in water_level.coords:
            raise SchemaError(f"water_level: expected a {coord!r} coordinate on dim horizon")
    keep = [*dims, "start", "end"]
    drop = [c for c in water_level.coords if c not in keep]
    return water_level.drop_vars(drop).transpose(*dims)


def build_inundation_layer(
    dem: xr.DataArray,
    water_level: xr.DataArray,
    *,
    source: NDArray | None = None,
    defences: xr.Dataset | None = None,
    overtopping: Overtopping = "allow",
    breached: Sequence[str] = (),
    method: FloodMethod = "bathtub",
    storm_tide: StormTideShape | None = None,
    inputs_sha256: str = "",
    code_version: str = "",
    synthetic: str = "unknown",
) -> xr.Dataset:
    """Build the coastal-flood HazardLayer: depth maps for every still-water level.

    Parameters
    ----------
    dem : xarray.DataArray
        Ground elevation, dims (lat, lon) ascending, m on the datum of ``water_level``; NaN =
        water or no data.
    water_level : xarray.DataArray
        Still-water levels, dims (scenario, horizon, return_period[, quantile]), m, with
        ``start``/``end`` horizon coordinates (e.g. ``still_water_level`` of the surge layer
        at one station). Other coordinates (station, lat, lon) are dropped.
    source : numpy.ndarray of bool, optional
        Sea and river cells (lat, lon); default :func:`edge_water` of the DEM.
    defences : xarray.Dataset, optional
        ``crest_m`` and ``segment`` on the DEM grid (:func:`rasterise_defences`).
    overtopping : {"allow", "none"}
        See :func:`flood_extent`.
    breached : sequence of str
        Names of defence segments removed for this run (with ``method="overtopping"``: a
        weir with its crest at the ground).
    method : {"bathtub", "overtopping"}
        "bathtub": every connected cell below the level floods (static upper bound).
        "overtopping": land behind the defences stores the volume that overflows them during
        a storm tide peaking at each level (:mod:`hazard_models.coast.overtopping`); adds
        ``overtopping_volume``, ``stored_volume`` (m3), ``bathtub_bound`` (1 where the
        volume reached the bathtub level) and ``bathtub_area`` (km2, the upper bound).
        Without defences, or with ``overtopping="none"``, both methods agree.
    storm_tide : SyntheticStormTide or StormTideSeries, optional
        Hydrograph shape for "overtopping"; default ``SyntheticStormTide()``.
    inputs_sha256, code_version : str
        Provenance, copied to the global attributes.
    synthetic : {"yes", "no", "unknown"}
        Whether any input (the still-water levels) is synthetic, e.g.
        ``synthetic_flag(surge.attrs)``; written to the global attribute ``synthetic``.

    Returns
    -------
    xarray.Dataset
        ``flood_depth`` (scenario, horizon, return_period, [quantile], lat, lon; m, 0 = dry,
        NaN = water), ``flooded_area`` (scenario, horizon, return_period, [quantile]; km2)
        and ``water_level`` (the input levels; m). Validated as a HazardLayer.

    Raises
    ------
    SchemaError
        Bad dims, missing horizon coordinates, unknown breached segments, defences on
        another grid.
    """
    levels = _check_inputs(dem, water_level)
    ground = dem.values.astype(float)
    source = edge_water(ground) if source is None else np.asarray(source, dtype=bool)
    if defences is not None and defences["crest_m"].shape != ground.shape:
        raise SchemaError("defences: expected the DEM grid (lat, lon)")
    crest = _crest_after_breach(defences, breached)
    area = cell_area_km2(dem["lat"].values, dem["lon"].values)
    depth = np.full(levels.shape + ground.shape, np.nan, dtype=np.float32)
    for index in np.ndindex(levels.shape):
        depth[index] = flood_depth(
            ground, source, float(levels.values[index]), crest_m=crest, overtopping=overtopping
        )
    text = (
        f"connected-component bathtub (4-neighbour scipy.ndimage.label; Poulter & Halpin 2008) "
        f"from sea/river source cells; overtopping={overtopping}; breached={list(breached)}; "
        "static: no dynamics, volume or drainage (docs/surge.md)"
    )
    extra: dict[str, tuple[NDArray, str, str]] = {}
    if method == "overtopping":
        from hazard_models.coast.overtopping import overtopping_variables

        bathtub_area = np.nansum((depth > 0) * area, axis=(-2, -1))
        walls = _overtopping_walls(defences, breached, ground, held=overtopping == "none")
        depth, extra, text = overtopping_variables(
            ground, source, levels.values, walls, area_km2=area, shape=storm_tide
        )
        extra["bathtub_area"] = (bathtub_area, "km2", "flooded land area, static bathtub bound")
        text += f"; overtopping={overtopping}; breached={list(breached)} (weirs at the ground)"
    elif method != "bathtub":
        raise ValueError(f"method: expected 'bathtub' or 'overtopping', found {method!r}")
    flooded = np.nansum((depth > 0) * area, axis=(-2, -1))
    variables = {
        "flood_depth": (depth, "m", "still-water flood depth"),
        "flooded_area": (flooded, "km2", "flooded land area"),
        "water_level": (levels.values, "m", "still-water level at the source"),
        **extra,
    }
    layer = xr.Dataset(
        {
            name: with_attrs(
                xr.DataArray(values, dims=(*levels.dims, "lat", "lon")[: values.ndim]),
                units,
                long_name,
                text,
            )
            for name, (values, units, long_name) in variables.items()
        },
        coords={**levels.coords, "lat": dem["lat"].values, "lon": dem["lon"].values},
    )
    history = f"build_inundation_layer: {int(np.prod(levels.shape))} levels, {text}"
    return finish_layer(
        layer,
        "coastal_flood",
        history,
        provenance=(inputs_sha256, code_version),
        synthetic=synthetic,
    )


def _overtopping_walls(
    defences: xr.Dataset | None, breached: Sequence[str], ground: NDArray, *, held: bool
) -> dict[str, NDArray] | None:
    """Return crest (breached: a weir at the ground; held: infinite), length and segment."""
    if defences is None:
        return None
    segment = defences["segment"].values
    crest = defences["crest_m"].values.astype(float)
    crest = np.where(np.isfinite(crest), np.inf, crest) if held else crest
    # after holding the walls: a breached segment is open (a weir at the ground) either way,
    # as the bathtub method removes it
    crest = np.where(np.isin(segment, list(breached)), ground, crest)
    if "crest_length_m" in defences:
        length = defences["crest_length_m"].values.astype(float)
    else:
        length = np.full(ground.shape, np.nan)  # filled with the cell's side downstream
    return {"crest_m": crest, "crest_length_m": length, "segment": segment}
