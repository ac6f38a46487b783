"""The site map of a feasibility report, drawn server-side as one inline SVG.

Two panels: Shanghai's districts with the site (left) and the site's surroundings, about
10 km each way, with the nearest inventory assets (right). Both carry the coastline and the
tide gauges from the :class:`~resilience.feasibility.report_context.ReportContext`, a scale
bar, a north arrow and graticule labels. No tile server and no external resource: the map is
plain SVG built from GeoJSON geometries with a local equirectangular projection
(x = lon cos(lat0), y = lat; distortion under 0.1 % over Shanghai's 1.2 deg of latitude).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from resilience.feasibility.report_context import ReportContext, distance_km
from resilience.feasibility.report_text import TEXT, Lang

if TYPE_CHECKING:
    from resilience.feasibility.models import Submission

__all__ = ["render_site_map"]

_W, _H = 460.0, 400.0  # one panel, px
#: km per degree of latitude on the IUGG mean sphere (geodata.geography.EARTH_RADIUS_KM).
_KM_PER_DEG = math.pi * 6371.0 / 180.0
_LOCAL_KM = 10.0  # half-height of the local panel
_LABELLED = 8  # nearest assets named in the local panel
_COLOURS = {
    "metro_station": "#5b6bbf",
    "hospital": "#d1242f",
    "substation": "#bf8700",
    "water_plant": "#0a7ea4",
    "tunnel": "#6e7781",
    "bridge": "#6e7781",
    "railway_station": "#8250df",
    "airport": "#8250df",
}


@dataclass(frozen=True)
class _Frame:
    """A panel's extent and its projection to pixels."""

    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float
    left: float

    @property
    def scale(self) -> float:
        """Pixels per degree of latitude (same for lon x cos(lat0))."""
        width = (self.lon_max - self.lon_min) * math.cos(math.radians(self.lat0))
        return min(_W / width, _H / (self.lat_max - self.lat_min))

    @property
    def lat0(self) -> float:
        """The projection's standard parallel (panel centre)."""
        return (self.lat_min + self.lat_max) / 2

    def xy(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        """Project lon/lat (degrees) to panel pixels."""
        k, c = self.scale, math.cos(math.radians(self.lat0))
        return self.left + (np.asarray(lon) - self.lon_min) * c * k, (
            self.lat_max - np.asarray(lat)
        ) * k


def _frame_around(lon: float, lat: float, half_km: float, left: float) -> _Frame:
    dlat = half_km / _KM_PER_DEG
    dlon = dlat * (_W / _H) / math.cos(math.radians(lat))
    return _Frame(lon - dlon, lon + dlon, lat - dlat, lat + dlat, left)


def _path(frame: _Frame, coords: np.ndarray, close: bool) -> str:
    x, y = frame.xy(coords[:, 0], coords[:, 1])
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    return f"M{points}{'Z' if close else ''}"


def _polygons(geometry: Any) -> list[Any]:
    return list(getattr(geometry, "geoms", [geometry]))


def _districts(frame: _Frame, context: ReportContext, lang: Lang, labels: bool) -> list[str]:
    out: list[str] = []
    if context.districts is None:
        return out
    name = "name_en" if lang == "en" else "name_zh"
    for _, district in context.districts.iterrows():
        d = " ".join(
            _path(frame, np.asarray(poly.exterior.coords), True)
            for poly in _polygons(district.geometry)
        )
        out.append(f'<path class="district" d="{d}"/>')
        if labels and name in district:
            point = district.geometry.representative_point()
            x, y = frame.xy(point.x, point.y)
            text = escape(str(district[name]).replace(" District", ""))
            out.append(f'<text class="dlabel" x="{x:.1f}" y="{y:.1f}">{text}</text>')
    return out


def _coast(frame: _Frame, context: ReportContext) -> list[str]:
    return [
        f'<path class="coast" d="{_path(frame, np.asarray(line), False)}"/>'
        for line in context.coastline
    ]


def _gauges(frame: _Frame, context: ReportContext, lang: Lang) -> list[str]:
    stations = context.tide_stations
    if stations is None:
        return []
    out = []
    name = "station_name" if lang == "en" else "station_name_zh"
    for _, station in stations.iterrows():
        x, y = frame.xy(float(station["lon"]), float(station["lat"]))
        level = station.get("design_level_1000yr_m")
        suffix = f" {float(level):.2f} m" if level is not None and np.isfinite(level) else ""
        label = escape(str(station.get(name, station.get("station_name", ""))).split(" (")[0])
        out.append(
            f'<path class="gauge" d="M{x:.1f},{y - 6:.1f}l5,9h-10z"/>'
            f'<text class="glabel" x="{x + 7:.1f}" y="{y + 3:.1f}">{label}{suffix}</text>'
        )
    return out


def _assets(frame: _Frame, context: ReportContext, site: Submission, lang: Lang) -> list[str]:
    assets = context.assets
    if assets is None or assets.empty:
        return []
    lon, lat = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    near = distance_km(lon, lat, site.lon, site.lat)
    x, y = frame.xy(lon, lat)
    out = []
    for i in np.flatnonzero((x >= frame.left) & (x <= frame.left + _W) & (y >= 0) & (y <= _H)):
        colour = _COLOURS.get(str(assets["asset_type"].iloc[i]), "#57606a")
        out.append(f'<circle class="asset" cx="{x[i]:.1f}" cy="{y[i]:.1f}" r="3" fill="{colour}"/>')
    name = "name_zh" if lang == "zh" and "name_zh" in assets else "name"
    placed: list[tuple[float, float]] = []
    for i in np.argsort(near)[: 4 * _LABELLED]:
        if len(placed) == _LABELLED:
            break
        if not (frame.left <= x[i] <= frame.left + _W - 60 and 12 <= y[i] <= _H):
            continue
        if any(abs(y[i] - b) < 11 and abs(x[i] - a) < 130 for a, b in placed):
            continue  # would overprint a nearer asset's label
        placed.append((x[i], y[i]))
        label = assets[name].iloc[i]
        if not isinstance(label, str) or not label:
            label = str(assets["name"].iloc[i])
        text = f"{escape(label)} ({near[i]:.1f} km)"
        out.append(f'<text class="alabel" x="{x[i] + 5:.1f}" y="{y[i] - 4:.1f}">{text}</text>')
    return out


def _furniture(frame: _Frame, bar_km: float, lang: Lang) -> list[str]:
    """Scale bar, north arrow and lon/lat graticule labels."""
    length = bar_km / _KM_PER_DEG * frame.scale
    x0, y0 = frame.left + 12, _H - 14
    out = [
        f'<path class="bar" d="M{x0:.1f},{y0}h{length:.1f}"/>',
        f'<text class="small" x="{x0:.1f}" y="{y0 - 5}">0</text>',
        f'<text class="small" x="{x0 + length - 12:.1f}" y="{y0 - 5}">{bar_km:g} km</text>',
        f'<path class="north" d="M{frame.left + _W - 20:.1f},14l7,20h-14z"/>',
        f'<text class="small" x="{frame.left + _W - 24:.1f}" y="46">{TEXT["north"][lang]}</text>',
    ]
    step = 0.25 if frame.lat_max - frame.lat_min > 0.5 else 0.05
    for lon in np.arange(math.ceil(frame.lon_min / step) * step, frame.lon_max, step):
        x, _ = frame.xy(lon, frame.lat_max)
        if frame.left + 30 < x < frame.left + _W - 40:
            out.append(f'<text class="tick" x="{x:.1f}" y="{_H - 2}">{lon:.2f}°E</text>')
    for lat in np.arange(math.ceil(frame.lat_min / step) * step, frame.lat_max, step):
        _, y = frame.xy(frame.lon_min, lat)
        if 50 < y < _H - 30:
            out.append(
                f'<text class="tick" x="{frame.left + 2:.1f}" y="{y:.1f}">{lat:.2f}°N</text>'
            )
    return out


def _panel(
    frame: _Frame, context: ReportContext, site: Submission, lang: Lang, *, overview: bool
) -> str:
    clip = "clip-overview" if overview else "clip-local"
    parts = [
        f'<clipPath id="{clip}"><rect x="{frame.left}" y="0" width="{_W}" height="{_H}"/>'
        "</clipPath>",
        f'<rect class="sea" x="{frame.left}" y="0" width="{_W}" height="{_H}"/>',
        f'<g clip-path="url(#{clip})">',
        *_districts(frame, context, lang, labels=overview),
        *_coast(frame, context),
        *(_assets(frame, context, site, lang) if not overview else []),
        *_gauges(frame, context, lang),
    ]
    x, y = frame.xy(site.lon, site.lat)
    parts.append(
        f'<path class="site" d="M{x:.1f},{y - 9:.1f}l2.6,6.2 6.6,.6-5,4.4 1.5,6.5-5.7-3.4'
        f'-5.7,3.4 1.5-6.5-5-4.4 6.6-.6z"/>'
    )
    if not overview:
        ring = 2.0 / _KM_PER_DEG * frame.scale
        parts.append(f'<circle class="ring" cx="{x:.1f}" cy="{y:.1f}" r="{ring:.1f}"/>')
    parts.append("</g>")
    parts += _furniture(frame, 20.0 if overview else 2.0, lang)
    parts.append(f'<rect class="frame" x="{frame.left}" y="0" width="{_W}" height="{_H}"/>')
    return "\n".join(parts)


def _legend(lang: Lang) -> str:
    y = _H + 18
    items = [
        f'<path class="site" d="M10,{y - 9}l2.6,6.2 6.6,.6-5,4.4 1.5,6.5-5.7-3.4-5.7,3.4 '
        f'1.5-6.5-5-4.4 6.6-.6z"/><text x="24" y="{y}">{TEXT["legend_site"][lang]}</text>',
        f'<circle cx="130" cy="{y - 4}" r="3" fill="#5b6bbf"/>'
        f'<text x="138" y="{y}">{TEXT["legend_assets"][lang]}</text>',
        f'<path class="gauge" d="M300,{y - 10}l5,9h-10z"/>'
        f'<text x="310" y="{y}">{TEXT["legend_gauge"][lang]}</text>',
        f'<path class="coast" d="M520,{y - 4}h30"/>'
        f'<text x="556" y="{y}">{TEXT["legend_coast"][lang]}</text>',
    ]
    return "\n".join(items)


_STYLE = (
    "<style>.district{fill:#f6f8fa;stroke:#8c959f;stroke-width:.6}"
    ".sea{fill:#e6f0fa}.coast{fill:none;stroke:#0550ae;stroke-width:1.6}"
    ".gauge{fill:#0550ae}.site{fill:#cf222e;stroke:#fff;stroke-width:.8}"
    ".ring{fill:none;stroke:#cf222e;stroke-dasharray:3 3}.frame{fill:none;stroke:#57606a}"
    ".bar{stroke:#000;stroke-width:3}.north{fill:#24292f}"
    "text{font-size:10px;fill:#24292f;font-family:'DejaVu Sans','Noto Sans CJK SC',sans-serif}"
    ".dlabel{font-size:8px;fill:#57606a;text-anchor:middle}"
    ".glabel{font-size:9px;fill:#0550ae}.alabel{font-size:9px}.tick{font-size:8px;"
    "fill:#57606a}.small{font-size:9px}</style>"
)


def render_site_map(site: Submission, context: ReportContext | None, lang: Lang) -> str | None:
    """Return the site map as an inline SVG element, or None when there is no geography.

    Parameters
    ----------
    site : Submission
        The submission (``lon``, ``lat``, degrees WGS 84).
    context : ReportContext or None
        Districts, assets, coastline and tide gauges; None draws nothing.
    lang : {"en", "zh"}
        Language of the labels (district, gauge and asset names where the data has them).

    Returns
    -------
    str or None
        ``<svg ...>...</svg>`` (two panels and a legend, about 940 x 430 px), or None.
    """
    if context is None or (context.districts is None and not context.coastline):
        return None
    if context.districts is not None:
        lon_min, lat_min, lon_max, lat_max = context.districts.total_bounds
    else:
        stacked = np.concatenate(context.coastline)
        lon_min, lat_min = stacked.min(axis=0)
        lon_max, lat_max = stacked.max(axis=0)
    lon_min, lon_max = min(lon_min, site.lon) - 0.03, max(lon_max, site.lon) + 0.03
    lat_min, lat_max = min(lat_min, site.lat) - 0.03, max(lat_max, site.lat) + 0.03
    overview = _Frame(lon_min, lon_max, lat_min, lat_max, 0.0)
    local = _frame_around(site.lon, site.lat, _LOCAL_KM, _W + 20)
    width, height = 2 * _W + 20, _H + 28
    return (
        f'<svg class="map" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img">{_STYLE}\n'
        f"{_panel(overview, context, site, lang, overview=True)}\n"
        f"{_panel(local, context, site, lang, overview=False)}\n{_legend(lang)}</svg>"
    )
