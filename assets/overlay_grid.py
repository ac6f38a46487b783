"""Cells of a lat/lon grid that points and geometries fall in, without (asset, cell) matrices.

The overlay (:mod:`assets.overlay`) needs, for each asset, the grid cells it is sampled from:

- :func:`nearest_cells` -- for points, the index of the nearest cell centre along each axis,
  found by :func:`numpy.searchsorted` on the mid-points between ascending centres, so time is
  O(N log M) and memory O(N) for N points and M centres per axis. Equidistant points take the
  lower index (the first minimum of ``abs(centres - value)``, numpy's ``argmin`` rule), and the
  result equals that brute-force ``argmin`` exactly, rounding included: the bin found by
  ``searchsorted`` is checked against its two neighbours with the same float differences;
- :func:`touched_cells` -- for lines and polygons, every cell whose box (edges half-way between
  centres, the outer edges half a spacing beyond the outer centres) the geometry intersects,
  boundary contact included, as (asset, cell) pairs sorted by asset, then by flat cell index
  (``i_lat * lon.size + i_lon``).

A point is outside the grid when it lies more than one grid spacing (the largest step between
centres) beyond the outermost centres on either axis (``assets.overlay``'s rule).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from hazard_models.layer import SchemaError

__all__ = ["grid_spacing", "nearest_cells", "nearest_index", "touched_cells"]


def grid_spacing(centres: NDArray, axis: str) -> float:
    """Return the largest step between ascending cell centres, after checking them.

    Parameters
    ----------
    centres : numpy.ndarray
        Cell-centre coordinates along one axis, degrees, 1-D.
    axis : str
        Name of the coordinate (``"lat"`` or ``"lon"``), used in error messages.

    Returns
    -------
    float
        ``max(diff(centres))``, degrees.

    Raises
    ------
    SchemaError
        If there are fewer than 2 centres, or they are not finite and strictly ascending.
    """
    values = np.asarray(centres)
    if values.ndim != 1:
        raise SchemaError(f"{axis}: expected 1-D cell centres, found shape {values.shape}")
    if values.size < 2:
        raise SchemaError(
            f"{axis}: expected at least 2 grid cells to infer the spacing, found {values.size}"
        )
    steps = np.diff(values)
    if not (np.isfinite(values).all() and (steps > 0).all()):
        raise SchemaError(f"{axis}: expected finite, strictly ascending cell centres")
    return float(steps.max())


def nearest_index(values: NDArray, centres: NDArray) -> NDArray[np.intp]:
    """Return the index of the nearest centre for each value (ties: the lower index).

    Parameters
    ----------
    values : numpy.ndarray
        Coordinates to look up, degrees, any shape; must be finite.
    centres : numpy.ndarray
        Strictly ascending cell centres, degrees, 1-D with at least 2 values
        (:func:`grid_spacing` checks them).

    Returns
    -------
    numpy.ndarray
        Integer indices into ``centres``, shape of ``values``; identical to
        ``abs(centres[None, :] - values[:, None]).argmin(axis=1)``.

    Notes
    -----
    ``searchsorted`` on the float mid-points ``(c[i] + c[i+1]) / 2`` gives the bin of each
    value. A rounded mid-point can put a value within a few ulps of it one bin off the float
    ``argmin``; the bin and its two neighbours are therefore compared with the same float
    distances ``abs(c - v)``, the first minimum winning, which is the ``argmin`` rule exactly
    (the distance is unimodal along ascending centres, so the true minimum is adjacent).
    """
    centres = np.asarray(centres)
    mid = (centres[1:] + centres[:-1]) / 2.0
    best = np.searchsorted(mid, values, side="left")
    padded = np.concatenate([[np.inf], centres, [np.inf]])  # padded[best + 1] is centres[best]
    here = np.abs(padded[best + 1] - values)
    below = np.abs(padded[best] - values)
    above = np.abs(padded[best + 2] - values)
    # argmin over (best - 1, best, best + 1): the first minimum wins
    down = (below <= here) & (below <= above)
    up = (above < here) & (above < below)
    return best - down + up


def nearest_cells(
    x: NDArray, y: NDArray, lat: NDArray, lon: NDArray
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]:
    """Return the nearest cell of each point and whether the point is outside the grid.

    Parameters
    ----------
    x, y : numpy.ndarray
        Longitudes and latitudes of the points, degrees east and north, 1-D.
    lat, lon : numpy.ndarray
        Strictly ascending cell centres, degrees north and east, at least 2 each.

    Returns
    -------
    i_lat, i_lon : numpy.ndarray
        Index of the nearest centre along each axis (ties: the lower index); meaningless
        where ``outside``.
    outside : numpy.ndarray
        True where a point lies more than one grid spacing (``max(diff(centres))``) beyond
        the outermost centres, or has a non-finite coordinate.

    Raises
    ------
    SchemaError
        If ``lat`` or ``lon`` has fewer than 2 centres or is not strictly ascending.
    """
    dlat, dlon = grid_spacing(lat, "lat"), grid_spacing(lon, "lon")
    with np.errstate(invalid="ignore"):
        inside = (
            (y >= lat[0] - dlat)
            & (y <= lat[-1] + dlat)
            & (x >= lon[0] - dlon)
            & (x <= lon[-1] + dlon)
        )
    if inside.all():
        return nearest_index(y, lat), nearest_index(x, lon), ~inside
    # outside points are looked up at the first centre: their values are masked anyway
    y, x = np.where(inside, y, lat[0]), np.where(inside, x, lon[0])
    return nearest_index(y, lat), nearest_index(x, lon), ~inside


def _cell_boxes(lat: NDArray, lon: NDArray) -> NDArray:
    """Return the boxes of all cells, flat row-major (lat, lon) order."""
    lat_lo, lat_hi = _edges(lat)
    lon_lo, lon_hi = _edges(lon)
    return shapely.box(
        np.tile(lon_lo, lat.size),
        np.repeat(lat_lo, lon.size),
        np.tile(lon_hi, lat.size),
        np.repeat(lat_hi, lon.size),
    )


def _edges(centres: NDArray) -> tuple[NDArray, NDArray]:
    """Return lower and upper cell edges, half-way between centres."""
    mid = (centres[1:] + centres[:-1]) / 2.0
    lower = np.concatenate([[centres[0] - (centres[1] - centres[0]) / 2.0], mid])
    upper = np.concatenate([mid, [centres[-1] + (centres[-1] - centres[-2]) / 2.0]])
    return lower, upper


def touched_cells(geoms: NDArray, lat: NDArray, lon: NDArray) -> tuple[NDArray, NDArray]:
    """Return the (asset, cell) pairs of every cell box each geometry intersects.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries (lines, polygons or collections), lon/lat degrees, 1-D.
    lat, lon : numpy.ndarray
        Strictly ascending cell centres, degrees north and east, at least 2 each.

    Returns
    -------
    asset, cell : numpy.ndarray
        Position in ``geoms`` and flat cell index (``i_lat * lon.size + i_lon``) of each
        pair, sorted by asset, then cell. Memory is O(pairs + cells): one STRtree of the
        cell boxes, queried with ``intersects`` (a shared edge or corner counts).
    """
    if geoms.size == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    asset, cell = shapely.STRtree(_cell_boxes(lat, lon)).query(geoms, predicate="intersects")
    order = np.lexsort((cell, asset))
    return asset[order], cell[order]
