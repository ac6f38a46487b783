"""The RiskTable: risk of each asset from hazard exposures, one row per hazard and climate.

:func:`build_risk_table` turns Exposures (``assets.overlay.sample_layer``) into the RiskTable of
``docs/design.md``: one row per asset x hazard x scenario x horizon, composed from the array
functions of :mod:`assets.metrics` (probabilities, damage and scores).

Per hazard (variables of ``docs/decisions.md`` D2):

- heat, as the asset type declares (``assets.catalogue.HeatStandard``): ``equipment``:
  metric = 20-yr ``txx`` (ensemble median); standard = the heat threshold (degC); annual
  p = P(TXx > standard) from ``txx_gev_*``. ``hot_days``: metric = the mean annual count
  ``tx_days_above_<threshold>`` (ensemble median); standard = the type's design count
  (days/yr); annual p = P(a year's count > standard), negative binomial
  (``assets.hot_days``).
- rain: standard = the site's baseline ``rx1day`` level at the type's drainage return period
  (from the baseline GEV); metric = the horizon's level at that return period; annual p =
  P(Rx1day > standard) for the horizon.
- surge: metric = 100-yr ``still_water_level`` (median rise) at the asset's station;
  standard = ``protection_level_m``, or ``ground_elevation_m`` when there is no protection
  (the water then floods the site); annual p from ``still_water_level_gev_*``. Flood depth at
  return period T is max(0, level_T - ground_elevation_m) when level_T exceeds the protection
  level (a missing protection level means no defence), level_T from the pooled GEV so that
  damage, EAD and probabilities share one distribution. Damage = JRC damage fraction x
  replacement value. Heat and rain have no depth model: their damages are NaN.

Each row is scored (:mod:`assets.metrics`) on the annual exceedance probability of its
horizon, so that each horizon is scored on its own climate; the design-life probability is
reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from assets.catalogue import ASSET_TYPES, AssetType
from assets.hot_days import hot_day_exceedance_probability
from assets.metrics import (
    consequence_level,
    design_life_probability,
    expected_annual_damage,
    likelihood_level,
    risk_class,
)
from assets.vulnerability import damage_fraction
from hazard_models.extremes.gev import exceedance_probability, return_level
from hazard_models.layer import SchemaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["HAZARDS", "RISK_COLUMNS", "build_risk_table", "horizon_mid_years", "risk_variables"]

HazardName = Literal["heat", "rain", "surge"]
HAZARDS: tuple[str, ...] = ("heat", "rain", "surge")
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


def risk_variables(hazard: str, layer_variables: Sequence[str]) -> list[str]:
    """Return the variables of a hazard layer that :func:`build_risk_table` reads.

    Sampling only these keeps the Exposures small: at 100 k assets the heat and rain layers'
    every variable took 1.3 GB as Exposures, the risk table reads a few of them.

    Parameters
    ----------
    hazard : {"heat", "rain", "surge"}
        The layer's hazard.
    layer_variables : sequence of str
        The layer's variables.

    Returns
    -------
    list of str
        The GEV parameters of the metric, the metric's levels (heat, surge) and every
        ``tx_days_above_*`` count (heat), in the layer's order; a missing one is left for
        ``build_risk_table`` to name.
    """
    metric = {"heat": "txx", "rain": "rx1day", "surge": "still_water_level"}[hazard]
    wanted = {f"{metric}_gev_{p}" for p in ("loc", "scale", "shape")}
    if hazard != "rain":  # rain's metric is a return level of its GEV, at each asset's period
        wanted.add(metric)

    def counts(name: str) -> bool:
        return name.startswith("tx_days_above_") and not name.endswith(("_change", "_robustness"))

    names = [str(name) for name in layer_variables]
    return [n for n in names if n in wanted or (hazard == "heat" and counts(n))]


def horizon_mid_years(exposure: xr.Dataset) -> NDArray:
    """Return the central year of each horizon from the ``start``/``end`` coordinates."""
    if "start" not in exposure.coords or "end" not in exposure.coords:
        raise SchemaError("exposure: expected 'start' and 'end' year coordinates on horizon")
    return (exposure["start"].values + exposure["end"].values) / 2.0


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
    frame["heat_standard"] = [t.heat_standard for t in types]
    frame["heat_days_standard"] = [
        np.nan if t.heat_days_standard is None else t.heat_days_standard for t in types
    ]
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


def _hot_days(
    exposure: xr.Dataset, frame: pd.DataFrame, hot: NDArray
) -> tuple[xr.DataArray, xr.DataArray]:
    """Return the median mean count and P(count > standard) for hot-day assets (else NaN)."""
    thresholds = pd.to_numeric(frame["heat_threshold_degc"]).to_numpy(dtype=float)
    mean = xr.full_like(exposure["txx_gev_loc"].reset_coords(drop=True), np.nan)
    for threshold in sorted(set(thresholds[hot])):
        name = f"tx_days_above_{threshold:g}"
        if name not in exposure or "quantile" not in exposure[name].dims:
            raise SchemaError(f"exposure 'heat': hot-day assets need [{name!r}] with a quantile")
        var = exposure[name]
        median = var.isel(quantile=int(np.argmin(np.abs(var["quantile"].values - MEDIAN))))
        rows = xr.DataArray(hot & (thresholds == threshold), dims="asset_id")
        mean = xr.where(rows, median.reset_coords(drop=True), mean)
    days = _per_asset(frame, "heat_days_standard")
    return mean, _apply(hot_day_exceedance_probability, days, mean)


def _heat(exposure: xr.Dataset, frame: pd.DataFrame) -> tuple[xr.Dataset, NDArray, NDArray]:
    gev = _gev(exposure, "txx")
    standard = _per_asset(frame, "heat_threshold_degc")
    metric = _median_level(exposure, "txx", HEAT_RETURN_PERIOD)
    annual = _apply(exceedance_probability, standard, *gev)
    names = np.full(frame.shape[0], f"txx_{HEAT_RETURN_PERIOD:g}yr_median", dtype=object)
    units = np.full(frame.shape[0], exposure["txx"].attrs.get("units", ""), dtype=object)
    hot = (frame["heat_standard"] == "hot_days").to_numpy()
    if hot.any():
        mean, p_days = _hot_days(exposure, frame, hot)
        rows = xr.DataArray(hot, dims="asset_id")
        metric = xr.where(rows, mean, metric)
        annual = xr.where(rows, p_days, annual)
        standard = xr.where(rows, _per_asset(frame, "heat_days_standard"), standard)
        thresholds = pd.to_numeric(frame["heat_threshold_degc"]).to_numpy(dtype=float)
        names[hot] = [f"tx_days_above_{t:g}_median" for t in thresholds[hot]]
        units[hot] = "days/yr"
    out = xr.Dataset(
        {"metric_value": metric, "standard": standard, "annual_exceedance_probability": annual}
    )
    return out, names, units


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
    protection = _per_asset(frame, "protection_level_m")
    standard = protection.fillna(_per_asset(frame, "ground_elevation_m"))
    periods = xr.DataArray(np.asarray(return_periods, dtype=float), dims="return_period")
    level = _apply(return_level, *gev, periods)
    exceeded = (level > protection) | protection.isnull()  # NaN protection = no defence
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
) -> dict[str, object]:
    """Return the hazard's rows as columns: asset-major, then scenario, then horizon."""
    source = _UNITS_FROM[hazard]
    unit = exposure[source].attrs.get("units", "") if source in exposure else ""
    units = np.full(frame.shape[0], unit, dtype=object)
    if hazard == "heat":
        table, metric, units = _heat(exposure, frame)
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
    sizes = tuple(table.sizes[d] for d in _DIMS)
    per_asset = sizes[1] * sizes[2]
    asset = np.repeat(np.arange(sizes[0]), per_asset)  # each row's asset (its position)
    columns: dict[str, object] = {
        "asset_id": _text(frame.index.to_numpy(), asset),
        "scenario": _text(
            table["scenario"].values, np.tile(np.repeat(np.arange(sizes[1]), sizes[2]), sizes[0])
        ),
        "horizon": _text(
            table["horizon"].values, np.tile(np.arange(sizes[2]), sizes[0] * sizes[1])
        ),
        "hazard": _text(np.array([hazard], dtype=object), np.zeros(asset.size, dtype=np.int64)),
        "metric": _text(metric, asset),
        "metric_units": _text(units, asset),
        "standard_units": _text(units, asset),
        "name": _text(frame["name"].to_numpy(dtype=object), asset),
        "asset_type": _text(frame["asset_type"].to_numpy(dtype=object), asset),
        "criticality": frame["criticality"].to_numpy()[asset],
    }
    for name, var in table.data_vars.items():
        values = var.transpose(*(d for d in _DIMS if d in var.dims)).values
        expand = tuple(slice(None) if d in var.dims else None for d in _DIMS)
        flat = np.broadcast_to(values[expand], sizes).reshape(-1)
        columns[str(name)] = _factorised_text(flat) if flat.dtype == object else flat
    return columns


