"""The risk map's SVGs: assets coloured by risk class, and a hazard variable's grid cells.

Both are drawn over the shipped district outlines (:func:`.map_svg.load_districts`) in the
same local equirectangular projection as :mod:`.map_svg` (x scaled by the cosine of the
centre latitude), here framed on the districts together with what is drawn, so that assets
or grid cells beyond the city stay in view. No script: each asset is an SVG ``<a>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from resilience.web.map_svg import District, load_districts

__all__ = [
    "CLASS_COLOURS",
    "CLASS_ORDER",
    "SEQUENTIAL",
    "AssetMark",
    "GridField",
    "render_asset_map",
    "render_grid_map",
    "sequential_colour",
]

#: Risk classes of ``assets.metrics.risk_class``, lowest first, and their colours (the
#: green-yellow-orange-red of a risk matrix, ColorBrewer RdYlGn end points; grey: not
#: assessed).
CLASS_ORDER = ("low", "medium", "high", "very high", "not assessed")
CLASS_COLOURS = {
    "low": "#1a9850",
    "medium": "#fee08b",
    "high": "#fc8d59",
    "very high": "#d73027",
    "not assessed": "#9aa3ab",
}
#: matplotlib's viridis sampled at 0, 1/8, ..., 1 (perceptually uniform, colour-blind safe;
#: matplotlib ``colormaps["viridis"]``, CC0): the layer maps' sequential scale.
SEQUENTIAL = (
    "#440154",
    "#472d7b",
    "#3b528b",
    "#2c728e",
    "#21918c",
    "#28ae80",
    "#5ec962",
    "#addc30",
    "#fde725",
)
_WIDTH = 560.0
_MARGIN = 10.0
_BAR_HEIGHT = 46.0
_MIN_STEP_PX = 1.0  # outline vertices closer than this (Manhattan distance, px) are dropped
#: Grids with more cells than this are drawn without a <title> (hover text) per cell, to
#: keep the SVG small (the coastal flood grid has 34,560 cells).
_TITLED_CELLS_MAX = 4000
Bounds = tuple[float, float, float, float]  # west, south, east, north (degrees)
XY = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class AssetMark:
    """One asset on the map: where, its class, its link and its hover text."""

    asset_id: str
    lon: float
    lat: float
    risk_class: str
    href: str
    title: str


@dataclass(frozen=True)
class GridField:
    """A 2-D field to map: values on cell centres, or at stations.

    Attributes
    ----------
    values : numpy.ndarray
        Shape (lat, lon) for a grid, or (station,) for stations; NaN cells are not drawn.
    lon, lat : numpy.ndarray
        Cell-centre coordinates (1-D, ascending or not) or station positions, degrees.
    gridded : bool
        True for a lat x lon grid, False for stations (drawn as circles).
    units : str
        CF units of the values (the colour bar's label).
    title : str
        The map's title (layer, variable, scenario, horizon, return period, reductions).
    """

    values: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    gridded: bool
    units: str
    title: str


def _bounds(districts: Sequence[District], extra: Bounds | None) -> Bounds:
    lons = [x for d in districts for r in d.rings for x, _ in r]
    lats = [y for d in districts for r in d.rings for _, y in r]
    west, south, east, north = min(lons), min(lats), max(lons), max(lats)
    if extra is not None and all(math.isfinite(v) for v in extra):
        west, south = min(west, extra[0]), min(south, extra[1])
        east, north = max(east, extra[2]), max(north, extra[3])
    return west, south, east, north


def _projection(bounds: Bounds) -> tuple[XY, float, float]:
    """Return ``xy(lon, lat)``, the map height (px) and the scale (px per degree of lat)."""
    west, south, east, north = bounds
    kx = math.cos(math.radians((south + north) / 2))
    scale = (_WIDTH - 2 * _MARGIN) / ((east - west) * kx)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return _MARGIN + (lon - west) * kx * scale, _MARGIN + (north - lat) * scale

    return xy, 2 * _MARGIN + (north - south) * scale, scale


def _ring_path(ring: Sequence[tuple[float, float]], xy: XY) -> str:
    """Return an SVG subpath of ``ring``, leaving out vertices under 1 px from the last kept.

    The shipped outlines have about 15,000 vertices; at 560 px across, most are closer
    together than a pixel and only make the page heavier.
    """
    kept: list[tuple[float, float]] = []
    for lon, lat in ring:
        x, y = xy(lon, lat)
        if not kept or abs(x - kept[-1][0]) + abs(y - kept[-1][1]) >= _MIN_STEP_PX:
            kept.append((x, y))
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in kept) + " Z"


def _outlines(districts: Sequence[District], xy: XY, *, fill: str) -> list[str]:
    parts = []
    for district in districts:
        path = " ".join(_ring_path(ring, xy) for ring in district.rings)
        parts.append(
            f'<path class="district" d="{path}" fill="{fill}" stroke="#555" '
            f'stroke-width="0.7"><title>{escape(district.name_zh)} '
            f"{escape(district.name_en)}</title></path>"
        )
    return parts


def render_asset_map(marks: Sequence[AssetMark], *, label: str) -> str:
    """Return an SVG of the districts with each asset a circle coloured by its risk class.

    Parameters
    ----------
    marks : sequence of AssetMark
        The assets (points, or representative points of lines and polygons), drawn in
        order, so put the highest classes last to keep them on top.
    label : str
        The map's accessible label (hazard, scenario, horizon).

    Returns
    -------
    str
        An ``<svg>`` element; each asset an ``<a href>`` around a ``<circle>`` with
        ``data-asset`` and ``data-class`` attributes and a ``<title>``.
    """
    districts = load_districts()
    lons = [m.lon for m in marks] or [math.nan]
    lats = [m.lat for m in marks] or [math.nan]
    xy, height, _ = _projection(_bounds(districts, (min(lons), min(lats), max(lons), max(lats))))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="risk-map" role="img" '
        f'viewBox="0 0 {_WIDTH:.0f} {height:.0f}" aria-label="{escape(label)}">',
        *_outlines(districts, xy, fill="#eef1f4"),
    ]
    for mark in marks:
        x, y = xy(mark.lon, mark.lat)
        colour = CLASS_COLOURS.get(mark.risk_class, CLASS_COLOURS["not assessed"])
        parts.append(
            f'<a href="{escape(mark.href)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" '
            f'fill="{colour}" stroke="#222" stroke-width="0.5" '
            f'data-asset="{escape(mark.asset_id)}" data-class="{escape(mark.risk_class)}">'
            f"<title>{escape(mark.title)}</title></circle></a>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def sequential_colour(fraction: float) -> str:
    """Return the viridis colour at ``fraction`` in [0, 1] (linear between the stops).

    Parameters
    ----------
    fraction : float
        Position on the scale, 0 (low) to 1 (high); clipped to [0, 1].

    Returns
    -------
    str
        ``#rrggbb``.
    """
    f = min(max(float(fraction), 0.0), 1.0) * (len(SEQUENTIAL) - 1)
    low = min(int(f), len(SEQUENTIAL) - 2)
    t = f - low
    a, b = (tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in SEQUENTIAL[low : low + 2])
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def _edges(centres: np.ndarray) -> np.ndarray:
    """Return cell edges (n + 1) of centres (n >= 1), half-way between neighbours."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.05, c[0] + 0.05])  # a lone cell: 0.1 degrees wide
    middle = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - middle[0]], middle, [2 * c[-1] - middle[-1]]])


