"""The site's hazards: each layer sampled at the site, with the standard it is checked against.

One :class:`SiteHazard` per hazard holds plain numpy arrays over (scenario, horizon) so that
probabilities, model spread, tipping points and adaptation options are computed vectorised,
without a pandas table per variant. What each standard means (``docs/feasibility.md``):

- heat, ``equipment``: design temperature vs the annual maximum of daily Tmax (TXx), annual
  p = P(TXx > standard) from the pooled GEV (``txx_gev_*``); metric the 20-yr TXx.
- heat, ``hot_days``: days per year with Tmax >= the threshold that the building is planned
  for, annual p = P(a year's count > standard), negative binomial around the layer's mean
  count (``tx_days_above_<T>``, ``assets.hot_days``); metric the mean count.
- rain: the site's baseline Rx1day level at the drainage return period, annual p =
  P(Rx1day > standard) in each horizon's climate; metric the horizon's level at that period.
- surge: the protection level when given, otherwise the ground elevation (both Wusong
  datum); annual p = P(annual maximum still water > standard) (``still_water_level_gev_*``);
  metric the 100-yr still water level; flood depth = max(0, metric - ground) when the ground
  is known (a static bound: no defence overtopping, flow or duration).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from assets.catalogue import ASSET_TYPES, HEAT_STANDARD_BASIS, AssetType
from assets.hot_days import HOT_DAY_DISPERSION, hot_day_exceedance_probability
from assets.metrics import consequence_level
from assets.point import PointSample, sample_point
from assets.risk import HEAT_RETURN_PERIOD, SURGE_RETURN_PERIOD, horizon_mid_years
from hazard_models.extremes.gev import exceedance_probability, return_level
from hazard_models.layer import validate_hazard_layer
from resilience.feasibility.domain import FeasibilityError, outside_message
from resilience.feasibility.models import Submission

__all__ = ["HAZARDS", "REQUIRED_VARIABLES", "SiteHazard", "check_layers", "sample_site"]

HAZARDS: tuple[str, ...] = ("heat", "rain", "surge")
_GEV = ("gev_loc", "gev_scale", "gev_shape")
_METRIC = {"heat": "txx", "rain": "rx1day", "surge": "still_water_level"}
#: Layer variables every check reads, per hazard (docs/decisions.md D2); a hot-day heat
#: standard also reads ``tx_days_above_<threshold>``.
REQUIRED_VARIABLES: dict[str, tuple[str, ...]] = {
    hazard: (metric, *(f"{metric}_{p}" for p in _GEV)) for hazard, metric in _METRIC.items()
}
MEDIAN = 0.5


@dataclass(frozen=True)
class SiteHazard:
    """One hazard at the site: arrays over (scenario, horizon) and the standard.

    ``params`` are the GEV (loc, scale, shape) for ``kind == "gev"`` or the mean annual
    count (mean,) for ``kind == "count"``, each shape (scenario, horizon), ensemble median.
    ``metric_values`` has shape (scenario, horizon, quantile); ``spread`` are the
    (low, high) parameter sets at the layer's outermost quantiles for the submitted standard.
    """

    hazard: str
    kind: Literal["gev", "count"]
    scenarios: tuple[str, ...]
    horizons: tuple[str, ...]
    mid_years: NDArray
    params: tuple[NDArray, ...]
    spread: tuple[tuple[NDArray, ...], tuple[NDArray, ...]]
    quantiles: NDArray
    metric: str
    metric_units: str
    metric_values: NDArray
    standard: float
    standard_units: str
    standard_basis: str
    consequence: float
    flood_depth_m: NDArray | None = None
    dispersion: float = HOT_DAY_DISPERSION

    @property
    def checked(self) -> bool:
        """Return True when the hazard has a standard to check."""
        return bool(np.isfinite(self.standard))

    def annual_probability(
        self, standard: ArrayLike, params: tuple[NDArray, ...] | None = None
    ) -> NDArray:
        """Return the annual exceedance probability, shape (*standard.shape, S, H)."""
        x = np.asarray(standard, dtype=float)[..., None, None]
        p = self.params if params is None else params
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if self.kind == "count":
                return hot_day_exceedance_probability(x, p[0], dispersion=self.dispersion)
            return exceedance_probability(x, *p)


def check_layers(
    layers: Mapping[str, xr.Dataset], submission: Submission, *, validated: bool
) -> None:
    """Raise FeasibilityError if a layer or a variable the check needs is missing."""
    missing = [h for h in HAZARDS if h not in layers]
    if missing:
        raise FeasibilityError(
            f"missing hazard layers {missing}: a check needs {list(HAZARDS)}, got {sorted(layers)}"
        )
    for hazard in HAZARDS:
        if not validated:
            validate_hazard_layer(layers[hazard])
        absent = [v for v in _variables(hazard, submission) if v not in layers[hazard]]
        if absent:
            raise FeasibilityError(f"{hazard} layer: missing variables {absent}")


def _variables(hazard: str, submission: Submission) -> tuple[str, ...]:
    if hazard == "heat" and submission.heat_standard == "hot_days":
        return (*REQUIRED_VARIABLES["heat"], _days_variable(submission))
    return REQUIRED_VARIABLES[hazard]


def _days_variable(submission: Submission) -> str:
    return f"tx_days_above_{submission.heat_threshold_degc:g}"


def sample_site(
    layers: Mapping[str, xr.Dataset],
    submission: Submission,
    *,
    hot_day_dispersion: float = HOT_DAY_DISPERSION,
) -> dict[str, SiteHazard]:
    """Sample each layer at the site and return the hazards with their standards.

    Parameters
    ----------
    layers : mapping of {"heat", "rain", "surge"} to xarray.Dataset
        Valid HazardLayers with the variables of :func:`check_layers`.
    submission : Submission
        The validated submission (standards filled from the catalogue).
    hot_day_dispersion : float, optional
        NB2 size k of the year's hot-day count (``assets.hot_days``).

    Returns
    -------
    dict of str to SiteHazard

    Raises
    ------
    FeasibilityError
        If the site is outside a layer (message names the layer and its extent).
    """
    out = {}
    for hazard in HAZARDS:
        layer = layers[hazard]
        names = _variables(hazard, submission)
        sample = sample_point(layer, submission.lon, submission.lat, variables=names)
        if sample.outside:
            raise FeasibilityError(outside_message(hazard, layer, submission.lon, submission.lat))
        site = _build(hazard, layer, sample, submission)
        out[hazard] = replace(site, dispersion=hot_day_dispersion)
    return out


def _grid(sample: PointSample, name: str) -> NDArray:
    """Return a sampled variable, dims (scenario, horizon, [return_period], [quantile])."""
    dims = sample.dims[name]
    order = [d for d in ("scenario", "horizon", "return_period", "quantile") if d in dims]
    return np.transpose(sample.values[name], [dims.index(d) for d in order])


def _nearest(values: NDArray, value: float) -> int:
    return int(np.argmin(np.abs(np.asarray(values, dtype=float) - value)))


class _Metric(NamedTuple):
    """A GEV hazard's standard and metric: values (S, H, Q), name, units, basis."""

    standard: float
    values: NDArray
    name: str
    units: str
    basis: str