def _factorised_text(values: NDArray) -> _Text:
    """Return object ``values`` (a few distinct labels, e.g. risk classes) as :class:`_Text`."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return _Text(np.asarray(uniques, dtype=object), codes)


@dataclass(frozen=True)
class _Text:
    """A text column as distinct values and each row's index into them.

    A RiskTable repeats each asset's name, type and metric on 24 rows; the rows are put in
    their final order as integers and made text once, in Arrow (:func:`_as_text`), so 2.4 M
    rows of 100 k assets are never 2.4 M Python strings (nor taken twice as text).
    """

    values: NDArray
    index: NDArray


def _text(values: NDArray, index: NDArray) -> _Text:
    return _Text(np.asarray(values, dtype=object), np.asarray(index, dtype=np.int64))


def _as_text(parts: Sequence[_Text], order: NDArray) -> pd.Series:
    """Return the text column of the concatenated ``parts``, rows taken in ``order``."""
    import pyarrow as pa

    offsets = np.cumsum([0, *(len(part.values) for part in parts[:-1])])
    values = np.concatenate([part.values for part in parts])
    index = np.concatenate(
        [part.index + offset for part, offset in zip(parts, offsets, strict=True)]
    )
    text = pa.array(values, type=pa.string(), from_pandas=True).take(pa.array(index[order]))
    return pd.Series(pd.array(text, dtype=_TEXT), copy=False)


def _column(parts: Sequence[dict[str, object]], name: str, order: NDArray) -> object:
    """Return column ``name`` of the concatenated parts in ``order`` (NaN where a part lacks it)."""
    pieces = [part.get(name) for part in parts]
    sizes = [_rows(part) for part in parts]
    if any(isinstance(piece, _Text) for piece in pieces):
        texts = [
            piece if isinstance(piece, _Text) else _text(np.array([None]), np.zeros(n, int))
            for piece, n in zip(pieces, sizes, strict=True)
        ]
        return _as_text(texts, order)
    arrays = [
        np.asarray(piece) if piece is not None else np.full(n, np.nan)
        for piece, n in zip(pieces, sizes, strict=True)
    ]
    return np.concatenate(arrays)[order]


def _rows(part: dict[str, object]) -> int:
    """Return the number of rows of one hazard's columns."""
    asset_id = part["asset_id"]
    assert isinstance(asset_id, _Text)
    return len(asset_id.index)


