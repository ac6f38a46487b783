"""Evaluate a rule set over an ensemble forecast: per district, per hour, per member.

For each rule: compute every criterion's metric per member, hour and district
(:mod:`~resilience.early_warning.metric`), take the level each member reaches (highest over
the criteria), and the exceedance probability of each level as the fraction of members at or
above it. The level issued for an hour is the highest whose probability is at least
``engine.min_probability``. Hourly levels collapse into episodes
(:mod:`~resilience.early_warning.episode`); each becomes an :class:`AlertDecision`.

CAP certainty per step (OASIS CAP 1.2, domain.md 6.1): ``Observed`` when the input is an
analysis (``forecast.attrs["product"] == "analysis"``), else ``Likely`` when the probability
exceeds ``engine.likely_above`` (0.5: "> ~50 %"), else ``Possible``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from resilience.early_warning.area import assign_cells, district_areas
from resilience.early_warning.decision import AlertDecision, AreaRef, Certainty, LevelStep
from resilience.early_warning.episode import Episode, collapse_episodes
from resilience.early_warning.metric import criterion_levels, criterion_metric, hour_ends
from resilience.early_warning.rules import LEVELS, Criterion, HazardRule, RuleSet

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["evaluate_rules"]


class _RuleFields:
    """Per-rule arrays: criteria metrics and levels (member, time, area) and probabilities."""

    def __init__(self, forecast: xr.Dataset, rule: HazardRule, cells: list[np.ndarray]):
        self.criteria: list[Criterion] = list(rule.criteria)
        self.metrics = [criterion_metric(forecast, c, cells) for c in self.criteria]
        pairs = zip(self.metrics, self.criteria, strict=True)
        self.levels = [criterion_levels(m, c) for m, c in pairs]
        member_level = np.max(np.stack(self.levels), axis=0)
        #: (level 1..4, time, area): fraction of members at or above the level
        self.probability = np.stack([(member_level >= k).mean(axis=0) for k in range(1, 5)])


def _issued_levels(probability: np.ndarray, rule: HazardRule, minimum: float) -> np.ndarray:
    """(time, area) highest level index of the rule whose probability >= ``minimum``."""
    issued = np.zeros(probability.shape[1:], dtype=int)
    for level in rule.levels:
        k = LEVELS.index(level) + 1
        issued = np.where(probability[k - 1] >= minimum, k, issued)
    return issued


def _certainty(probability: float, rules: RuleSet, analysis: bool) -> Certainty:
    if analysis:
        return "Observed"
    return "Likely" if probability > rules.engine.likely_above else "Possible"


def _recipients(rules: RuleSet, rule: HazardRule, area: str, level: int) -> list[str]:
    out = [rule.issuer]
    for agency in rules.agencies:
        in_area = agency.districts == "all" or area in agency.districts
        wants = rule.hazard in agency.hazards and LEVELS.index(agency.min_level) < level
        if in_area and wants and agency.id not in out:
            out.append(agency.id)
    return out


def _best_criterion(fields: _RuleFields, level: int, hours: slice, j: int) -> int:
    """Index of the criterion most members reach ``level`` with during ``hours`` in area j."""
    shares = [(lv[:, hours, j] >= level).mean(axis=0).max() for lv in fields.levels]
    return int(np.argmax(shares))


def _metric_units(units: str, crit: Criterion) -> str:
    """Units of a criterion's metric: an hourly rate summed over w hours is "mm in w h"."""
    if crit.aggregation == "sum" and units.endswith("/h"):
        return f"{units[:-2]} in {crit.window_h} h"
    return units


def _step(ctx: dict, level: int, hours: slice, end: datetime) -> LevelStep:
    fields, rule, j, rules = ctx["fields"], ctx["rule"], ctx["j"], ctx["rules"]
    ci = _best_criterion(fields, level, hours, j)
    crit = fields.criteria[ci]
    threshold = next(t for t in crit.thresholds if LEVELS.index(t.level) + 1 >= level)
    metric = fields.metrics[ci][:, hours, j]
    finite = np.where(np.isfinite(metric), metric, np.nan)
    probability = float(fields.probability[level - 1, hours, j].max())
    value = f"{threshold.value:g}"
    return LevelStep(
        level=LEVELS[level - 1],
        start=ctx["ends"][hours.start] - timedelta(hours=1),
        end=end,
        probability=round(probability, 3),
        certainty=_certainty(probability, rules, ctx["analysis"]),
        criterion_id=crit.id,
        criterion_zh=crit.text_zh.format(value=value),
        criterion_en=crit.text_en.format(value=value),
        value_median=round(float(np.nanmax(np.nanmedian(finite, axis=0))), 2),
        value_max=round(float(np.nanmax(finite)), 2),
        units=_metric_units(ctx["units"][crit.variable], crit),
        unconfirmed=threshold.unconfirmed,
        recipients=_recipients(rules, rule, ctx["area"].code, level),
    )


