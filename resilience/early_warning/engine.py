"""Evaluate a rule set over an ensemble forecast: per district or asset, per hour, per member.

For each rule: compute every criterion's metric per member, hour and *unit*
(:mod:`~resilience.early_warning.metric`): a unit is a district for hazard rules, an asset
for impact rules (``assets``). Each member reaches the highest level any criterion gives; the
exceedance probability of a level is the fraction of members at or above it, and the level
issued for a unit and hour is the highest whose probability is at least
``engine.min_probability``. A district's level is its unit's, or the highest of its assets'.
An impact step also lists the assets downstream of its assets in the inventory's dependency
graph and addresses their agencies (:mod:`~resilience.early_warning.downstream`).
Hourly levels collapse into episodes (:mod:`~resilience.early_warning.episode`; a change of
the set of assets at a level starts a new step too); each becomes an :class:`AlertDecision`.

CAP certainty per step (OASIS CAP 1.2, domain.md 6.1): ``Observed`` when the input is an
analysis (``forecast.attrs["product"] == "analysis"``), else ``Likely`` when the probability
exceeds ``engine.likely_above`` (0.5: "> ~50 %"), else ``Possible``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from resilience.early_warning.area import assign_cells, district_areas
from resilience.early_warning.availability import check_inputs
from resilience.early_warning.decision import (
    AlertDecision,
    AreaRef,
    AssetRef,
    Certainty,
    DownstreamRef,
    LevelStep,
    RuleScope,
)
from resilience.early_warning.downstream import (
    build_asset_index,
    downstream_agencies,
    downstream_refs,
)
from resilience.early_warning.episode import Episode, collapse_episodes, held_levels
from resilience.early_warning.impact import (
    AssetTargets,
    asset_levels,
    layer_return_levels,
    select_assets,
)
from resilience.early_warning.metric import (
    asset_metric,
    criterion_levels,
    criterion_metric,
    hour_ends,
    missing_hours,
)
from resilience.early_warning.rule_models import LEVELS, Criterion, HazardRule, RuleSet
from resilience.early_warning.wording import format_criterion

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["evaluate_rules", "rule_scopes"]


@dataclass
class _Fields:
    """Per-rule arrays over units (districts, or assets).

    Metrics and levels (member, time, unit) per criterion, probability (level 1..4, time,
    unit), issued level (time, unit) and the unit indices of each district.
    """

    criteria: list[Criterion]
    metrics: list[np.ndarray]
    bases: list[np.ndarray | None]
    levels: list[np.ndarray]
    probability: np.ndarray
    issued: np.ndarray
    groups: dict[str, np.ndarray]
    targets: AssetTargets | None


def _issued_levels(probability: np.ndarray, rule: HazardRule, minimum: float) -> np.ndarray:
    """(time, unit) highest level index of the rule whose probability >= ``minimum``."""
    issued = np.zeros(probability.shape[1:], dtype=int)
    for level in rule.levels:
        k = LEVELS.index(level) + 1
        issued = np.where(probability[k - 1] >= minimum, k, issued)
    return issued


def _district_metrics(ctx: dict, rule: HazardRule, codes: list[str]) -> list[np.ndarray]:
    cells = [ctx["cells"][c] for c in codes]
    out = []
    for crit in rule.criteria:
        levels = None
        if crit.layer_level is not None:
            levels = layer_return_levels(
                ctx["layers"][crit.layer_level.layer],
                crit.layer_level,
                window_h=crit.window_h,
                grid=ctx["grid"],
                rule_id=rule.id,
            )
        out.append(criterion_metric(ctx["forecast"], crit, cells, return_levels=levels))
    return out


def _fields(ctx: dict, rule: HazardRule, codes: list[str]) -> _Fields:
    targets = None
    bases: list[np.ndarray | None] = [None] * len(rule.criteria)
    if rule.assets is not None:
        targets = select_assets(
            rule, ctx["assets"], ctx["districts"], codes=codes, grid=ctx["grid"]
        )
        metrics = [asset_metric(ctx["forecast"], c, targets) for c in rule.criteria]
        bases = [_levels(targets, c, rule) for c in rule.criteria]
        groups = {c: np.flatnonzero(targets.district == c) for c in codes}
    else:
        metrics = _district_metrics(ctx, rule, codes)
        groups = {c: np.array([j]) for j, c in enumerate(codes)}
    levels = [
        criterion_levels(m, c, base=b)
        for m, c, b in zip(metrics, rule.criteria, bases, strict=True)
    ]
    member_level = np.max(np.stack(levels), axis=0)
    probability = np.stack([(member_level >= k).mean(axis=0) for k in range(1, 5)])
    issued = _issued_levels(probability, rule, ctx["rules"].engine.min_probability)
    groups = {c: g for c, g in groups.items() if g.size}
    return _Fields(
        list(rule.criteria), metrics, bases, levels, probability, issued, groups, targets
    )


def _levels(targets: AssetTargets, crit: Criterion, rule: HazardRule) -> np.ndarray:
    assert crit.asset_level is not None  # checked on load (rule_checks)
    return asset_levels(targets, crit.asset_level, rule_id=rule.id)


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


def _best_criterion(fields: _Fields, level: int, hours: slice, units: np.ndarray) -> int:
    """Index of the criterion most members reach ``level`` with during ``hours`` in ``units``."""
    shares = [(lv[:, hours][:, :, units] >= level).mean(axis=0).max() for lv in fields.levels]
    return int(np.argmax(shares))


def _metric_units(units: str, crit: Criterion) -> str:
    """Units of a criterion's metric: an hourly rate summed over w hours is "mm in w h"."""
    if crit.layer_level is not None:
        return "years (local return period)"
    if crit.asset_level is not None:
        return f"{units} above the asset level"
    if crit.aggregation == "sum" and units.endswith("/h"):
        return f"{units[:-2]} in {crit.window_h} h"
    return units


