"""Risk metrics: design-life exceedance, flood damage, expected annual damage, score and class.

:func:`build_risk_table` turns Exposures (``assets.overlay.sample_layer``) into the RiskTable of
``docs/design.md``: one row per asset x hazard x scenario x horizon. The small functions it
composes are public so that the feasibility check reuses them (no duplicate maths).

Per hazard (variables of ``docs/decisions.md`` D2):

- heat: metric = 20-yr ``txx`` (ensemble median); standard = the type's heat threshold;
  annual p = P(TXx > standard) from ``txx_gev_*``.
- rain: standard = the site's baseline ``rx1day`` level at the type's drainage return period
  (from the baseline GEV); metric = the horizon's level at that return period; annual p =
  P(Rx1day > standard) for the horizon.
- surge: metric = 100-yr ``still_water_level`` (median rise) at the asset's station;
  standard = ``protection_level_m``; annual p from ``still_water_level_gev_*``. Flood depth at
  return period T is max(0, level_T - ground_elevation_m) when level_T exceeds the protection
  level (a missing protection level means no defence), level_T from the pooled GEV so that
  damage, EAD and probabilities share one distribution. Damage = JRC damage fraction x
  replacement value. Heat and rain have no depth model: their damages are NaN.

Scoring is a design proposal, not a standard (``docs/domain.md`` 3.3 "Suggested engine
scoring"): likelihood 1-5 from the annual exceedance probability of the row's horizon in the
UK National Risk Register bands (the assessment period is one year, so that each horizon is
scored on its own climate; the design-life probability is reported beside it), consequence
1-5 = criticality shifted by sensitivity (high +1, medium 0, low -1, clipped to 1-5, after
the EU 2021/C 373/01 sensitivity step), score = likelihood x consequence, class low (<= 4),
medium (5-9), high (10-16), very high (>= 17).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from assets.catalogue import ASSET_TYPES, AssetType
from assets.vulnerability import damage_fraction
from hazard_models.extremes import (
    annual_probability_by_year,
    design_life_exceedance,
    exceedance_probability,
    return_level,
)
from hazard_models.layer import SchemaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "HAZARDS",
    "LIKELIHOOD_BANDS",
    "RISK_COLUMNS",
    "consequence_level",
    "design_life_probability",
    "design_value_for_target",
    "expected_annual_damage",
    "horizon_mid_years",
    "likelihood_level",
    "risk_class",
    "build_risk_table",
]

HazardName = Literal["heat", "rain", "surge"]
RiskClass = Literal["low", "medium", "high", "very high", "not assessed"]
HAZARDS: tuple[str, ...] = ("heat", "rain", "surge")
#: Upper edges of likelihood levels 1-4 (probability over the assessment period); UK National
#: Risk Register scale (domain.md 3.3): <0.2 %, 0.2-1 %, 1-5 %, 5-25 %, >25 %.
LIKELIHOOD_BANDS: tuple[float, ...] = (0.002, 0.01, 0.05, 0.25)
#: Highest score of the classes low, medium, high (design proposal, domain.md 3.3).
CLASS_UPPER_SCORES: tuple[int, ...] = (4, 9, 16)
HEAT_RETURN_PERIOD = 20.0  # years; the 20-yr TXx is the heat metric (brief)
SURGE_RETURN_PERIOD = 100.0  # years; the 100-yr still water level is the surge metric (brief)
MEDIAN = 0.5  # ensemble (or sea-level-rise) median on the quantile dim
RISK_COLUMNS: tuple[str, ...] = (
    "asset_id",
    "name",
    "asset_type",
    "criticality",
    "hazard",
    "scenario",
    "horizon",
    "metric",
    "metric_value",
    "metric_units",
    "standard",
    "standard_units",
    "annual_exceedance_probability",
    "design_life_exceedance_probability",
    "expected_annual_damage",
)
_DIMS = ("asset_id", "scenario", "horizon")


def horizon_mid_years(exposure: xr.Dataset) -> NDArray:
    """Return the central year of each horizon from the ``start``/``end`` coordinates."""
    if "start" not in exposure.coords or "end" not in exposure.coords:
        raise SchemaError("exposure: expected 'start' and 'end' year coordinates on horizon")
    return (exposure["start"].values + exposure["end"].values) / 2.0


def design_life_probability(
    p_horizon: ArrayLike,
    mid_years: ArrayLike,
    *,
    start_year: int,
    design_life_years: ArrayLike,
) -> NDArray:
    """Return the probability of at least one exceedance over each design life.

    Parameters
    ----------
    p_horizon : array_like, shape (..., n_horizon)
        Annual exceedance probability per horizon (horizons along the last axis).
    mid_years : sequence of float
        Central year of each horizon (any order; sorted here).
    start_year : int
        First year of service.
    design_life_years : array_like, broadcast to ``p_horizon.shape[:-1]``
        Years of service; year t counts for t in [start_year, start_year + life).

    Returns
    -------
    numpy.ndarray, shape (...)
        P = 1 - prod_t (1 - p_t) with p_t interpolated linearly in time between horizon
        centres (``hazard_models.extremes``); NaN where any needed p is NaN.
    """
    p = np.asarray(p_horizon, dtype=float)
    mids = np.asarray(mid_years, dtype=float)
    order = np.argsort(mids)
    life = np.broadcast_to(np.asarray(design_life_years, dtype=float), p.shape[:-1])
    n_years = int(np.nanmax(life, initial=1))
    years = start_year + np.arange(n_years)
    by_year = annual_probability_by_year(p[..., order], mids[order].tolist(), years)
    in_life = np.arange(n_years) < life[..., None]
    return design_life_exceedance(np.where(in_life, by_year, 0.0))


def expected_annual_damage(damage: ArrayLike, return_periods: Sequence[float]) -> NDArray:
    """Return the expected annual damage from damages at return periods.

    Parameters
    ----------
    damage : array_like, shape (..., n_return_period)
        Damage (e.g. CNY) at each return period, along the last axis.
    return_periods : sequence of float
        Return periods T (years), any order.

    Returns
    -------
    numpy.ndarray, shape (...)
        EAD in the units of ``damage`` per year.

    Notes
    -----
    Trapezoidal integration of damage over annual exceedance probability p = 1/T, with the
    tail conventions of Delft-FIAT (``Deltares/Delft-FIAT`` ``src/fiat/models/calc.py``,
    ``calc_rp_coef``): no damage for events more frequent than the shortest T, and the damage
    of the longest T for all rarer events (adds p_min x D(p_min)). FIAT interpolates
    log-linearly between points; we use the linear trapezoid, as CLIMADA's exceedance-curve
    integration does.
    """
    d = np.asarray(damage, dtype=float)
    p = 1.0 / np.asarray(return_periods, dtype=float)
    order = np.argsort(p)
    p, d = p[order], d[..., order]
    inner = np.sum(np.diff(p) * (d[..., 1:] + d[..., :-1]) / 2.0, axis=-1)
    return inner + p[0] * d[..., 0]


def likelihood_level(probability: ArrayLike) -> NDArray:
    """Return the likelihood level 1-5 of a probability (UK NRR bands); NaN stays NaN.

    A probability on a band edge belongs to the higher band (0.2 % -> 2).
    """
    p = np.asarray(probability, dtype=float)
    level = np.digitize(p, LIKELIHOOD_BANDS, right=False) + 1.0
    return np.where(np.isnan(p), np.nan, level)


def consequence_level(criticality: ArrayLike, sensitivity: ArrayLike) -> NDArray:
    """Return consequence 1-5: criticality (1-5) + sensitivity (1-3) - 2, clipped to 1-5.

    Design proposal: high sensitivity (3) raises the asset's criticality by one level, low
    sensitivity (1) lowers it by one (EU 2021/C 373/01 sensitivity scale; domain.md 3.3).
    """
    c = np.asarray(criticality, dtype=float) + np.asarray(sensitivity, dtype=float) - 2.0
    return np.clip(c, 1.0, 5.0)


def risk_class(score: ArrayLike) -> NDArray:
    """Return the class of a 1-25 score: low / medium / high / very high (NaN: not assessed)."""
    s = np.asarray(score, dtype=float)
    names = np.array(["low", "medium", "high", "very high"], dtype=object)
    out = names[np.digitize(np.nan_to_num(s), np.asarray(CLASS_UPPER_SCORES) + 0.5)]
    return np.where(np.isnan(s), "not assessed", out)


def design_value_for_target(
    params: tuple[ArrayLike, ArrayLike, ArrayLike],
    mid_years: ArrayLike,
    *,
    start_year: int,
    design_life_years: ArrayLike,
    target: float,
    iterations: int = 60,
) -> NDArray:
    """Return the design value whose design-life exceedance probability equals ``target``.

    Parameters
    ----------
    params : tuple of array_like, each shape (..., n_horizon)
        GEV ``(loc, scale, shape)`` per horizon (climate convention for ``shape``).
    mid_years : sequence of float
        Central year of each horizon.
    start_year, design_life_years
        As in :func:`design_life_probability`.
    target : float
        Acceptable probability of at least one exceedance over the design life, in (0, 1).
    iterations : int, optional
        Bisection steps; 60 halvings shrink the bracket below 1e-15 of its width.

    Returns
    -------
    numpy.ndarray, shape (...)
        Smallest value (to bisection accuracy, rounded up) with design-life probability
        <= ``target``, in the units of the GEV ``loc``.

    Notes
    -----
    Vectorised bisection on the monotone P(x). Bracket: the lowest 1.5-yr level over horizons
    (annual p >= 2/3 in every year, so P >= 2/3) and the highest level at T = 100 x life /
    target (sum of annual p <= target / 100, so P < target).
    """
    loc, scale, shape = (np.asarray(a, dtype=float) for a in params)
    life = np.asarray(design_life_years, dtype=float)
    t_high = 100.0 * np.max(life) / target
    with np.errstate(invalid="ignore", over="ignore"):
        low = np.min(return_level(loc, scale, shape, 1.5), axis=-1)
        high = np.max(return_level(loc, scale, shape, t_high), axis=-1)
    for _ in range(iterations):
        middle = (low + high) / 2.0
        p = exceedance_probability(middle[..., None], loc, scale, shape)
        prob = design_life_probability(p, mid_years, start_year=start_year, design_life_years=life)
        above = prob > target
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return high


def _asset_frame(
    assets: gpd.GeoDataFrame, ids: NDArray, catalogue: Mapping[str, AssetType]
) -> pd.DataFrame:
    """Return per-asset attributes in exposure order, standards defaulted from the catalogue."""
    frame = pd.DataFrame(assets.drop(columns="geometry")).set_index(assets["asset_id"].astype(str))
    missing = sorted(set(ids) - set(frame.index))
    if missing:
        raise SchemaError(f"assets: exposure asset_ids {missing[:10]} not in the inventory")
    frame = frame.loc[ids]
    unknown = sorted(set(frame["asset_type"]) - set(catalogue))
    if unknown:
        raise SchemaError(f"assets: asset_type {unknown} not one of {sorted(catalogue)}")
    types = [catalogue[t] for t in frame["asset_type"]]
    for column in ("heat_threshold_degc", "drainage_return_period_years"):
        default = pd.Series([getattr(t, column) for t in types], index=frame.index, dtype=float)
        given = pd.to_numeric(frame.get(column, default), errors="coerce")
        frame[column] = given.fillna(default)
    frame["damage_curve"] = [t.damage_curve for t in types]
    for hazard in HAZARDS:
        frame[f"sensitivity_{hazard}"] = [t.sensitivity.get(hazard, 2) for t in types]
    return frame


def _per_asset(frame: pd.DataFrame, column: str) -> xr.DataArray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return xr.DataArray(values, dims="asset_id")


def _gev(exposure: xr.Dataset, metric: str) -> tuple[xr.DataArray, ...]:
    names = [f"{metric}_gev_{p}" for p in ("loc", "scale", "shape")]
    missing = [n for n in names if n not in exposure]
    if missing:
        raise SchemaError(f"exposure {exposure.attrs.get('hazard')!r}: missing {missing}")
    return tuple(exposure[n].reset_coords(drop=True) for n in names)


def _median_level(exposure: xr.Dataset, metric: str, period: float) -> xr.DataArray:
    if metric not in exposure:
        raise SchemaError(f"exposure {exposure.attrs.get('hazard')!r}: missing [{metric!r}]")
    var = exposure[metric]
    for dim, value in (("return_period", period), ("quantile", MEDIAN)):
        if dim not in var.dims or not np.isclose(var[dim].values, value).any():
            raise SchemaError(f"exposure: {metric!r} needs {dim} {value:g}")
        var = var.isel({dim: int(np.argmin(np.abs(var[dim].values - value)))})
    return var.reset_coords(drop=True)


def _apply(func, *args: xr.DataArray) -> xr.DataArray:  # noqa: ANN001 - numpy ufunc-like
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return xr.apply_ufunc(func, *args)


def _heat(exposure: xr.Dataset, frame: pd.DataFrame) -> tuple[xr.Dataset, NDArray]:
    gev = _gev(exposure, "txx")
    standard = _per_asset(frame, "heat_threshold_degc")
    out = xr.Dataset(
        {
            "metric_value": _median_level(exposure, "txx", HEAT_RETURN_PERIOD),
            "standard": standard,
            "annual_exceedance_probability": _apply(exceedance_probability, standard, *gev),
        }
    )
    return out, np.full(frame.shape[0], f"txx_{HEAT_RETURN_PERIOD:g}yr_median", dtype=object)


def _rain(exposure: xr.Dataset, frame: pd.DataFrame) -> tuple[xr.Dataset, NDArray]:
    gev = _gev(exposure, "rx1day")
    if "baseline" not in exposure["horizon"].values:
        raise SchemaError("exposure 'rain': the baseline horizon is needed for the standard")
    period = _per_asset(frame, "drainage_return_period_years")
    baseline = [g.sel(horizon="baseline", drop=True).isel(scenario=0, drop=True) for g in gev]
    standard = _apply(return_level, *baseline, period)
    out = xr.Dataset(
        {
            "metric_value": _apply(return_level, *gev, period),
            "standard": standard,
            "annual_exceedance_probability": _apply(exceedance_probability, standard, *gev),
        }
    )
    names = [f"rx1day_{t:g}yr_pooled" for t in period.values]
    return out, np.asarray(names, dtype=object)


def _surge(
    exposure: xr.Dataset, frame: pd.DataFrame, return_periods: Sequence[float]
) -> tuple[xr.Dataset, NDArray]:
    gev = _gev(exposure, "still_water_level")
    standard = _per_asset(frame, "protection_level_m")
    periods = xr.DataArray(np.asarray(return_periods, dtype=float), dims="return_period")
    level = _apply(return_level, *gev, periods)
    exceeded = (level > standard) | standard.isnull()  # NaN protection = no defence
    depth = xr.where(exceeded, np.maximum(level - _per_asset(frame, "ground_elevation_m"), 0), 0)
    fraction = xr.zeros_like(depth)
    for curve in sorted(set(frame["damage_curve"])):
        mask = xr.DataArray((frame["damage_curve"] == curve).to_numpy(), dims="asset_id")
        fraction = xr.where(mask, _apply(lambda d, c=curve: damage_fraction(d, c), depth), fraction)
    damage = (fraction * _per_asset(frame, "replacement_value")).transpose(*_DIMS, ...)
    out = xr.Dataset(
        {
            "metric_value": _median_level(exposure, "still_water_level", SURGE_RETURN_PERIOD),
            "standard": standard,
            "annual_exceedance_probability": _apply(exceedance_probability, standard, *gev),
            "expected_annual_damage": (
                _DIMS,
                expected_annual_damage(damage.values, return_periods),
            ),
        }
    )
    for i, t in enumerate(return_periods):
        out[f"damage_rp{t:g}"] = damage.isel(return_period=i, drop=True)
    return out, np.full(
        frame.shape[0], f"still_water_level_{SURGE_RETURN_PERIOD:g}yr_median", dtype=object
    )


_UNITS_FROM = {"heat": "txx", "rain": "rx1day_gev_loc", "surge": "still_water_level"}


def _score(
    table: xr.Dataset, frame: pd.DataFrame, hazard: str, *, mids: NDArray, start_year: int
) -> xr.Dataset:
    """Add design-life probability, likelihood, consequence, score and class."""
    p = table["annual_exceedance_probability"].transpose(*_DIMS)
    life = frame["design_life_years"].to_numpy(dtype=float)[:, None]
    values = design_life_probability(p.values, mids, start_year=start_year, design_life_years=life)
    design = xr.DataArray(values, dims=_DIMS[:2]).broadcast_like(p)
    likelihood = likelihood_level(p.values)
    consequence = consequence_level(
        frame["criticality"].to_numpy(dtype=float), frame[f"sensitivity_{hazard}"].to_numpy()
    )
    score = likelihood * consequence[:, None, None]
    return table.assign(
        design_life_exceedance_probability=design,
        likelihood=(_DIMS, likelihood),
        consequence=(_DIMS, np.broadcast_to(consequence[:, None, None], score.shape)),
        score=(_DIMS, score),
        risk_class=(_DIMS, risk_class(score)),
    )


def _hazard_rows(
    hazard: str,
    exposure: xr.Dataset,
    frame: pd.DataFrame,
    *,
    start_year: int,
    return_periods: Sequence[float],
) -> pd.DataFrame:
    if hazard == "heat":
        table, metric = _heat(exposure, frame)
    elif hazard == "rain":
        table, metric = _rain(exposure, frame)
    else:
        table, metric = _surge(exposure, frame, return_periods)
    table = table.transpose(*_DIMS, ...).assign_coords(
        asset_id=exposure["asset_id"].values,
        scenario=exposure["scenario"].values,
        horizon=exposure["horizon"].values,
    )
    table = _score(table, frame, hazard, mids=horizon_mid_years(exposure), start_year=start_year)
    rows = table.to_dataframe().reset_index()
    units = exposure[_UNITS_FROM[hazard]].attrs.get("units", "")
    position = pd.Index(frame.index).get_indexer(rows["asset_id"])
    rows["metric"] = metric[position]
    rows = rows.assign(hazard=hazard, metric_units=units, standard_units=units)
    for column in ("name", "asset_type", "criticality"):
        rows[column] = frame[column].to_numpy()[position]
    return rows


def build_risk_table(
    exposures: Mapping[str, xr.Dataset],
    assets: gpd.GeoDataFrame,
    *,
    catalogue: Mapping[str, AssetType] = ASSET_TYPES,
    start_year: int = 2025,
    return_periods: Sequence[float] = (10, 20, 50, 100, 200, 1000),
) -> pd.DataFrame:
    """Build the RiskTable: one row per asset x hazard x scenario x horizon.

    Parameters
    ----------
    exposures : mapping of {"heat", "rain", "surge"} to xarray.Dataset
        Exposures from ``assets.overlay.sample_layer`` (dims asset_id, scenario, horizon,
        [return_period], [quantile]) with the D2 variables of each hazard.
    assets : geopandas.GeoDataFrame
        The inventory (``assets.inventory``). Optional columns ``heat_threshold_degc`` and
        ``drainage_return_period_years`` override the catalogue per asset.
    catalogue : mapping, optional
        Asset types (default ``assets.catalogue.ASSET_TYPES``).
    start_year : int, optional
        First year of service for the design-life probability.
    return_periods : sequence of float, optional
        Return periods (years) of the ``damage_rp{T}`` columns and of the EAD integration.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RISK_COLUMNS`, ``damage_rp{T}`` per T, ``likelihood``,
        ``consequence``, ``score`` and ``risk_class``. ``design_life_exceedance_probability``
        covers [start_year, start_year + design_life) for the scenario, so it is the same on
        every horizon row of that scenario; ``annual_exceedance_probability`` is the
        horizon's. Damages are NaN for heat and rain (no depth model).

    Raises
    ------
    SchemaError
        For an unknown hazard key, a missing variable, or assets missing from the inventory.
    """
    unknown = sorted(set(exposures) - set(HAZARDS))
    if unknown:
        raise SchemaError(f"exposures: unknown hazards {unknown}; expected keys from {HAZARDS}")
    parts = []
    for hazard in (h for h in HAZARDS if h in exposures):
        exposure = exposures[hazard]
        frame = _asset_frame(assets, exposure["asset_id"].values.astype(str), catalogue)
        parts.append(
            _hazard_rows(
                hazard, exposure, frame, start_year=start_year, return_periods=return_periods
            )
        )
    damage_columns = [f"damage_rp{t:g}" for t in return_periods]
    columns = [*RISK_COLUMNS, *damage_columns, "likelihood", "consequence", "score", "risk_class"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True).reindex(columns=columns)
    return table.sort_values(["asset_id", "hazard"], kind="stable").reset_index(drop=True)