def _fraction(value: float, low: float, high: float) -> float:
    return 0.5 if high <= low else (value - low) / (high - low)


def _cells(field: GridField, xy: XY, low: float, high: float) -> list[str]:
    parts = []
    if field.gridded:
        lon_edges, lat_edges = _edges(field.lon), _edges(field.lat)
        cells = np.nonzero(np.isfinite(field.values))
        titled = cells[0].size <= _TITLED_CELLS_MAX
        for i, j in zip(*cells, strict=True):
            x0, y0 = xy(lon_edges[j], lat_edges[i])
            x1, y1 = xy(lon_edges[j + 1], lat_edges[i + 1])
            value = float(field.values[i, j])
            colour = sequential_colour(_fraction(value, low, high))
            title = (
                f"<title>{field.lat[i]:.3f}°N {field.lon[j]:.3f}°E: {value:.4g} "
                f"{escape(field.units)}</title>"
                if titled
                else ""
            )
            parts.append(
                f'<rect class="cell" x="{min(x0, x1):.1f}" y="{min(y0, y1):.1f}" '
                f'width="{abs(x1 - x0):.1f}" height="{abs(y1 - y0):.1f}" fill="{colour}" '
                f'data-value="{value:.4g}">{title}</rect>'
            )
        return parts
    for k in np.nonzero(np.isfinite(field.values))[0]:
        x, y = xy(float(field.lon[k]), float(field.lat[k]))
        value = float(field.values[k])
        colour = sequential_colour(_fraction(value, low, high))
        parts.append(
            f'<circle class="cell" cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}" '
            f'stroke="#222" data-value="{value:.6g}"><title>{value:.4g} '
            f"{escape(field.units)}</title></circle>"
        )
    return parts