def _texts(crit: Criterion, value: float) -> tuple[str, str]:
    return format_criterion(crit.text_zh, value), format_criterion(crit.text_en, value)


def _step_assets(ctx: dict, hours: slice, units: np.ndarray) -> list[AssetRef]:
    fields = ctx["fields"]
    if fields.targets is None:
        return []
    held = ctx["held"][hours][:, units].max(axis=0)
    t = fields.targets
    return [
        AssetRef(
            asset_id=str(t.asset_id[u]),
            name=str(t.name[u]),
            name_zh=str(t.name_zh[u]),
            lat=round(float(t.lat[u]), 5),
            lon=round(float(t.lon[u]), 5),
            level=LEVELS[int(h) - 1],
        )
        for u, h in zip(units, held, strict=True)
        if h > 0
    ]


def _step_downstream(ctx: dict, assets: list[AssetRef]) -> list[DownstreamRef]:
    """Return the assets depending on the step's assets (graph built once per evaluation)."""
    if not assets:
        return []
    if "index" not in ctx:
        ctx["index"] = build_asset_index(ctx["assets"])
    if ctx["index"] is None:
        return []
    warned = [a.asset_id for a in assets]
    return downstream_refs(ctx["index"], warned, agencies=ctx["rules"].asset_agencies)


