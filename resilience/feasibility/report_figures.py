"""Figures of a feasibility report: matplotlib drawn to SVG, embedded inline in the HTML.

Per hazard, two figures:

* the annual chance that the standard is exceeded, per scenario, at each horizon's mid-year,
  with the model spread (10-90 %) as a band, the design life shaded and the annual chance
  that meets the design-life target dashed (where a scenario's line crosses it is the
  standard's adaptation tipping point);
* the return-level curve at the site with the standard marked: from the layer's return
  levels when the caller passed them (``ReportContext.curves``, with the 10-90 % band), else
  through the two points each row carries (the metric's T-year level and the standard at
  ``1 / annual p``) on a Gumbel scale, x = a + b y with y = -ln(-ln(1 - 1/T)) (Coles 2001,
  3.1.3), an approximation of the layer's GEV documented in ``docs/report.md``.

Text stays text in the SVG (``svg.fonttype = "none"``) so the browser or WeasyPrint sets it
in the page's fonts, Chinese included; nothing is fetched.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resilience.feasibility.report_text import (
    TEXT,
    Lang,
    horizon_label,
    metric_period,
    scenario_label,
    units_label,
)

if TYPE_CHECKING:
    from resilience.feasibility.models import CheckResult, HazardRow
    from resilience.feasibility.report_context import SiteCurve

__all__ = [
    "HORIZON_YEARS",
    "annual_target",
    "gumbel_line",
    "probability_figure",
    "return_level_figure",
]

#: AR6 WGI horizons (first, last year), docs/design.md.
HORIZON_YEARS = {
    "baseline": (1995, 2014),
    "near": (2021, 2040),
    "mid": (2041, 2060),
    "far": (2081, 2100),
}
_COLOURS = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df"]
_FLOOR = 1e-4  # 0.01 %: the smallest chance the report prints
_FONTS = ["DejaVu Sans", "Noto Sans CJK SC"]
_CJK_HINTS = ("notosanscjk", "notoserifcjk", "sourcehan", "wqy", "droidsansfallback")
_MATPLOTLIB = threading.Lock()
_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)


@functools.cache
def _register_cjk_fonts() -> None:
    """Make matplotlib measure Chinese labels with a CJK font (its cache may predate it)."""
    from matplotlib import font_manager

    if any("CJK" in font.name for font in font_manager.fontManager.ttflist):
        return
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower() for hint in _CJK_HINTS):
            font_manager.fontManager.addfont(path)


@contextlib.contextmanager
def _style(lang: Lang) -> Iterator[None]:
    """Keep text as text in the SVG, in the page's fonts; quiet about missing glyphs."""
    import matplotlib

    if lang == "zh":
        _register_cjk_fonts()
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with (
        _MATPLOTLIB,  # rcParams are process-wide: one figure at a time (API threads)
        warnings.catch_warnings(),
        matplotlib.rc_context({"svg.fonttype": "none", "font.family": _FONTS}),
    ):
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def _svg(figure: Any, *, adjust: bool = True) -> str:
    buffer = io.StringIO()
    if adjust:
        figure.subplots_adjust(left=0.1, right=0.6, bottom=0.16, top=0.95)  # legend at right
    figure.savefig(buffer, format="svg")
    text = _PROLOG.sub("", buffer.getvalue(), count=1)
    return text.replace("<svg ", '<svg class="figure" role="img" ', 1)


def _figure(width: float = 7.6, height: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=72)
    return figure


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.set_yscale("log")
    axis.set_ylim(_FLOOR * 0.8, 1.25)
    axis.yaxis.set_major_locator(FixedLocator([1e-4, 1e-3, 1e-2, 1e-1, 1.0]))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g} %"))
    axis.yaxis.set_minor_locator(NullLocator())


def _period_axis(axis: Any) -> None:
    """Log axis of return periods labelled 2, 5, 10 ... 1000 (never 10^3)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator([2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000]))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.xaxis.set_minor_locator(NullLocator())


def _clip(values: Sequence[float | None]) -> np.ndarray:
    array = np.array([np.nan if v is None else v for v in values], dtype=float)
    return np.clip(array, _FLOOR, 1.0)


def annual_target(result: CheckResult, hazard: str) -> float:
    """Return the annual chance whose design-life chance equals the hazard's target."""
    target = result.hazard_targets.get(hazard, result.target_probability)
    life = result.submission.design_life_years or 1
    return float(-math.expm1(math.log1p(-target) / life))