def _build(
    hazard: str, layer: xr.Dataset, sample: PointSample, submission: Submission
) -> SiteHazard:
    quantiles = np.asarray(layer["quantile"].values, dtype=float)
    kind = ASSET_TYPES[submission.asset_type]
    common: dict[str, Any] = {
        "hazard": hazard,
        "scenarios": tuple(str(s) for s in layer["scenario"].values),
        "horizons": tuple(str(h) for h in layer["horizon"].values),
        "mid_years": horizon_mid_years(layer),
        "quantiles": quantiles,
        "consequence": float(
            consequence_level(submission.criticality, kind.sensitivity.get(hazard, 2))
        ),
    }
    if hazard == "heat" and submission.heat_standard == "hot_days" and hazard in kind.hazards:
        return _hot_days(sample, submission, common)
    name = _METRIC[hazard]
    params = tuple(_grid(sample, f"{name}_{p}") for p in _GEV)
    levels = _grid(sample, name)  # (S, H, R, Q)
    periods = np.asarray(layer["return_period"].values, dtype=float)
    units = str(layer[name].attrs.get("units", ""))
    if hazard == "heat":
        metric = _Metric(
            float(submission.heat_threshold_degc or np.nan),
            levels[:, :, _nearest(periods, HEAT_RETURN_PERIOD), :],
            f"txx_{HEAT_RETURN_PERIOD:g}yr_median",
            units,
            _with_type_basis(HEAT_STANDARD_BASIS["equipment"], submission),
        )
    elif hazard == "rain":
        metric = _rain(params, levels, periods, quantiles, submission, common["horizons"], units)
    else:
        standard, basis = _surge_standard(submission)
        values = levels[:, :, _nearest(periods, SURGE_RETURN_PERIOD), :]
        name = f"still_water_level_{SURGE_RETURN_PERIOD:g}yr_median"
        metric = _Metric(standard, values, name, units, basis)
    if hazard not in kind.hazards:  # e.g. a seawall's heat and drainage: not what it is for
        metric = _Metric(np.nan, metric.values, metric.name, metric.units, _not_applicable(kind))
    depth = None
    if hazard == "surge" and submission.ground_elevation_m is not None:
        median = metric.values[..., _median(quantiles)]
        depth = np.maximum(median - submission.ground_elevation_m, 0.0)
    return SiteHazard(
        kind="gev",
        params=params,
        spread=_gev_spread(params, levels, periods, quantiles, metric.standard),
        metric=metric.name,
        metric_units=metric.units,
        metric_values=metric.values,
        standard=metric.standard,
        standard_units=metric.units,
        standard_basis=metric.basis,
        flood_depth_m=depth,
        **common,
    )