def _step(ctx: dict, level: int, hours: slice, end: datetime) -> LevelStep:
    fields, rule, units, rules = ctx["fields"], ctx["rule"], ctx["units"], ctx["rules"]
    ci = _best_criterion(fields, level, hours, units)
    crit = fields.criteria[ci]
    threshold = next(t for t in crit.thresholds if LEVELS.index(t.level) + 1 >= level)
    metric = fields.metrics[ci][:, hours][:, :, units]
    base = fields.bases[ci]
    if base is not None:  # show margins over the asset levels
        metric = metric.astype("float64") - base[units]
    finite = np.where(np.isfinite(metric), metric, np.nan)
    finite = finite[:, ~np.isnan(finite).all(axis=0)]  # hours held over a gap have no value
    probability = float(fields.probability[level - 1, hours][:, units].max())
    text_zh, text_en = _texts(crit, threshold.value)
    assets = _step_assets(ctx, hours, units)
    downstream = _step_downstream(ctx, assets)
    missing = int(missing_hours(ctx["forecast"], crit)[hours].max())
    if missing:  # data gap: say so in the message (forecast_checks reports it for the run)
        text_zh += f"（预报最多缺{missing}个时次，按现有时次计算）"
        text_en += f" (forecast missing up to {missing} h; computed on the hours present)"
    return LevelStep(
        level=LEVELS[level - 1],
        start=ctx["ends"][hours.start] - timedelta(hours=1),
        end=end,
        probability=round(probability, 3),
        certainty=_certainty(probability, rules, ctx["analysis"]),
        criterion_id=crit.id,
        criterion_zh=text_zh,
        criterion_en=text_en,
        value_median=round(float(np.nanmax(np.nanmedian(finite, axis=0))), 2),
        value_max=round(float(np.nanmax(finite)), 2),
        units=_metric_units(ctx["units_of"][crit.variable], crit),
        unconfirmed=threshold.unconfirmed,
        recipients=downstream_agencies(
            downstream, _recipients(rules, rule, ctx["area"].code, level)
        ),
        assets=assets,
        downstream=downstream,
    )


def _scope(ctx: dict) -> RuleScope:
    rule, rules = ctx["rule"], ctx["rules"]
    return RuleScope(
        rule_id=rule.id,
        hazard=rule.hazard,
        scope=rule.scope,
        hazard_info=rules.hazards[rule.hazard],
        issuer=rules.agency(rule.issuer),
        region_code=rules.engine.region_code,
        area=ctx["area"],
        lead_h=rule.lead_h,
        guidance=rule.guidance,
        forecast_issued=ctx["issued"],
        synthetic=ctx["synthetic"],
        likely_above=rules.engine.likely_above,
        expected_within_h=rules.engine.expected_within_h,
        downstream_named=rules.engine.downstream_named,
    )


def _decision(ctx: dict, episode: Episode) -> AlertDecision:
    ends = ctx["ends"]
    expires = ends[episode.last] + timedelta(hours=ctx["hold"])
    steps = []
    for n, span in enumerate(episode.steps):
        nxt = episode.steps[n + 1].first if n + 1 < len(episode.steps) else None
        stop = nxt if nxt is not None else episode.last + 1
        end = ends[nxt] - timedelta(hours=1) if nxt is not None else expires
        steps.append(_step(ctx, span.level, slice(span.first, stop), end))
    return AlertDecision(
        **_scope(ctx).model_dump(),
        onset=steps[0].start,
        expires=expires,
        steps=steps,
        open_ended=episode.last == len(ends) - 1,
    )


def _rule_areas(rule: HazardRule, areas: Mapping[str, AreaRef]) -> list[str]:
    codes = list(areas) if rule.areas == "all" else list(rule.areas)
    missing = [c for c in codes if c not in areas]
    if missing:
        raise ValueError(f"rule {rule.id!r}: areas {missing} are not in the districts given")
    return codes


def _asset_keys(held: np.ndarray) -> np.ndarray:
    """(time,) integer code of the (asset, level) set at each hour."""
    codes: dict[bytes, int] = {}
    return np.array([codes.setdefault(row.tobytes(), len(codes)) for row in held])