def probability_figure(result: CheckResult, hazard: str, lang: Lang) -> str | None:
    """Return the annual-chance figure of one hazard as SVG, or None without data.

    Parameters
    ----------
    result : CheckResult
        The check; rows of ``hazard`` on the AR6 horizons are drawn.
    hazard : str
        ``heat``, ``rain`` or ``surge``.
    lang : {"en", "zh"}
        Language of the labels.

    Returns
    -------
    str or None
        An ``<svg>`` element; None when no row has an annual probability.
    """
    rows = [r for r in result.rows if r.hazard == hazard and r.horizon in HORIZON_YEARS]
    if not any(r.annual_exceedance_probability is not None for r in rows):
        return None
    with _style(lang):
        figure = _figure(height=3.5)
        axis = figure.add_axes((0.12, 0.3, 0.47, 0.6))
        start = result.submission.start_year
        end = start + (result.submission.design_life_years or 1) - 1
        axis.axvspan(start, min(end, 2100), color="#eaeef2", label=TEXT["design_life_span"][lang])
        scenarios = list(dict.fromkeys(r.scenario for r in rows))
        for colour, scenario in zip(_COLOURS * 4, scenarios, strict=False):
            mine = sorted((r for r in rows if r.scenario == scenario), key=_mid_year)
            years = [_mid_year(r) for r in mine]
            axis.plot(
                years,
                _clip([r.annual_exceedance_probability for r in mine]),
                "o-",
                color=colour,
                label=scenario_label(scenario, lang),
            )
            low = _clip([r.annual_exceedance_probability_p10 for r in mine])
            high = _clip([r.annual_exceedance_probability_p90 for r in mine])
            if np.isfinite(low).any() and np.isfinite(high).any():
                axis.fill_between(years, low, high, color=colour, alpha=0.18, linewidth=0)
        axis.axhline(
            annual_target(result, hazard),
            color="#24292f",
            linestyle="--",
            label=TEXT["target_line"][lang],
        )
        _percent_axis(axis)
        axis.set_xlim(1995, 2100)
        axis.set_xlabel(TEXT["year"][lang])
        axis.set_ylabel(TEXT["annual_chance"][lang])
        axis.grid(True, which="major", alpha=0.3)
        _design_life_panel(figure.add_axes((0.71, 0.3, 0.27, 0.6)), result, rows, lang)
        figure.legend(
            *axis.get_legend_handles_labels(),
            fontsize=8,
            loc="lower center",
            ncol=3,
            frameon=False,
        )
        return _svg(figure, adjust=False)


def _design_life_panel(axis: Any, result: CheckResult, rows: list[HazardRow], lang: Lang) -> None:
    """Bars of each scenario's design-life chance, 10-90 % whiskers, the target dashed."""
    first: dict[str, HazardRow] = {}
    for row in rows:
        first.setdefault(row.scenario, row)
    names = list(first)
    values = _clip([first[n].design_life_exceedance_probability for n in names])
    low = _clip([first[n].design_life_exceedance_probability_p10 for n in names])
    high = _clip([first[n].design_life_exceedance_probability_p90 for n in names])
    positions = np.arange(len(names))
    colours = (_COLOURS * 4)[: len(names)]
    axis.bar(positions, values - _FLOOR * 0.8, bottom=_FLOOR * 0.8, color=colours, alpha=0.7)
    spread = np.isfinite(low) & np.isfinite(high)
    if spread.any():
        axis.errorbar(
            positions[spread],
            values[spread],
            # the spread's ends need not bracket the median (they are other quantiles' fits)
            yerr=np.clip([values[spread] - low[spread], high[spread] - values[spread]], 0.0, None),
            fmt="none",
            ecolor="#24292f",
            capsize=3,
        )
    hazard = rows[0].hazard
    axis.axhline(
        result.hazard_targets.get(hazard, result.target_probability), color="#24292f", ls="--"
    )
    _percent_axis(axis)
    axis.set_xticks(positions, [scenario_label(n, lang, short=True) for n in names], fontsize=7)
    axis.set_title(TEXT["life_chance_short"][lang], fontsize=9)
    axis.grid(True, axis="y", which="major", alpha=0.3)


def _mid_year(row: HazardRow) -> float:
    first, last = HORIZON_YEARS[row.horizon]
    return (first + last) / 2


def gumbel_line(row: HazardRow) -> tuple[float, float] | None:
    """Return (a, b) of the Gumbel line x = a + b y through a row's two points, or None.

    The points are the metric (its T-year level, T from the metric's name) and the standard
    (at T = 1 / annual p). None when a value is missing, the points share a return period
    (reduced variates closer than 0.05) or the line does not rise.
    """
    period = metric_period(row.metric)
    p = row.annual_exceedance_probability
    if period is None or p is None or row.metric_value is None or row.standard is None:
        return None
    p = min(max(p, 1e-9), 1 - 1e-9)
    y1, y2 = _reduced(period), -math.log(-math.log1p(-p))
    if abs(y1 - y2) < 0.05:
        return None
    slope = (row.metric_value - row.standard) / (y1 - y2)
    if slope <= 0:
        return None
    return row.metric_value - slope * y1, slope


def _reduced(period: Any) -> Any:
    return -np.log(-np.log1p(-1.0 / np.asarray(period, dtype=float)))


