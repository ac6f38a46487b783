"""Run a climate feasibility check of one site against published hazard layers.

The check reads the heat, rain and surge layers at the site (``feasibility.site``), scores
each hazard with the maths of the RiskTable (``assets.metrics``, through
``feasibility.assessment``) and adds what an approving authority needs: the model spread of
each probability, adaptation advice and options with their verdicts (``feasibility.options``),
adaptation tipping points (``feasibility.tipping``), the layers' domain
(``feasibility.domain``) and a reproducible hash of the inputs (``feasibility.identity``).
Method and sources: ``docs/feasibility.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from assets.hot_days import HOT_DAY_DISPERSION
from assets.metrics import exceeds_target, risk_class
from hazard_models.layer import synthetic_flag
from resilience.feasibility.assessment import (
    VERDICT_RULE,
    VERY_HIGH_SCORE,
    Assessment,
    assess,
    governing_hazard,
    verdicts,
)
from resilience.feasibility.dependencies import assess_dependencies
from resilience.feasibility.domain import FeasibilityError, layer_extent, validate_site
from resilience.feasibility.identity import code_version, dependency_identity, result_hash
from resilience.feasibility.lifetime import (
    extrapolation_note,
    hazard_targets,
    life_horizons,
)
from resilience.feasibility.models import (
    CheckResult,
    HazardRow,
    LayerInput,
    Submission,
    TippingPoint,
)
from resilience.feasibility.options import adaptation_options, advise
from resilience.feasibility.site import (
    HAZARDS,
    REQUIRED_VARIABLES,
    SiteHazard,
    check_layers,
    sample_site,
)
from resilience.feasibility.supply_data import SupplyData
from resilience.feasibility.tipping import tipping_points

__all__ = [
    "REQUIRED_VARIABLES",
    "VERDICT_RULE",
    "VERY_HIGH_SCORE",
    "FeasibilityError",
    "extrapolation_note",
    "hazard_targets",
    "layer_extent",
    "life_horizons",
    "run_check",
]

SOURCES = (
    "Coles (2001) An Introduction to Statistical Modeling of Extreme Values: GEV, return "
    "levels, design-life (encounter) probability",
    "Wilks (2011) Statistical Methods in the Atmospheric Sciences, 3rd ed., 4.2.4-4.2.5: "
    "negative binomial counts of hot days",
    "Haasnoot et al. (2013) Dynamic adaptive policy pathways, Global Environmental Change 23, "
    "485-498: adaptation tipping points",
    "Huizinga, de Moel & Szewczyk (2017) JRC global flood depth-damage functions, "
    "EUR 28552 EN, doi:10.2760/16510 (Asia curves)",
    "UK National Risk Register likelihood scale (<0.2 %, 0.2-1 %, 1-5 %, 5-25 %, >25 %)",
    "Commission Notice 2021/C 373/01 (EU climate proofing): sensitivity x exposure screening",
    "IPCC AR6 WGI horizons: baseline 1995-2014, near 2021-2040, mid 2041-2060, far 2081-2100",
    "IEEE C57.12.00 (40 degC transformer ambient); CMA high-temperature day (Tmax >= 35 degC)",
)
METHOD = (
    "The site is overlaid on each hazard layer (nearest cell or station). Each asset type "
    "says what its heat standard means: an equipment design temperature against the annual "
    "maximum of daily Tmax (pooled GEV), or a number of days a year with Tmax >= 35 degC "
    "against the year's count (negative binomial around the layer's mean). Rain compares the "
    "baseline design storm with each horizon's GEV; surge compares the protection level, or "
    "the ground elevation when none is given, with the annual maximum still water level. "
    "Annual probabilities are interpolated between horizon mid-years over the design life, "
    "and P = 1 - prod(1 - p_t) is the chance of at least one exceedance; the 10-90 % model "
    "spread shifts the GEV location (or the mean count) to the layer's outer quantiles. "
    "Likelihood (1-5, UK NRR bands) x consequence (criticality shifted by the asset type's "
    "sensitivity) gives a 1-25 score. Advice finds the standard whose design-life "
    "probability meets the target in the worst scenario; each option is re-judged with its "
    "change; a tipping point is the first year whose annual probability passes the annual "
    "equivalent of the target."
)


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


def _value(array: np.ndarray | None, *index: int) -> float | None:
    if array is None:
        return None
    value = float(array[index])
    return value if np.isfinite(value) else None


def _level(value: float) -> int | None:
    return int(value) if np.isfinite(value) else None


def _distribution(site: SiteHazard, s: int, h: int) -> dict[str, Any]:
    """Return the row's GEV and its spread locations (empty for a count hazard)."""
    if site.kind != "gev":
        return {}
    gev = tuple(_value(p, s, h) for p in site.params)
    low, high = (_value(params[0], s, h) for params in site.spread)
    if any(v is None for v in gev):
        return {}
    spread = None if low is None or high is None else (low, high)
    return {"gev": gev, "gev_loc_spread": spread}


