"""Run a climate feasibility check of one site against published hazard layers.

The check is the RiskTable of a single asset: the site is overlaid on each layer with
``assets.overlay.sample_layer`` and scored with ``assets.risk`` and ``assets.metrics`` (no
duplicate maths here).
Verdict rule (a project choice, documented in ``docs/feasibility.md``):

- ``not_feasible`` when any checked hazard reaches the "very high" class (score >= 17) in any
  scenario, in a horizon that overlaps the design life: the standard is likely to be exceeded
  in a year of that climate with severe consequences;
- ``feasible_with_adaptation`` otherwise, when some hazard's design-life exceedance
  probability is above the target in some scenario (advice says what standard would do);
- ``feasible`` when every checked probability is at or under the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from assets.catalogue import ASSET_TYPES
from assets.metrics import design_value_for_target, risk_class
from assets.overlay import sample_layer
from assets.risk import HAZARDS, build_risk_table, horizon_mid_years
from hazard_models.extremes.gev import exceedance_probability
from hazard_models.layer import synthetic_flag, validate_hazard_layer
from resilience.feasibility.models import (
    Advice,
    CheckResult,
    HazardName,
    HazardRow,
    LayerInput,
    Submission,
)

__all__ = [
    "REQUIRED_VARIABLES",
    "VERDICT_RULE",
    "FeasibilityError",
    "extrapolation_note",
    "layer_extent",
    "run_check",
]

_GEV = ("gev_loc", "gev_scale", "gev_shape")
_METRIC = {"heat": "txx", "rain": "rx1day", "surge": "still_water_level"}
#: Layer variables a check reads, per hazard (docs/decisions.md D2).
REQUIRED_VARIABLES: dict[str, tuple[str, ...]] = {
    hazard: (metric, *(f"{metric}_{p}" for p in _GEV)) for hazard, metric in _METRIC.items()
}
VERY_HIGH_SCORE = 17
_STATION_REACH_KM = 50.0  # sample_layer's default max_station_distance_km
VERDICT_RULE = (
    "not_feasible if any checked hazard reaches the very high class (score >= 17) in any "
    "scenario during a horizon that overlaps the design life; otherwise "
    "feasible_with_adaptation if any design-life exceedance probability is above its "
    "hazard's target in any scenario (the drainage target is at least the "
    "probability the standard accepts in a stationary climate); otherwise feasible "
    "(project choice)"
)
SOURCES = (
    "Coles (2001) An Introduction to Statistical Modeling of Extreme Values: GEV, return "
    "levels, design-life (encounter) probability",
    "Huizinga, de Moel & Szewczyk (2017) JRC global flood depth-damage functions, "
    "EUR 28552 EN, doi:10.2760/16510 (Asia curves)",
    "UK National Risk Register likelihood scale (<0.2 %, 0.2-1 %, 1-5 %, 5-25 %, >25 %)",
    "Commission Notice 2021/C 373/01 (EU climate proofing): sensitivity x exposure screening",
    "IPCC AR6 WGI horizons: baseline 1995-2014, near 2021-2040, mid 2041-2060, far 2081-2100",
)
METHOD = (
    "The site is overlaid on each hazard layer (nearest cell or station). For each scenario "
    "and horizon the annual probability that the design standard is exceeded comes from the "
    "layer's pooled GEV fit; annual probabilities are interpolated between horizon mid-years "
    "over the design life, and P = 1 - prod(1 - p_t) is the chance of at least one exceedance. "
    "Likelihood (1-5, UK NRR bands) x consequence (criticality shifted by the asset type's "
    "sensitivity) gives a 1-25 score. Advice inverts P by bisection over the GEV to find the "
    "standard whose design-life probability meets the target in the worst scenario."
)


class FeasibilityError(ValueError):
    """A check cannot run: a layer is missing or the site is outside a layer."""


def _check_layers(layers: Mapping[str, xr.Dataset], *, validated: bool) -> None:
    missing = [h for h in HAZARDS if h not in layers]
    if missing:
        raise FeasibilityError(
            f"missing hazard layers {missing}: a check needs {list(HAZARDS)}, got {sorted(layers)}"
        )
    for hazard in HAZARDS:
        if not validated:
            validate_hazard_layer(layers[hazard])
        absent = [v for v in REQUIRED_VARIABLES[hazard] if v not in layers[hazard]]
        if absent:
            raise FeasibilityError(f"{hazard} layer: missing variables {absent}")


def _site_frame(submission: Submission) -> Any:
    import geopandas as gpd
    from shapely.geometry import Point

    def number(value: float | None) -> float:
        return math.nan if value is None else float(value)

    row = {
        "asset_id": "site",
        "name": submission.project_name,
        "asset_type": submission.asset_type,
        "owner_agency": "proponent",
        "criticality": submission.criticality,
        "ground_elevation_m": number(submission.ground_elevation_m),
        "protection_level_m": number(submission.protection_level_m),
        "design_life_years": submission.design_life_years,
        "replacement_value": number(submission.replacement_value),
        "depends_on": [[]],
        "heat_threshold_degc": submission.heat_threshold_degc,
        "drainage_return_period_years": submission.drainage_return_period_years,
    }
    geometry = [Point(submission.lon, submission.lat)]
    return gpd.GeoDataFrame(pd.DataFrame(row, index=[0]), geometry=geometry, crs="EPSG:4326")


def _exposures(layers: Mapping[str, xr.Dataset], site: Any) -> dict[str, xr.Dataset]:
    exposures = {}
    for hazard in HAZARDS:
        needed = layers[hazard][list(REQUIRED_VARIABLES[hazard])]  # sample_layer validates less
        exposure = sample_layer(needed, site, variables=REQUIRED_VARIABLES[hazard])
        if bool(exposure["outside_layer"].values[0]):
            lon, lat = site.geometry.iloc[0].x, site.geometry.iloc[0].y
            raise FeasibilityError(
                f"site ({lon:.3f} E, {lat:.3f} N) is outside the {hazard} layer: "
                f"expected {layer_extent(layers[hazard])}"
            )
        exposures[hazard] = exposure
    return exposures


def layer_extent(layer: xr.Dataset) -> str:
    """Describe where a layer can be sampled, for error messages.

    Parameters
    ----------
    layer : xarray.Dataset
        A gridded (``lat``/``lon`` dims) or station (``station`` dim) HazardLayer.

    Returns
    -------
    str
        For a grid, its cell-centre box and the one-spacing margin that ``sample_layer``
        accepts; for stations, each station and the 50 km reach.
    """
    lon, lat = layer["lon"].values, layer["lat"].values
    if "station" in layer.dims:
        names = layer["station"].values
        where = ", ".join(
            f"{n} ({x:.3f} E, {y:.3f} N)" for n, x, y in zip(names, lon, lat, strict=True)
        )
        return f"a site within {_STATION_REACH_KM:g} km of a station: {where}"
    dlon = float(np.max(np.diff(lon))) if lon.size > 1 else 0.0
    dlat = float(np.max(np.diff(lat))) if lat.size > 1 else 0.0
    return (
        f"a site within one grid spacing ({dlon:g} x {dlat:g} deg) of the grid, cell centres "
        f"{lon.min():.3f}-{lon.max():.3f} E, {lat.min():.3f}-{lat.max():.3f} N"
    )


def extrapolation_note(exposure: xr.Dataset, submission: Submission) -> str | None:
    """Say how the design life is extended beyond the layers' horizons, or None if it is not.

    Annual probabilities are interpolated between horizon mid-years and held constant
    outside them (``assets.risk``); years after the last horizon ends are therefore not
    projected but held at the far horizon's probability.

    Parameters
    ----------
    exposure : xarray.Dataset
        An Exposure with ``start``/``end`` year coordinates on ``horizon``.
    submission : Submission
        The submission (``start_year``, ``design_life_years``).

    Returns
    -------
    str or None
        The rule used, naming the years extrapolated, or None when the design life ends
        within the last horizon.
    """
    first = submission.start_year
    last = first + (submission.design_life_years or 1) - 1
    ends = exposure["end"].values
    index = int(np.argmax(ends))
    end, name = int(ends[index]), str(exposure["horizon"].values[index])
    if last <= end:
        return None
    return (
        f"design life {first}-{last} runs {last - end} years past the last horizon "
        f"({name}, {int(exposure['start'].values[index])}-{end}): probabilities after {end} "
        f"held at the {name} horizon's (no projection beyond it)"
    )


def _int_or_none(value: float) -> int | None:
    return None if pd.isna(value) else int(value)


def _rows(table: pd.DataFrame) -> list[HazardRow]:
    fields = [f for f in HazardRow.model_fields if f in table.columns]
    records = table[fields].to_dict(orient="records")
    for record in records:
        for key in ("likelihood", "consequence", "score"):
            record[key] = _int_or_none(record[key])
    return [HazardRow(**record) for record in records]


def _ceil(value: float, step: float) -> float:
    """Round up to ``step`` so that the advised standard stays on the safe side."""
    return round(math.ceil(value / step) * step, 6)


def _advice_for(
    hazard: str, exposure: xr.Dataset, rows: pd.DataFrame, submission: Submission, target: float
) -> Advice:
    """Advise the standard that meets ``target`` in every scenario (the worst one governs)."""
    metric = _METRIC[hazard]
    loc, scale, shape = (
        exposure[f"{metric}_{p}"].isel(asset_id=0).transpose("scenario", "horizon").values
        for p in _GEV
    )
    life = submission.design_life_years
    assert life is not None  # filled from the catalogue by Submission's validator
    values = design_value_for_target(
        (loc, scale, shape),
        horizon_mid_years(exposure),
        start_year=submission.start_year,
        design_life_years=life,
        target=target,
    )
    worst_index = int(np.argmax(values))
    value, scenario = values[worst_index], str(exposure["scenario"].values[worst_index])
    params = (loc[worst_index], scale[worst_index], shape[worst_index])
    worst = rows[rows["scenario"] == scenario].iloc[0]
    current = None if pd.isna(worst["standard"]) else float(worst["standard"])
    units, period = str(worst["standard_units"]), None
    if hazard == "surge":
        advised = _ceil(float(value), 0.01)
        message = f"raise protection level from {current:.2f} m to {advised:.2f} m (Wusong datum)"
    elif hazard == "heat":
        advised = _ceil(float(value), 0.1)
        message = f"design for TXx {advised:.1f} degC (standard {current:.1f} degC)"
    else:
        advised = _ceil(float(value), 1.0)
        baseline = [p[list(exposure["horizon"].values).index("baseline")] for p in params]
        annual = float(exceedance_probability(advised, *baseline))
        period = 1.0 / annual if annual > 1e-6 else 1e6  # beyond the fitted support: cap
        message = (
            f"size drainage for the {period:.0f}-yr storm ({advised:.0f} mm/day in the baseline "
            f"climate) instead of the {submission.drainage_return_period_years:g}-yr storm "
            f"({current:.0f} mm/day)"
        )
    return Advice(
        hazard=cast(HazardName, hazard),
        worst_scenario=scenario,  # type: ignore[arg-type]
        design_life_exceedance_probability=float(worst["design_life_exceedance_probability"]),
        current_standard=current,
        advised_standard=advised,
        units=units,
        advised_return_period_years=period,
        message=message,
    )


def _advice(
    table: pd.DataFrame,
    exposures: Mapping[str, xr.Dataset],
    submission: Submission,
    targets: Mapping[str, float],
) -> list[Advice]:
    advice = []
    above = _above_target(table, targets)
    for hazard, rows in table.groupby("hazard", sort=False):
        if not above.loc[rows.index].any():
            continue
        target = targets[str(hazard)]
        advice.append(_advice_for(str(hazard), exposures[str(hazard)], rows, submission, target))
    return advice


def hazard_targets(submission: Submission, target: float) -> dict[str, float]:
    """Return the acceptable design-life exceedance probability per hazard.

    Absolute standards (a temperature, a protection level) use ``target``. A drainage
    standard is itself a return period T: even in a stationary climate it is exceeded over an
    L-year life with probability 1 - (1 - 1/T)^L, which the standard accepts by design. The
    rain check therefore asks whether climate change makes that probability worse, i.e. its
    target is the larger of ``target`` and the stationary design-life probability.
    """
    life = submission.design_life_years or 1
    period = submission.drainage_return_period_years or math.inf
    designed = -math.expm1(life * math.log1p(-1.0 / period)) if period > 1 else 1.0
    return {"heat": target, "surge": target, "rain": max(target, designed)}


def _above_target(table: pd.DataFrame, targets: Mapping[str, float]) -> pd.Series:
    limit = table["hazard"].map(targets).astype(float)
    return table["design_life_exceedance_probability"] > limit + 1e-12


def life_horizons(exposure: xr.Dataset, submission: Submission) -> set[str]:
    """Return the horizons that overlap the design life (all of them if none does).

    A project built in 2030 with a 30-year life is scored on the near and mid horizons, not on
    2081-2100; its design-life probability already integrates every year of its life.
    """
    first = submission.start_year
    last = first + (submission.design_life_years or 1) - 1
    starts, ends = exposure["start"].values, exposure["end"].values
    names = [str(h) for h in exposure["horizon"].values]
    overlapping = {
        n for n, s, e in zip(names, starts, ends, strict=True) if s <= last and e >= first
    }
    return overlapping or set(names)


def _verdict(table: pd.DataFrame, targets: Mapping[str, float], horizons: set[str]) -> str:
    scored = table[table["horizon"].isin(horizons)]
    if (scored["score"] >= VERY_HIGH_SCORE).any():
        return "not_feasible"
    if _above_target(table, targets).any():
        return "feasible_with_adaptation"
    return "feasible"


def _layer_inputs(layers: Mapping[str, xr.Dataset]) -> dict[str, LayerInput]:
    """Return the provenance of each hazard layer used (HazardLayer global attributes)."""
    return {
        h: LayerInput(
            layer_version=str(layers[h].attrs.get("layer_version", "")),
            inputs_sha256=str(layers[h].attrs.get("inputs_sha256", "")),
            code_version=str(layers[h].attrs.get("code_version", "")),
            synthetic=synthetic_flag(layers[h].attrs),  # type: ignore[arg-type]
        )
        for h in HAZARDS
    }


def run_check(
    submission: Submission,
    layers: Mapping[str, xr.Dataset],
    *,
    target_probability: float = 0.10,
    validated: bool = False,
) -> CheckResult:
    """Check a submission against the heat, rain and surge layers.

    Parameters
    ----------
    submission : Submission
        The validated project submission.
    layers : mapping of {"heat", "rain", "surge"} to xarray.Dataset
        Published HazardLayers (``docs/decisions.md`` D2).
    target_probability : float, optional
        Largest acceptable probability of exceeding a standard at least once over the
        design life (settings ``design_life_target_probability``; a project choice).
    validated : bool, optional
        True when the layers were already validated, e.g. by
        :class:`resilience.feasibility.layer_cache.LayerCache`: the contract check is then
        not repeated. Leave False for layers from anywhere else.

    Returns
    -------
    CheckResult
        Rows per hazard x scenario x horizon, overall score, verdict and advice.

    Raises
    ------
    FeasibilityError
        If a layer or one of its variables is missing, or the site is outside a layer.
    hazard_models.layer.SchemaError
        If a layer breaks the HazardLayer contract.
    """
    if not 0.0 < target_probability < 1.0:
        raise ValueError(
            f"target_probability: expected a value in (0, 1), got {target_probability}"
        )
    _check_layers(layers, validated=validated)
    site = _site_frame(submission)
    exposures = _exposures(layers, site)
    table = build_risk_table(
        exposures, site, catalogue=ASSET_TYPES, start_year=submission.start_year
    )
    not_checked = {}
    if submission.protection_level_m is None:
        not_checked["surge"] = (
            "no protection_level_m given: the surge exceedance check is not possible "
            "(metric shown for information)"
        )
    overall = table["score"].max()
    targets = hazard_targets(submission, target_probability)
    inputs = _layer_inputs(layers)
    return CheckResult(
        submission=submission,
        rows=_rows(table),
        not_checked=not_checked,
        target_probability=target_probability,
        hazard_targets=targets,
        overall_score=_int_or_none(overall),
        overall_class=str(risk_class(np.asarray(overall))),
        verdict=_verdict(table, targets, life_horizons(exposures["heat"], submission)),  # type: ignore[arg-type]
        verdict_rule=VERDICT_RULE,
        advice=_advice(table, exposures, submission, targets),
        extrapolation=extrapolation_note(exposures["heat"], submission),
        layer_versions={
            h: f"{layers[h].attrs['layer_version']}:{str(layers[h].attrs['inputs_sha256'])[:12]}"
            for h in HAZARDS
        },
        synthetic_data=any(i.synthetic == "yes" for i in inputs.values()),
        layer_inputs=inputs,
        method=METHOD,
        sources=list(SOURCES),
    )