def _curves_from_rows(rows: list[HazardRow], lang: Lang) -> list[tuple[str, np.ndarray]]:
    periods = np.geomspace(2, 1000, 60)
    curves = []
    for row in rows:
        line = gumbel_line(row)
        if line is not None:
            label = f"{scenario_label(row.scenario, lang)}, {horizon_label(row.horizon, lang)}"
            curves.append((label, line[0] + line[1] * _reduced(periods)))
    return curves


def _pick_rows(rows: list[HazardRow]) -> list[HazardRow]:
    """Pick the baseline row once, then each scenario's last horizon."""
    picked: dict[tuple[str, str], HazardRow] = {}
    for row in sorted(rows, key=lambda r: list(HORIZON_YEARS).index(r.horizon)):
        key = ("baseline", "") if row.horizon == "baseline" else (row.scenario, "last")
        if row.horizon == "baseline" and key in picked:
            continue
        picked[key] = row
    return list(picked.values())


def return_level_figure(
    result: CheckResult, hazard: str, lang: Lang, curve: SiteCurve | None
) -> tuple[str, str] | None:
    """Return the return-level figure of one hazard (SVG) and its source, or None.

    Parameters
    ----------
    result : CheckResult
        The check; the standard and the rows of ``hazard``.
    hazard : str
        ``heat``, ``rain`` or ``surge``.
    lang : {"en", "zh"}
        Language of the labels.
    curve : SiteCurve or None
        Return levels at the site from the layer; None derives curves from the rows.

    Returns
    -------
    (str, str) or None
        The ``<svg>`` and ``"layer"`` or ``"rows"``; None when neither source gives a curve.
    """
    rows = _pick_rows([r for r in result.rows if r.hazard == hazard and r.horizon in HORIZON_YEARS])
    if not rows or metric_period(rows[0].metric) is None:
        return None  # e.g. a hot-day count: no return levels to draw
    bands: list[tuple[str, np.ndarray, np.ndarray | None, np.ndarray | None]] = []
    periods: np.ndarray
    if curve is not None:
        periods, source = curve.levels["return_period"].values.astype(float), "layer"
        for row in rows:
            bands.append((_label(row, lang), *_layer_levels(curve, row)))
    elif all(row.gev is not None for row in rows):
        periods, source = np.geomspace(2, 1000, 60), "gev"
        bands = [(_label(row, lang), *_gev_levels(row, periods)) for row in rows]
    else:
        periods, source = np.geomspace(2, 1000, 60), "rows"
        bands = [(label, values, None, None) for label, values in _curves_from_rows(rows, lang)]
    if not bands:
        return None
    units = units_label(rows[0].standard_units or rows[0].metric_units, lang)
    with _style(lang):
        figure = _figure()
        axis = figure.add_subplot()
        for colour, (label, median, low, high) in zip(_COLOURS * 4, bands, strict=False):
            axis.plot(periods, median, color=colour, label=label)
            if low is not None and high is not None:
                axis.fill_between(periods, low, high, color=colour, alpha=0.15, linewidth=0)
        standard = rows[0].standard
        if standard is not None:
            axis.axhline(standard, color="#cf222e", linestyle="--")
            axis.annotate(
                f"{TEXT['standard'][lang]} {standard:.4g}",
                (periods[0], standard),
                xytext=(2, 3),
                textcoords="offset points",
                color="#cf222e",
                fontsize=8,
            )
        _period_axis(axis)
        axis.set_xlabel(TEXT["return_period"][lang])
        axis.set_ylabel(units)
        axis.grid(True, which="major", alpha=0.3)
        axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return _svg(figure), source


def _gev_levels(
    row: HazardRow, periods: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return the row's GEV return levels at ``periods`` and, with its spread, the band.

    The band keeps scale and shape and uses the spread locations (docs/feasibility.md,
    "Model spread"), the same curves the check's probabilities come from.
    """
    from hazard_models.extremes.gev import return_level

    assert row.gev is not None
    loc, scale, shape = row.gev
    median = return_level(loc, scale, shape, periods)
    if row.gev_loc_spread is None:
        return median, None, None
    low, high = (return_level(x, scale, shape, periods) for x in row.gev_loc_spread)
    return median, low, high


def _label(row: HazardRow, lang: Lang) -> str:
    if row.horizon == "baseline":
        return horizon_label("baseline", lang)
    return f"{scenario_label(row.scenario, lang)}, {horizon_label(row.horizon, lang)}"


def _layer_levels(
    curve: SiteCurve, row: HazardRow
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    levels = curve.levels.sel(scenario=row.scenario, horizon=row.horizon)
    if "quantile" not in levels.dims:
        return levels.values, None, None
    quantiles = levels["quantile"].values
    median = levels.isel(quantile=int(np.argmin(np.abs(quantiles - 0.5)))).values
    return median, levels.isel(quantile=0).values, levels.isel(quantile=-1).values