def _colour_bar(top: float, low: float, high: float, units: str) -> list[str]:
    left, width, steps = 40.0, _WIDTH - 80.0, 48
    parts = [f'<g class="colour-bar" data-units="{escape(units)}">']
    for k in range(steps):
        colour = sequential_colour((k + 0.5) / steps)
        parts.append(
            f'<rect x="{left + k * width / steps:.1f}" y="{top:.1f}" '
            f'width="{width / steps + 0.3:.2f}" height="12" fill="{colour}"/>'
        )
    for fraction in (0.0, 0.5, 1.0):
        value = low + (high - low) * fraction
        parts.append(
            f'<text class="bar-label" x="{left + fraction * width:.1f}" y="{top + 26:.1f}">'
            f"{value:.4g}</text>"
        )
    parts.append(
        f'<text class="bar-units" x="{_WIDTH / 2:.1f}" y="{top + 40:.1f}">'
        f"{escape(units or 'units not given')}</text></g>"
    )
    return parts


def render_grid_map(field: GridField) -> str:
    """Return a standalone SVG document of ``field`` with a colour bar and district outlines.

    Parameters
    ----------
    field : GridField
        The values to draw (NaN cells left out) and their units and title.

    Returns
    -------
    str
        An XML SVG document: the title, one ``class="cell"`` element per finite value
        (``<rect>`` for grid cells, ``<circle>`` for stations) coloured on the viridis scale
        between the finite minimum and maximum, the districts' outlines on top, and a colour
        bar (``class="colour-bar"``) labelled with the minimum, middle and maximum and the
        units.
    """
    districts = load_districts()
    lon_edges = _edges(field.lon) if field.gridded else np.asarray(field.lon, dtype=float)
    lat_edges = _edges(field.lat) if field.gridded else np.asarray(field.lat, dtype=float)
    extra = (
        (float(np.min(lon_edges)), float(np.min(lat_edges)))
        + (float(np.max(lon_edges)), float(np.max(lat_edges)))
        if lon_edges.size
        else None
    )
    xy, height, _ = _projection(_bounds(districts, extra))
    finite = field.values[np.isfinite(field.values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    top = 28.0
    transform = f'<g transform="translate(0,{top:.0f})">'
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" class="layer-map" role="img" '
        f'viewBox="0 0 {_WIDTH:.0f} {height + top + _BAR_HEIGHT:.0f}" '
        f'width="{_WIDTH:.0f}" height="{height + top + _BAR_HEIGHT:.0f}" '
        f'aria-label="{escape(field.title)}">',
        "<style>text{font-family:sans-serif;font-size:11px;fill:#1d2733}"
        ".bar-label,.bar-units{text-anchor:middle}.map-title{font-size:12px;"
        "font-weight:bold}</style>",
        f'<text class="map-title" x="{_MARGIN}" y="18">{escape(field.title)}</text>',
        transform,
        *_cells(field, xy, low, high),
        *_outlines(districts, xy, fill="none"),
        "</g>",
    ]
    if finite.size:
        parts += _colour_bar(top + height + 4, low, high, field.units)
    else:
        parts.append(f'<text x="{_MARGIN}" y="{top + height + 20:.0f}">no finite values</text>')
    parts.append("</svg>")
    return "\n".join(parts)
