"""The site map of the engineers' pages: Shanghai's districts, the layers' extent, the site.

The districts and the projection are those of the warnings map (:mod:`.map_svg`: a local
equirectangular projection, x scaled by the cosine of the centre latitude), drawn neutral
grey with their names. The projection is linear in lon and lat, so the SVG carries its
coefficients (``data-ref-lon``, ``data-ref-lat``, ``data-ref-x``, ``data-ref-y``,
``data-px-per-lon``, ``data-px-per-lat``) and ``static/checks.js`` turns a click back into
lon and lat with :func:`site_lonlat`'s formula, and typed lon and lat into the marker.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape

from resilience.web.map_svg import load_districts, projection

__all__ = ["MapFrame", "map_frame", "render_site_map", "site_lonlat"]

_WIDTH = 560.0  # the viewBox width of map_svg's maps
_FILL = "#e4e9ee"
_MIN_STEP_PX = 1.0  # a vertex closer than this to the last one drawn adds nothing visible


@dataclass(frozen=True)
class MapFrame:
    """The linear projection of the district map: x = ref_x + (lon - ref_lon) * px_per_lon.

    y = ref_y - (lat - ref_lat) * px_per_lat (SVG y grows downwards); units: SVG pixels of
    the map's viewBox (``width`` x ``height``) and degrees (WGS 84).
    """

    ref_lon: float
    ref_lat: float
    ref_x: float
    ref_y: float
    px_per_lon: float
    px_per_lat: float
    width: float
    height: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Return the viewBox position (px) of a point (degrees)."""
        return (
            self.ref_x + (lon - self.ref_lon) * self.px_per_lon,
            self.ref_y - (lat - self.ref_lat) * self.px_per_lat,
        )


@lru_cache(maxsize=1)
def map_frame() -> MapFrame:
    """Return the projection of the district map, read off :mod:`.map_svg`'s own."""
    districts = load_districts()
    xy, height = projection(districts)
    lons = [x for d in districts for r in d.rings for x, _ in r]
    lats = [y for d in districts for r in d.rings for _, y in r]
    ref_lon, ref_lat = round((min(lons) + max(lons)) / 2, 3), round((min(lats) + max(lats)) / 2, 3)
    ref_x, ref_y = xy(ref_lon, ref_lat)
    return MapFrame(
        ref_lon=ref_lon,
        ref_lat=ref_lat,
        ref_x=ref_x,
        ref_y=ref_y,
        px_per_lon=xy(ref_lon + 1.0, ref_lat)[0] - ref_x,
        px_per_lat=ref_y - xy(ref_lon, ref_lat + 1.0)[1],
        width=_WIDTH,
        height=height,
    )


def site_lonlat(x: float, y: float) -> tuple[float, float]:
    """Return the point (lon, lat, degrees) under a viewBox position (px) of the map.

    Parameters
    ----------
    x, y : float
        Position in the map's viewBox, pixels (y downwards).

    Returns
    -------
    (float, float)
        Longitude (degrees east) and latitude (degrees north), WGS 84: the inverse of
        :meth:`MapFrame.xy` (``static/checks.js`` computes the same on a click).
    """
    frame = map_frame()
    return (
        frame.ref_lon + (x - frame.ref_x) / frame.px_per_lon,
        frame.ref_lat - (y - frame.ref_y) / frame.px_per_lat,
    )


def _domain_rect(frame: MapFrame, domain: tuple[float, float, float, float]) -> str:
    west, east, south, north = domain
    if west > east or south > north:
        return ""  # the layers do not overlap: no extent to draw
    x0, y0 = frame.xy(west, north)
    x1, y1 = frame.xy(east, south)
    title = (
        f"已发布图层覆盖范围 extent of the published layers: {west:.3f}-{east:.3f} °E, "
        f"{south:.3f}-{north:.3f} °N"
    )
    return (
        f'<rect class="layer-domain" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
        f'height="{y1 - y0:.1f}" data-lon-min="{west:g}" data-lon-max="{east:g}" '
        f'data-lat-min="{south:g}" data-lat-max="{north:g}"><title>{escape(title)}</title></rect>'
    )


def _ring_path(frame: MapFrame, ring: tuple[tuple[float, float], ...]) -> str:
    """Return a ring as SVG path data, leaving out vertices within 1 px of the last one kept."""
    kept: list[tuple[float, float]] = []
    for x, y in (frame.xy(*point) for point in ring):
        if not kept or abs(x - kept[-1][0]) + abs(y - kept[-1][1]) >= _MIN_STEP_PX:
            kept.append((x, y))
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in kept) + " Z"


def render_site_map(
    *,
    site: tuple[float, float] | None = None,
    domain: tuple[float, float, float, float] | None = None,
    pick: bool = False,
) -> str:
    """Return the district map with the layers' extent and the site's marker, as SVG.

    Parameters
    ----------
    site : (float, float), optional
        The site (lon, lat; degrees): the marker ``#site-marker`` is drawn there; without
        it the marker is hidden (``static/checks.js`` shows it once lon and lat are set).
    domain : (float, float, float, float), optional
        Where the published layers can be sampled (lon_min, lon_max, lat_min, lat_max;
        degrees): a dashed box ``rect.layer-domain``, clipped to the map.
    pick : bool
        Mark the map as the form's picker (``data-pick="1"``): a click sets lon and lat.

    Returns
    -------
    str
        An ``<svg class="site-map">`` element (no XML declaration) carrying the
        projection's coefficients as ``data-*`` attributes (:class:`MapFrame`).
    """
    frame = map_frame()
    picker = ' data-pick="1"' if pick else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="site-map" role="img" '
        f'viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" '
        f'data-ref-lon="{frame.ref_lon!r}" data-ref-lat="{frame.ref_lat!r}" '
        f'data-ref-x="{frame.ref_x!r}" data-ref-y="{frame.ref_y!r}" '
        f'data-px-per-lon="{frame.px_per_lon!r}" data-px-per-lat="{frame.px_per_lat!r}"'
        f'{picker} aria-label="场址 site">'
    ]
    for district in load_districts():
        path = " ".join(_ring_path(frame, ring) for ring in district.rings)
        parts.append(
            f'<path d="{path}" fill="{_FILL}" stroke="#7a8896" stroke-width="0.7" '
            f'data-district="{district.code}"><title>{escape(district.name_zh)} '
            f"{escape(district.name_en)}</title></path>"
        )
    for district in load_districts():
        x, y = frame.xy(*district.centre)
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" class="district-label">'
            f"{escape(district.name_zh)}</text>"
        )
    if domain is not None:
        parts.append(_domain_rect(frame, domain))
    x, y = frame.xy(*site) if site is not None else (0.0, 0.0)
    hidden = "" if site is not None else ' visibility="hidden"'
    parts.append(
        f'<circle id="site-marker" class="site-marker" cx="{x:.1f}" cy="{y:.1f}" r="6"{hidden}>'
        "<title>场址 site</title></circle>"
    )
    parts.append("</svg>")
    return "".join(parts)