def _hot_days(sample: PointSample, submission: Submission, common: dict[str, Any]) -> SiteHazard:
    counts = _grid(sample, _days_variable(submission))  # (S, H, Q), mean count per horizon
    threshold = float(submission.heat_threshold_degc or np.nan)
    basis = HEAT_STANDARD_BASIS["hot_days"].format(threshold=threshold)
    return SiteHazard(
        kind="count",
        params=(counts[..., _median(common["quantiles"])],),
        spread=((counts[..., 0],), (counts[..., -1],)),
        metric=f"{_days_variable(submission)}_median",
        metric_units="days/yr",
        metric_values=counts,
        standard=float(submission.heat_days_standard or np.nan),
        standard_units="days/yr",
        standard_basis=_with_type_basis(basis, submission),
        **common,
    )


def _rain(
    params: tuple[NDArray, ...],
    levels: NDArray,
    periods: NDArray,
    quantiles: NDArray,
    submission: Submission,
    horizons: tuple[str, ...],
    units: str,
) -> _Metric:
    """Return the rain standard (the baseline level at the drainage period) and metric."""
    period = float(submission.drainage_return_period_years or np.nan)
    baseline = horizons.index("baseline")
    loc, scale, shape = params
    standard = float(return_level(loc[0, baseline], scale[0, baseline], shape[0, baseline], period))
    pooled = return_level(loc, scale, shape, period)
    # the metric's band: the pooled level shifted as in _gev_spread, at the nearest period
    r = _nearest(np.log(periods), np.log(period))
    values = pooled[..., None] + levels[:, :, r, :] - levels[:, :, r, [_median(quantiles)]]
    basis = (
        f"drainage for the {period:g}-yr daily rainfall of the baseline climate at the site, "
        "against the year's maximum daily rainfall (Rx1day), pooled GEV of each horizon"
    )
    return _Metric(standard, values, f"rx1day_{period:g}yr_pooled", units, basis)


def _not_applicable(kind: AssetType) -> str:
    """Return the standard basis of a hazard the asset type is not checked for."""
    return f"not applicable: a {kind.label.lower()} is checked for {', '.join(kind.hazards)} only"


def _median(quantiles: NDArray) -> int:
    return _nearest(quantiles, MEDIAN)


def _with_type_basis(basis: str, submission: Submission) -> str:
    kind = ASSET_TYPES[submission.asset_type]
    if submission.heat_standard == kind.heat_standard and kind.heat_basis:
        return f"{basis}; {kind.heat_basis}"
    return basis


def _surge_standard(submission: Submission) -> tuple[float, str]:
    against = "against the annual maximum still water level at the nearest tide station"
    if submission.protection_level_m is not None:
        return float(submission.protection_level_m), f"protection level (Wusong datum) {against}"
    if submission.ground_elevation_m is not None:
        return (
            float(submission.ground_elevation_m),
            f"ground elevation (Wusong datum; no protection level given) {against}",
        )
    return float("nan"), "none: neither protection_level_m nor ground_elevation_m given"


def _gev_spread(
    params: tuple[NDArray, ...],
    levels: NDArray,
    periods: NDArray,
    quantiles: NDArray,
    standard: float,
) -> tuple[tuple[NDArray, ...], tuple[NDArray, ...]]:
    """Return the GEV params at the outermost quantiles: location shifted, scale/shape kept.

    Notes
    -----
    Method (docs/feasibility.md, "Model spread"): for each scenario and horizon, take the
    layer's return period nearest (in log) to the standard's median return period 1/p, and
    shift the pooled GEV location by the difference between the quantile's and the median's
    return level there. Levels are monotone in the quantile, so p_low <= p <= p_high.
    """
    loc, scale, shape = params
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        period = 1.0 / exceedance_probability(standard, loc, scale, shape)
    log_t = np.log(np.clip(np.nan_to_num(period, nan=periods.max()), 1.0, 1e12))
    r = np.abs(np.log(periods)[None, None, :] - log_t[..., None]).argmin(axis=-1)  # (S, H)
    at = np.take_along_axis(levels, r[..., None, None], axis=2)[:, :, 0, :]  # (S, H, Q)
    median = at[..., _median(quantiles)]
    return (loc + at[..., 0] - median, scale, shape), (loc + at[..., -1] - median, scale, shape)