def _rows(
    site: SiteHazard, median: Assessment, low: Assessment, high: Assessment
) -> list[HazardRow]:
    """Return the HazardRows of one hazard, scenario-major, from variant 0 of each."""
    q_low, q_high = float(site.quantiles[0]), float(site.quantiles[-1])
    middle = int(np.argmin(np.abs(site.quantiles - 0.5)))
    rows = []
    classes = median.risk_class[0]
    for s, scenario in enumerate(site.scenarios):
        for h, horizon in enumerate(site.horizons):
            rows.append(
                HazardRow(
                    hazard=site.hazard,  # type: ignore[arg-type]
                    scenario=scenario,
                    horizon=horizon,
                    metric=site.metric,
                    metric_value=_value(site.metric_values, s, h, middle),
                    metric_units=site.metric_units,
                    standard=site.standard if site.checked else None,
                    standard_units=site.standard_units,
                    annual_exceedance_probability=_value(median.annual, 0, s, h),
                    design_life_exceedance_probability=_value(median.design_life, 0, s),
                    likelihood=_level(median.likelihood[0, s, h]),
                    consequence=_level(site.consequence) if site.checked else None,
                    score=_level(median.score[0, s, h]),
                    risk_class=str(classes[s, h]),
                    standard_basis=site.standard_basis,
                    metric_value_p10=_value(site.metric_values, s, h, 0),
                    metric_value_p90=_value(site.metric_values, s, h, -1),
                    annual_exceedance_probability_p10=_value(low.annual, 0, s, h),
                    annual_exceedance_probability_p90=_value(high.annual, 0, s, h),
                    design_life_exceedance_probability_p10=_value(low.design_life, 0, s),
                    design_life_exceedance_probability_p90=_value(high.design_life, 0, s),
                    spread_quantiles=(q_low, q_high),
                    flood_depth_m=_value(site.flood_depth_m, s, h),
                    **_distribution(site, s, h),
                )
            )
    return rows


def _not_checked(sites: Mapping[str, SiteHazard]) -> dict[str, str]:
    out = {h: s.standard_basis for h, s in sites.items() if s.standard_basis.startswith("not ap")}
    if not sites["surge"].checked and "surge" not in out:
        out["surge"] = (
            "no protection_level_m or ground_elevation_m given: the surge exceedance check "
            "is not possible (metric shown for information)"
        )
    if not sites["heat"].checked and "heat" not in out:
        out["heat"] = "no heat standard given: the heat check is not possible"
    return out


def _assess_all(
    sites: Mapping[str, SiteHazard], submission: Submission
) -> tuple[dict[str, Assessment], list[HazardRow]]:
    """Score every hazard with the submitted standards; rows carry the model spread."""
    life, start = int(submission.design_life_years or 1), submission.start_year
    median, rows = {}, []
    for hazard, site in sites.items():
        low, middle, high = (
            assess(site, [site.standard], start_year=start, design_life_years=life, params=p)
            for p in (site.spread[0], None, site.spread[1])
        )
        median[hazard] = middle
        rows += _rows(site, middle, low, high)
    return median, rows


def _tipping_points(
    sites: Mapping[str, SiteHazard],
    median: Mapping[str, Assessment],
    submission: Submission,
    *,
    targets: Mapping[str, float],
    bounds: tuple[int, int],
) -> list[TippingPoint]:
    """Return the tipping points of every checked hazard, per scenario."""
    return [
        point
        for h, site in sites.items()
        if site.checked
        for point in tipping_points(
            site,
            median[h].annual[0],
            target=targets[h],
            start_year=submission.start_year,
            design_life_years=int(submission.design_life_years or 1),
            horizon_bounds=bounds,
        )
    ]