_TEXT = pd.Series(["text"]).dtype  # pandas' default text dtype


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
    damage_columns = [f"damage_rp{t:g}" for t in return_periods]
    columns = [*RISK_COLUMNS, *damage_columns, "likelihood", "consequence", "score", "risk_class"]
    present = [h for h in HAZARDS if h in exposures]
    if not present:
        return pd.DataFrame(columns=columns)
    frames: dict[tuple[str, ...], pd.DataFrame] = {}  # one asset frame per exposure order
    parts = []
    for hazard in present:
        exposure = exposures[hazard]
        ids = tuple(exposure["asset_id"].values.astype(str))
        if ids not in frames:
            frames[ids] = _asset_frame(assets, np.asarray(ids, dtype=object), catalogue)
        parts.append(
            _hazard_rows(
                hazard, exposure, frames[ids], start_year=start_year, return_periods=return_periods
            )
        )
    # rows by asset_id, then hazard (HAZARDS is alphabetical), each block kept in its order
    sizes = [_rows(part) for part in parts]
    asset_ids = _as_text([part["asset_id"] for part in parts], np.arange(sum(sizes)))  # type: ignore[misc]
    rank, _ = pd.factorize(asset_ids, sort=True)
    hazard_code = np.repeat(np.arange(len(parts)), sizes)
    order = np.lexsort((hazard_code, rank))  # stable: scenario, horizon order kept
    return pd.DataFrame({name: _column(parts, name, order) for name in columns})
