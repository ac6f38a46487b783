"""Shanghai's districts as an inline SVG map, each coloured by its highest active level.

A local equirectangular projection (x scaled by the cosine of the centre latitude), the same
approach as the feasibility report's maps (:mod:`resilience.feasibility.report_map`), drawn
from the shipped district boundaries (:func:`resilience.geodata.geography.open_districts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

__all__ = [
    "LEVEL_COLOURS",
    "LEVEL_ORDER",
    "District",
    "load_districts",
    "projection",
    "render_district_map",
]

#: CMA warning colours (GB/T 27962-2011 signal colours), lowest first.
LEVEL_COLOURS = {"blue": "#1e64c8", "yellow": "#f5c400", "orange": "#ff7f00", "red": "#e60012"}
LEVEL_ORDER = ("blue", "yellow", "orange", "red")
_NONE_COLOUR = "#eef1f4"
_WIDTH = 560.0


@dataclass(frozen=True)
class District:
    """One district: adcode, names and its outer rings as (lon, lat) pairs."""

    code: str
    name_zh: str
    name_en: str
    rings: tuple[tuple[tuple[float, float], ...], ...]
    centre: tuple[float, float]


def _rings(geometry: Any) -> list[tuple[tuple[float, float], ...]]:
    parts = list(geometry.geoms) if hasattr(geometry, "geoms") else [geometry]
    return [tuple((float(x), float(y)) for x, y in p.exterior.coords) for p in parts]


@lru_cache(maxsize=1)
def load_districts() -> tuple[District, ...]:
    """Return the 16 shipped districts (read once; geopandas imported only here)."""
    from resilience.geodata.geography import open_districts

    frame = open_districts()
    out = []
    for row in frame.itertuples():
        point = row.geometry.representative_point()
        out.append(
            District(
                code=str(row.district_code),
                name_zh=str(row.name_zh),
                name_en=str(row.name_en),
                rings=tuple(_rings(row.geometry)),
                centre=(float(point.x), float(point.y)),
            )
        )
    return tuple(out)


def projection(districts: tuple[District, ...]) -> tuple[Any, float]:
    """Return the map's projection of the districts: ``xy(lon, lat) -> (x, y)`` and the height.

    Equirectangular with x scaled by the cosine of the centre latitude, fitted to the map's
    width with a 10-px margin; x, y in SVG pixels (y down), height in pixels. The engineers'
    site map (:mod:`.site_map`) inverts it to turn a click into lon/lat.
    """
    lons = [x for d in districts for r in d.rings for x, _ in r]
    lats = [y for d in districts for r in d.rings for _, y in r]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    kx = math.cos(math.radians((south + north) / 2))
    scale = (_WIDTH - 20) / ((east - west) * kx)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return 10 + (lon - west) * kx * scale, 10 + (north - lat) * scale

    return xy, 20 + (north - south) * scale


def render_district_map(levels: Mapping[str, str], *, lang_names: bool = True) -> str:
    """Return an SVG of the districts coloured by level.

    Parameters
    ----------
    levels : mapping of str to str
        Highest active level (``blue``, ``yellow``, ``orange``, ``red``) by district adcode;
        districts absent are drawn grey.
    lang_names : bool
        Label each coloured district with its Chinese name.

    Returns
    -------
    str
        An ``<svg>`` element (no XML declaration), each district a ``<path>`` with
        ``data-district`` and ``data-level`` attributes and a ``<title>``.
    """
    districts = load_districts()
    xy, height = projection(districts)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="district-map" role="img" '
        f'viewBox="0 0 {_WIDTH:.0f} {height:.0f}" '
        'aria-label="上海市各区预警 / warnings by district">'
    ]
    for district in districts:
        level = levels.get(district.code, "")
        colour = LEVEL_COLOURS.get(level, _NONE_COLOUR)
        path = " ".join(
            "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in ring)) + " Z"
            for ring in district.rings
        )
        title = f"{district.name_zh} {district.name_en}: {level or '无预警 / none'}"
        parts.append(
            f'<path d="{path}" fill="{colour}" stroke="#555" stroke-width="0.7" '
            f'data-district="{district.code}" data-level="{level or "none"}">'
            f"<title>{escape(title)}</title></path>"
        )
    if lang_names:
        for district in districts:
            x, y = xy(*district.centre)
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" class="district-label">'
                f"{escape(district.name_zh)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