def _decision(ctx: dict, episode: Episode) -> AlertDecision:
    rule, rules, ends = ctx["rule"], ctx["rules"], ctx["ends"]
    hold = rule.hold_h if rule.hold_h is not None else rules.engine.hold_h
    expires = ends[episode.last] + timedelta(hours=hold)
    steps = []
    for n, span in enumerate(episode.steps):
        nxt = episode.steps[n + 1].first if n + 1 < len(episode.steps) else None
        stop = nxt if nxt is not None else episode.last + 1
        end = ends[nxt] - timedelta(hours=1) if nxt is not None else expires
        steps.append(_step(ctx, span.level, slice(span.first, stop), end))
    return AlertDecision(
        rule_id=rule.id,
        hazard=rule.hazard,
        hazard_info=rules.hazards[rule.hazard],
        issuer=rules.agency(rule.issuer),
        region_code=rules.engine.region_code,
        area=ctx["area"],
        onset=steps[0].start,
        expires=expires,
        lead_h=rule.lead_h,
        steps=steps,
        guidance=rule.guidance,
        forecast_issued=ctx["issued"],
        synthetic=ctx["synthetic"],
        likely_above=rules.engine.likely_above,
        expected_within_h=rules.engine.expected_within_h,
    )


def _rule_areas(rule: HazardRule, areas: dict[str, AreaRef]) -> list[str]:
    codes = list(areas) if rule.areas == "all" else list(rule.areas)
    missing = [c for c in codes if c not in areas]
    if missing:
        raise ValueError(f"rule {rule.id!r}: areas {missing} are not in the districts given")
    return codes


def _context(forecast: xr.Dataset) -> dict:
    issued = forecast.attrs.get("issued")
    return {
        "ends": list(hour_ends(forecast).to_pydatetime()),
        "analysis": forecast.attrs.get("product") == "analysis",
        "synthetic": str(forecast.attrs.get("synthetic", "no")).lower() == "yes",
        "issued": pd.Timestamp(issued).to_pydatetime() if issued else None,
        "units": {k: str(v.attrs.get("units", "")) for k, v in forecast.data_vars.items()},
    }


def evaluate_rules(
    forecast: xr.Dataset, rules: RuleSet, districts: gpd.GeoDataFrame
) -> list[AlertDecision]:
    """Evaluate every rule over a forecast and return the alert episodes per hazard and area.

    Parameters
    ----------
    forecast : xarray.Dataset
        Ensemble forecast: grid variables (member, time, lat, lon) and ``water_level``
        (member, time, station); ``time`` = end of each hour, UTC. Units ``tas`` degC, ``pr``
        mm/h (hourly total), ``sfcWind``/``wind_gust`` m/s, ``water_level`` m (Wusong datum).
        Optional ``tropical_cyclone_influence`` (time) flag; attrs ``issued``, ``product``,
        ``synthetic``.
    rules : RuleSet
        Validated rule set (:func:`~resilience.early_warning.rules.load_rules`).
    districts : geopandas.GeoDataFrame
        ``district_code`` (GB/T 2260), ``name_zh``, ``name_en``, geometry in EPSG:4326.

    Returns
    -------
    list of AlertDecision
        Ordered by rule, area and onset. Pure: nothing is read or written.

    Raises
    ------
    ValueError
        If a variable, unit, station or district the rules need is missing.
    """
    ctx = _context(forecast)
    areas = district_areas(districts)
    cells_by_code = assign_cells(forecast["lat"].values, forecast["lon"].values, districts)
    decisions = []
    for rule in rules.rules:
        codes = _rule_areas(rule, areas)
        fields = _RuleFields(forecast, rule, [cells_by_code[c] for c in codes])
        issued = _issued_levels(fields.probability, rule, rules.engine.min_probability)
        hold = rule.hold_h if rule.hold_h is not None else rules.engine.hold_h
        for j, code in enumerate(codes):
            ctx.update(fields=fields, rule=rule, rules=rules, j=j, area=areas[code])
            for episode in collapse_episodes(issued[:, j], hold_h=hold):
                decisions.append(_decision(ctx, episode))
    return decisions