def _context(forecast: xr.Dataset, rules: RuleSet, districts: gpd.GeoDataFrame, **inputs) -> dict:
    issued = forecast.attrs.get("issued")
    return {
        "forecast": forecast,
        "rules": rules,
        "districts": districts,
        "areas": district_areas(districts),
        "cells": assign_cells(forecast["lat"].values, forecast["lon"].values, districts),
        "grid": (forecast["lat"].values, forecast["lon"].values),
        "ends": list(hour_ends(forecast).to_pydatetime()),
        "analysis": forecast.attrs.get("product") == "analysis",
        "synthetic": str(forecast.attrs.get("synthetic", "no")).lower() == "yes",
        "issued": pd.Timestamp(issued).to_pydatetime() if issued else None,
        "units_of": {k: str(v.attrs.get("units", "")) for k, v in forecast.data_vars.items()},
        **inputs,
    }


def evaluate_rules(
    forecast: xr.Dataset,
    rules: RuleSet,
    districts: gpd.GeoDataFrame,
    *,
    assets: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, xr.Dataset] | None = None,
) -> list[AlertDecision]:
    """Evaluate every rule over a forecast and return the alert episodes per hazard and area.

    Parameters
    ----------
    forecast : xarray.Dataset
        Ensemble forecast: grid variables (member, time, lat, lon) and ``water_level``
        (member, time, station); ``time`` = end of each hour, UTC. Units ``tas`` degC, ``pr``
        mm/h (hourly total), ``sfcWind``/``wind_gust`` m/s, ``water_level`` m (Wusong datum).
        Optional ``tropical_cyclone_influence`` (time) flag; attrs ``issued``, ``product``,
        ``synthetic``. A deterministic forecast is one member.
    rules : RuleSet
        Validated rule set (:func:`~resilience.early_warning.rules.load_rules`).
    districts : geopandas.GeoDataFrame
        ``district_code`` (GB/T 2260), ``name_zh``, ``name_en``, geometry in EPSG:4326.
    assets : geopandas.GeoDataFrame, optional
        Asset inventory (Assets contract), needed by rules with ``assets``.
    layers : mapping of str to xarray.Dataset, optional
        Hazard layers by name (e.g. ``{"idf": ...}``), needed by ``layer_level`` criteria.

    Returns
    -------
    list of AlertDecision
        Ordered by rule, area and onset. Pure: nothing is read or written.

    Raises
    ------
    ValueError
        If a variable, unit, station, district, inventory column or layer the rules need is
        missing.
    """
    layers = dict(layers or {})
    check_inputs(rules, assets=assets, layers=layers)
    ctx = _context(forecast, rules, districts, assets=assets, layers=layers)
    decisions = []
    for rule in rules.rules:
        fields = _fields(ctx, rule, _rule_areas(rule, ctx["areas"]))
        hold = rule.hold_h if rule.hold_h is not None else rules.engine.hold_h
        held = held_levels(fields.issued, hold)
        for code, units in fields.groups.items():
            ctx.update(fields=fields, rule=rule, units=units, area=ctx["areas"][code])
            ctx.update(hold=hold, held=held)
            keys = _asset_keys(held[:, units]) if fields.targets is not None else None
            district = fields.issued[:, units].max(axis=1)
            for episode in collapse_episodes(district, hold_h=hold, keys=keys):
                decisions.append(_decision(ctx, episode))
    return decisions


def rule_scopes(
    forecast: xr.Dataset,
    rules: RuleSet,
    districts: gpd.GeoDataFrame,
    *,
    assets: gpd.GeoDataFrame | None = None,
) -> list[RuleScope]:
    """Return every (rule, district) a forecast evaluates: what an alert there would carry.

    The lifecycle uses them to close alerts of earlier forecasts that this one no longer
    supports. Impact rules cover only the districts holding at least one of their assets.
    """
    ctx = _context(forecast, rules, districts, assets=assets, layers={})
    out = []
    for rule in rules.rules:
        codes = _rule_areas(rule, ctx["areas"])
        if rule.assets is not None:
            if assets is None:
                continue
            targets = select_assets(rule, assets, districts, codes=codes, grid=ctx["grid"])
            codes = [c for c in codes if (targets.district == c).any()]
        for code in codes:
            ctx.update(rule=rule, area=ctx["areas"][code])
            out.append(_scope(ctx))
    return out