def run_check(
    submission: Submission,
    layers: Mapping[str, xr.Dataset],
    *,
    target_probability: float = 0.10,
    validated: bool = False,
    hot_day_dispersion: float = HOT_DAY_DISPERSION,
    supply: SupplyData | None = None,
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
    hot_day_dispersion : float, optional
        NB2 size k of a year's count of hot days (``assets.hot_days.HOT_DAY_DISPERSION``,
        UNCONFIRMED; ``math.inf`` for Poisson). Recorded in ``parameters``.
    supply : SupplyData, optional
        The inventory and published risk rows
        (:func:`resilience.feasibility.supply_data.open_supply_data`): adds the
        ``dependencies`` section (suppliers, service loss, a substation's dependants;
        ``resilience.feasibility.dependencies``) and its identity to ``result_hash``.
        None (the default): no section. The verdict never depends on it.

    Returns
    -------
    CheckResult
        Rows per hazard x scenario x horizon with the model spread, overall score, verdict,
        governing hazard, advice, adaptation options, tipping points, the layers' domain and
        the result hash.

    Raises
    ------
    FeasibilityError
        If a layer or one of its variables is missing, the site is outside a layer or the
        layers' domain (the message names the layer and its extent), or ``depends_on`` names
        an asset_id that is not in the inventory of ``supply``.
    hazard_models.layer.SchemaError
        If a layer breaks the HazardLayer contract.
    """
    if not 0.0 < target_probability < 1.0:
        raise ValueError(
            f"target_probability: expected a value in (0, 1), got {target_probability}"
        )
    if not hot_day_dispersion > 0:
        raise ValueError(f"hot_day_dispersion: expected k > 0, got {hot_day_dispersion}")
    check_layers(layers, submission, validated=validated)
    used = {h: layers[h] for h in HAZARDS}
    domain = validate_site(used, submission.lon, submission.lat)
    sites = sample_site(used, submission, hot_day_dispersion=hot_day_dispersion)
    targets = hazard_targets(submission, target_probability)
    horizons = life_horizons(used["heat"], submission)
    in_life = {h: np.isin(np.asarray(s.horizons), list(horizons)) for h, s in sites.items()}
    median, rows = _assess_all(sites, submission)
    advice = [
        advise(sites[h], median[h], submission, targets[h])
        for h in HAZARDS
        if sites[h].checked and exceeds_target(median[h].design_life[0], targets[h]).any()
    ]
    bounds = (int(used["heat"]["start"].values.min()), int(used["heat"]["end"].values.max()))
    tipping = _tipping_points(sites, median, submission, targets=targets, bounds=bounds)
    # like the verdict, the overall score counts the horizons that overlap the design life
    scores = np.concatenate([a.score[..., in_life[h]].ravel() for h, a in median.items()])
    overall = float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan")
    parameters: dict[str, float | str] = {
        "target_probability": target_probability,
        # JSON has no infinity: the Poisson limit is recorded as the string "inf"
        "hot_day_dispersion": hot_day_dispersion if np.isfinite(hot_day_dispersion) else "inf",
    }
    code = code_version()
    inputs = _layer_inputs(used)
    dependencies = None
    if supply is not None:
        dependencies = assess_dependencies(
            submission,
            rows,
            used,
            data=supply,
            check_site=lambda site: run_check(
                site,
                used,
                target_probability=target_probability,
                validated=True,
                hot_day_dispersion=hot_day_dispersion,
            ),
        )
    return CheckResult(
        submission=submission,
        rows=rows,
        not_checked=_not_checked(sites),
        target_probability=target_probability,
        hazard_targets=targets,
        overall_score=_level(overall),
        overall_class=str(risk_class(np.asarray(overall))),
        verdict=verdicts(median, targets, in_life)[0],  # type: ignore[arg-type]
        verdict_rule=VERDICT_RULE,
        advice=advice,
        extrapolation=extrapolation_note(used["heat"], submission),
        layer_versions={
            h: f"{used[h].attrs['layer_version']}:{str(used[h].attrs['inputs_sha256'])[:12]}"
            for h in HAZARDS
        },
        synthetic_data=any(i.synthetic == "yes" for i in inputs.values()),
        layer_inputs=inputs,
        method=METHOD,
        sources=list(SOURCES),
        governing_hazard=governing_hazard(median, in_life=in_life),  # type: ignore[arg-type]
        tipping_points=tipping,
        options=adaptation_options(sites, advice, submission, targets=targets, in_life=in_life),
        domain=domain,
        dependencies=dependencies,
        code_version=code,
        parameters=parameters,
        result_hash=result_hash(
            submission.model_dump(mode="json"),
            used,
            code=code,
            parameters=parameters,
            dependencies=dependency_identity(dependencies),
        ),
    )
