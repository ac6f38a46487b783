"""Future intensity-duration-frequency (IDF) layer and the drainage check built on it.

The baseline IDF is the Shanghai storm-intensity formula (:mod:`hazard_models.rain.idf`,
DB31/T 1043-2017, partly UNCONFIRMED and therefore configurable through
:class:`~hazard_models.rain.idf.StormFormula`). Each scenario and horizon multiplies it by an
uplift factor per return period, quantile and cell, by one of two documented methods
(``docs/idf.md``):

``daily_change``
    the projected relative change of the Rx1day return level of the same return period
    (rain layer variable ``rx1day_change``, interpolated linearly in log10 of the return
    period and held constant beyond the layer's range). It assumes that sub-daily extremes
    scale like daily ones, which is conservative-low for short bursts (Fowler et al. 2021,
    Nat. Rev. Earth Environ. 2, 107-122).
``clausius_clapeyron``
    (1 + rate)^dT with the local warming dT (heat layer variable ``tg_mean_change``) and
    rate = 7 %/K (domain.md 4.6; Westra et al. 2014, Rev. Geophys. 52, 522-555). Uniform
    over return periods.

The factor multiplies every duration alike, so the drainage check (the effective return
period of today's design storm) does not depend on the duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from hazard_models.horizon_stats import finish_layer, with_attrs
from hazard_models.layer import SchemaError, synthetic_flag
from hazard_models.rain.idf import SHANGHAI_DB31_T1043, StormFormula, storm_intensity

__all__ = [
    "DRAINAGE_STANDARDS",
    "IDF_DURATIONS_MIN",
    "IDF_RETURN_PERIODS",
    "UpliftMethod",
    "build_idf_layer",
    "drainage_check",
    "drainage_standard",
    "idf_uplift",
]

UpliftMethod = Literal["daily_change", "clausius_clapeyron"]
#: Durations of the IDF layer, minutes: 5 min to 24 h.
IDF_DURATIONS_MIN: tuple[float, ...] = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
#: Return periods of the IDF layer, years: 1 to 100.
IDF_RETURN_PERIODS: tuple[float, ...] = (1, 2, 3, 5, 10, 20, 30, 50, 100)
#: Shanghai drainage design return periods, years (lower, upper; None = open): pipes and
#: channels 3-5, underpasses and sunken plazas >= 30, waterlogging prevention 50-100.
#: Source: 上海市城镇雨水排水规划（2020-2035年）, domain.md 2.3.
DRAINAGE_STANDARDS: dict[str, tuple[float, float | None]] = {
    "pipe": (3.0, 5.0),
    "underpass": (30.0, None),
    "waterlogging": (50.0, 100.0),
}
_MM_MIN_TO_MM_H = 60.0


def _interp_log_period(values: xr.DataArray, targets: ArrayLike) -> xr.DataArray:
    """Interpolate along ``return_period`` linearly in log10(P), constant beyond the ends."""
    source = np.log10(np.asarray(values["return_period"].values, dtype=float))
    wanted = np.log10(np.asarray(targets, dtype=float))
    if source.size == 1:
        out = values.isel(return_period=np.zeros(wanted.size, dtype=int))
        return out.assign_coords(return_period=np.asarray(targets, dtype=float))
    clipped = np.clip(wanted, source[0], source[-1])
    lower = np.clip(np.searchsorted(source, clipped, side="right") - 1, 0, source.size - 2)
    weight = (clipped - source[lower]) / (source[lower + 1] - source[lower])
    low = values.isel(return_period=lower).drop_vars("return_period")
    high = values.isel(return_period=lower + 1).drop_vars("return_period")
    w = xr.DataArray(weight, dims="return_period")
    out = low * (1.0 - w) + high * w
    return out.assign_coords(return_period=np.asarray(targets, dtype=float))


def _need(layer: xr.Dataset | None, name: str, which: str) -> xr.DataArray:
    if layer is None or name not in layer.data_vars:
        raise SchemaError(f"{which} layer: expected variable {name!r} for the IDF uplift")
    return layer[name]


def idf_uplift(
    method: UpliftMethod,
    return_periods: ArrayLike,
    *,
    rain_layer: xr.Dataset | None = None,
    heat_layer: xr.Dataset | None = None,
    rate_per_k: float = 0.07,
) -> xr.DataArray:
    """Return the multiplicative uplift of design intensities per scenario and horizon.

    Parameters
    ----------
    method : {"daily_change", "clausius_clapeyron"}
        See the module docstring.
    return_periods : sequence of float
        Years (>= 1) of the IDF layer.
    rain_layer, heat_layer : xarray.Dataset, optional
        The rain layer (``rx1day_change``, %) for "daily_change"; the heat layer
        (``tg_mean_change``, K) for "clausius_clapeyron".
    rate_per_k : float
        Clausius-Clapeyron rate, 1/K (0.07; 0.14 for the "2xCC" sensitivity case).

    Returns
    -------
    xarray.DataArray
        Dims (scenario, horizon, return_period, quantile, lat, lon), units "1"; 1 in the
        baseline.
    """
    if method == "daily_change":
        change = _need(rain_layer, "rx1day_change", "rain")
        factor = 1.0 + _interp_log_period(change, return_periods) / 100.0
        note = "1 + relative change of the Rx1day return level (rain layer rx1day_change)"
    elif method == "clausius_clapeyron":
        warming = _need(heat_layer, "tg_mean_change", "heat")
        factor = xr.apply_ufunc(np.power, 1.0 + rate_per_k, warming, keep_attrs=False)
        factor = factor.expand_dims(return_period=np.asarray(return_periods, dtype=float))
        note = f"(1 + {rate_per_k:g})^dT, dT = local warming (heat layer tg_mean_change)"
    else:
        raise ValueError(
            f"method: expected 'daily_change' or 'clausius_clapeyron', found {method!r}"
        )
    order = ("scenario", "horizon", "return_period", "quantile", "lat", "lon")
    factor = factor.transpose(*[d for d in order if d in factor.dims])
    return with_attrs(factor, "1", "uplift of design rainfall intensity", note)


def build_idf_layer(
    rain_layer: xr.Dataset | None = None,
    heat_layer: xr.Dataset | None = None,
    *,
    method: UpliftMethod = "daily_change",
    formula: StormFormula = SHANGHAI_DB31_T1043,
    durations_min: Sequence[float] = IDF_DURATIONS_MIN,
    return_periods: Sequence[float] = IDF_RETURN_PERIODS,
    rate_per_k: float = 0.07,
    inputs_sha256: str = "",
    code_version: str = "",
) -> xr.Dataset:
    """Build the IDF HazardLayer: design intensities per scenario, horizon and cell.

    Parameters
    ----------
    rain_layer, heat_layer : xarray.Dataset, optional
        Source of the uplift (see :func:`idf_uplift`).
    method : {"daily_change", "clausius_clapeyron"}
        Uplift method (``Settings.rain_uplift_method``).
    formula : StormFormula
        Baseline storm-intensity formula (default DB31/T 1043-2017, partly UNCONFIRMED).
    durations_min : sequence of float
        Durations, minutes.
    return_periods : sequence of float
        Return periods, years (>= 1).
    rate_per_k : float
        Clausius-Clapeyron rate, 1/K.
    inputs_sha256, code_version : str
        Provenance.

    Returns
    -------
    xarray.Dataset
        HazardLayer "idf" with ``idf_uplift`` (scenario, horizon, return_period, quantile,
        lat, lon; 1) and ``idf_intensity`` (scenario, horizon, return_period, duration,
        quantile, lat, lon; mm/h). Since the formula is uniform, the quantiles of the
        intensity are the formula times the quantiles of the uplift.
    """
    periods = np.asarray(return_periods, dtype=float)
    durations = np.asarray(durations_min, dtype=float)
    if np.any(periods < 1) or np.any(durations <= 0):
        raise ValueError("return_periods: expected years >= 1; durations_min: expected > 0")
    uplift = idf_uplift(
        method, periods, rain_layer=rain_layer, heat_layer=heat_layer, rate_per_k=rate_per_k
    )
    base = storm_intensity(periods[:, None], durations[None, :], formula) * _MM_MIN_TO_MM_H
    baseline = xr.DataArray(
        base,
        dims=("return_period", "duration"),
        coords={"return_period": periods, "duration": durations},
    )
    intensity = (baseline * uplift).transpose(
        "scenario", "horizon", "return_period", "duration", "quantile", "lat", "lon"
    )
    intensity["duration"].attrs.update(units="min", long_name="storm duration")
    method_text = (
        f"{formula.source}: q = A1 (1 + C lg P)/(t + b)^n with A1={formula.a1:g}, "
        f"C={formula.c:g}, b={formula.b:g}, n={formula.n:g}"
        f"{'' if formula.confirmed else ' (UNCONFIRMED parameters)'}; x uplift ({method}: "
        f"{uplift.attrs['method']}); docs/idf.md"
    )
    layer = xr.Dataset(
        {
            "idf_uplift": uplift,
            "idf_intensity": with_attrs(
                intensity, "mm/h", "mean design rainfall intensity", method_text
            ),
        }
    )
    history = f"build_idf_layer: {method} uplift; {durations.size} durations x {periods.size} RPs"
    return finish_layer(
        layer,
        "idf",
        history,
        provenance=(inputs_sha256, code_version),
        synthetic=_synthetic(rain_layer, heat_layer),
    )


def drainage_standard(design_return_period: float) -> tuple[str, float] | None:
    """Return the Shanghai drainage class a design period meets, and that class's minimum.

    The highest class of :data:`DRAINAGE_STANDARDS` whose lower bound the period reaches,
    e.g. 5 yr -> ("pipe", 3.0), 50 yr -> ("waterlogging", 50.0); None below 3 years.
    """
    met = [
        (low, name) for name, (low, _) in DRAINAGE_STANDARDS.items() if design_return_period >= low
    ]
    if not met:
        return None
    low, name = max(met)
    return name, low


def drainage_check(
    idf_layer: xr.Dataset,
    design_return_period: float,
    *,
    lat: float,
    lon: float,
    formula: StormFormula = SHANGHAI_DB31_T1043,
) -> xr.DataArray:
    """Return the effective return period of today's design storm in every future horizon.

    A system sized for the P_d-year storm carries i0(P_d, t). In a horizon where every
    intensity of return period P grows by u(P), that capacity is reached by the storm P*
    with (1 + C lg P*) u(P*) = 1 + C lg P_d (the duration term cancels). u is interpolated
    in log10(P) between the layer's return periods and held constant beyond them; the
    equation is solved on a fine grid of P from 0.01 to 10,000 years.

    Parameters
    ----------
    idf_layer : xarray.Dataset
        Output of :func:`build_idf_layer` (uses ``idf_uplift``).
    design_return_period : float
        Drainage design return period, years (e.g. 3-5 for pipes; :data:`DRAINAGE_STANDARDS`).
    lat, lon : float
        Site, degrees; the nearest cell is used.
    formula : StormFormula
        The formula the layer was built with (its C).

    Returns
    -------
    xarray.DataArray
        ``effective_return_period`` (scenario, horizon, quantile), years; equal to the design
        period in the baseline. Values at 0.01 mean "at most 0.01 years".
    """
    if design_return_period <= 0:
        raise ValueError(f"design_return_period: expected years > 0, found {design_return_period}")
    uplift = _need(idf_layer, "idf_uplift", "idf").sel(lat=lat, lon=lon, method="nearest")
    grid = np.logspace(-2, 4, 2401)
    factor = _interp_log_period(uplift, grid).transpose(..., "return_period").values
    capacity = (1.0 + formula.c * np.log10(grid)) * factor
    capacity = np.maximum.accumulate(capacity, axis=-1)  # solve on the non-decreasing envelope
    target = 1.0 + formula.c * np.log10(design_return_period)
    index = np.apply_along_axis(lambda row: np.searchsorted(row, target), -1, capacity)
    index = np.clip(index, 1, grid.size - 1)
    low = np.take_along_axis(capacity, (index - 1)[..., None], -1)[..., 0]
    high = np.take_along_axis(capacity, index[..., None], -1)[..., 0]
    span = np.where(high > low, high - low, 1.0)
    weight = np.clip((target - low) / span, 0.0, 1.0)
    log_p = np.log10(grid[index - 1]) * (1 - weight) + np.log10(grid[index]) * weight
    dims = [d for d in uplift.dims if d != "return_period"]
    coords = {d: uplift[d] for d in dims}
    result = xr.DataArray(10.0**log_p, dims=dims, coords=coords, name="effective_return_period")
    result = result.where(np.isfinite(uplift.isel(return_period=0, drop=True)))
    return result.assign_attrs(
        units="year",
        long_name=f"effective return period of today's {design_return_period:g}-year design storm",
        method="solve (1 + C lg P*) u(P*) = 1 + C lg P_d (hazard_models.rain.idf_layer)",
    )


def _synthetic(*layers: xr.Dataset | None) -> str:
    """Synthetic flag of the IDF layer: of the layers it uplifts from; "no" for the formula."""
    given = [layer.attrs for layer in layers if layer is not None]
    return synthetic_flag(*given) if given else "no"
