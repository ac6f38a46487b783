"""Bias-adjust Projections by quantile delta mapping (QDM) against an observational reference.

QDM (Cannon, Sobie & Murdock 2015) corrects the quantiles of each model towards a reference
while keeping the model's projected change in every quantile: absolute changes for
temperature (additive), relative changes for precipitation (multiplicative). It is applied
per calendar month, trained on the historical baseline of each model, and applied to every
scenario and year in windows of ``window_years`` (the projection period over which a value's
quantile is taken).

The kernel is our own vectorised numpy (no numba): ``xsdba.QuantileDeltaMapping`` gives the
same answer (``tests/resilience/climate/test_bias.py`` compares them) but costs about 8 s to import
plus 8-16 s of numba compilation per process, more than the whole adjustment of the sample.
See ``docs/bias_adjustment.md``.

References
----------
Cannon, A. J., Sobie, S. R. and Murdock, T. Q. (2015). Bias correction of GCM precipitation
by quantile mapping: how well do methods preserve changes in quantiles and extremes?
J. Climate 28, 6938-6959, doi:10.1175/JCLI-D-14-00754.1 (eqs. 2-6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr

from resilience.climate.qdm import quantile_delta_map, year_windows
from resilience.schema import CANONICAL_UNITS, append_history, validate_projections

__all__ = [
    "ADJUSTMENT_KIND",
    "HISTORICAL_CONTINUATION",
    "HISTORICAL_END_YEAR",
    "BiasAdjustmentError",
    "adjust_qdm",
    "overlap_years",
]

#: Last year of the CMIP6 historical experiment (Eyring et al. 2016, GMD 9, 1937): scenarios
#: start in 2015.
HISTORICAL_END_YEAR = 2014
#: Scenario whose years from 2015 continue the historical run when a training period reaches
#: past 2014 and the row being adjusted is the historical one (configurable).
HISTORICAL_CONTINUATION = "ssp245"

#: Additive ("+") or multiplicative ("*") QDM per variable (Cannon et al. 2015, sect. 2c:
#: ratios for bounded, positive variables such as precipitation; differences otherwise).
ADJUSTMENT_KIND: dict[str, Literal["+", "*"]] = {
    "tasmax": "+",
    "tasmin": "+",
    "tas": "+",
    "pr": "*",
    "sfcWind": "*",
}
#: Reference units we convert, as (factor, offset): canonical = raw * f + o.
#: K -> degC: -273.15 (BIPM SI Brochure); kg m-2 s-1 -> mm/day: x 86400 (1 kg m-2 = 1 mm).
_REFERENCE_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "degC": {"degC": (1.0, 0.0), "K": (1.0, -273.15), "Celsius": (1.0, 0.0)},
    "mm/day": {"mm/day": (1.0, 0.0), "mm d-1": (1.0, 0.0), "kg m-2 s-1": (86400.0, 0.0)},
    "m/s": {"m/s": (1.0, 0.0), "m s-1": (1.0, 0.0)},
    "%": {"%": (1.0, 0.0)},
}
_GOLDEN = 0.6180339887498949  # fractional part of the golden ratio: a uniform, seedless sequence


class BiasAdjustmentError(ValueError):
    """Inputs cannot be bias-adjusted; the message names the variable or coordinate at fault."""


def _jitter_dry(values: xr.DataArray, trace: float) -> xr.DataArray:
    """Replace values below ``trace`` (dry days) by small distinct values in (0, trace).

    QDM's ratios need non-zero quantiles: zeros are replaced by uniform values below a trace
    threshold and reset to zero after the adjustment (Cannon et al. 2015, sect. 3). The
    values follow the golden-ratio sequence along time, so the result is deterministic.
    """
    step = (np.arange(values.sizes[values.dims[-1]]) + 1) * _GOLDEN % 1.0
    fill = xr.DataArray(trace * np.maximum(step, 1e-6), dims=(str(values.dims[-1]),))
    return values.where(~(values < trace), fill)


def _to_canonical(reference: xr.Dataset, variable: str) -> xr.DataArray:
    """Return a reference variable in canonical units, or raise naming what is wrong."""
    if variable not in reference.data_vars:
        raise BiasAdjustmentError(
            f"reference: variable {variable!r} missing; found {sorted(map(str, reference))}"
        )
    values = reference[variable]
    canonical = CANONICAL_UNITS[variable]
    units = str(values.attrs.get("units", ""))
    table = _REFERENCE_UNITS.get(canonical, {})
    if units not in table:
        raise BiasAdjustmentError(
            f"reference: {variable}: units {units!r}; expected one of {sorted(table)}"
        )
    factor, offset = table[units]
    return (
        (values * factor + offset).assign_attrs(units=canonical) if units != canonical else values
    )


def _check_years(time: xr.DataArray, baseline: tuple[int, int], what: str) -> None:
    """Raise unless every baseline year appears on ``time``."""
    have = set(np.unique(time.dt.year.values).tolist())
    missing = [y for y in range(baseline[0], baseline[1] + 1) if y not in have]
    if missing:
        raise BiasAdjustmentError(
            f"{what}: does not cover the baseline {baseline[0]}-{baseline[1]}; years "
            f"{missing[0]}..{missing[-1]} ({len(missing)} years) missing"
        )


def _align_space(projections: xr.Dataset, reference: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """Put projections and reference on the same cells: one grid, or stations' nearest cells."""
    if "station" in reference.dims:
        lat, lon = reference["lat"].values, reference["lon"].values
        for name, points, axis in (
            ("lat", lat, projections["lat"]),
            ("lon", lon, projections["lon"]),
        ):
            step = float(np.abs(np.diff(axis.values)).max()) if axis.size > 1 else 0.0
            if np.any(points < axis.min().item() - step) or np.any(
                points > axis.max().item() + step
            ):
                raise BiasAdjustmentError(f"reference: station {name} outside the projection grid")
        cells = projections.sel(
            lat=xr.DataArray(lat, dims="station"),
            lon=xr.DataArray(lon, dims="station"),
            method="nearest",
        )
        cells = cells.assign_coords(
            station=reference["station"].values,
            station_lat=("station", lat),
            station_lon=("station", lon),
        )
        return cells, reference.drop_vars(["lat", "lon"])
    for coord in ("lat", "lon"):
        if (
            coord not in reference.coords
            or reference[coord].shape != projections[coord].shape
            or not (np.allclose(reference[coord].values, projections[coord].values, atol=1e-6))
        ):
            raise BiasAdjustmentError(
                f"reference: {coord}: expected the projection grid ({projections[coord].size} "
                "cells) or a 'station' dim; regridding is out of scope"
            )
    return projections, reference.assign_coords(lat=projections["lat"], lon=projections["lon"])


def _training(
    simulated: xr.DataArray, baseline: tuple[int, int], continuation: str
) -> xr.DataArray:
    """Return the modelled training series over ``baseline`` on a ``hist_time`` dim.

    Within the historical experiment (baseline ending by 2014) it is the ``historical``
    scenario, shared by every scenario. A baseline reaching past 2014 (an observed record
    such as ERA5-Land 2010-2025 overlaps the model runs only if the scenarios continue the
    historical run) takes historical years up to 2014 and each scenario's own years from
    2015 (dims gain ``scenario``); the ``historical`` rows continue with ``continuation``
    (ssp245 by default), as ISIMIP3b extends its historical period with a scenario
    (Lange 2019, Geosci. Model Dev. 12, 3055-3070, sect. 3).
    """
    if baseline[1] <= HISTORICAL_END_YEAR:
        return _baseline(simulated.sel(scenario="historical", drop=True), baseline, "hist_time")
    early = (baseline[0], HISTORICAL_END_YEAR)
    late = (HISTORICAL_END_YEAR + 1, baseline[1])
    head = _baseline(simulated.sel(scenario="historical", drop=True), early, "hist_time")
    parts = []
    for scenario in simulated["scenario"].values.tolist():
        source = continuation if scenario == "historical" else scenario
        tail = _baseline(simulated.sel(scenario=source, drop=True), late, "hist_time")
        parts.append(xr.concat([head, tail], dim="hist_time"))
    return xr.concat(parts, dim=simulated["scenario"]).transpose("scenario", ...)


def _baseline(values: xr.DataArray, baseline: tuple[int, int], name: str) -> xr.DataArray:
    """Return the baseline years of ``values`` with ``time`` renamed to ``name``."""
    years = values["time"].dt.year
    chosen = values.isel(time=((years >= baseline[0]) & (years <= baseline[1])).values)
    return chosen.rename(time=name).drop_vars(name, errors="ignore")


def _adjust_variable(
    simulated: xr.DataArray,
    reference: xr.DataArray,
    baseline: tuple[int, int],
    *,
    kind: Literal["+", "*"],
    n_quantiles: int,
    window_years: int,
    trace: float | None,
    window_periods: Sequence[tuple[int, int]] = (),
    continuation: str = HISTORICAL_CONTINUATION,
) -> xr.DataArray:
    """Adjust one variable (model, scenario, time, space...) against its reference."""
    historical = _training(simulated, baseline, continuation)
    observed = _baseline(reference, baseline, "ref_time")
    if trace is not None:
        simulated, historical, observed = (
            _jitter_dry(v, trace) for v in (simulated, historical, observed)
        )
    kwargs = {
        "months": (
            _baseline(reference["time"].dt.month, baseline, "t").values,
            _baseline(simulated["time"].dt.month, baseline, "t").values,
            simulated["time"].dt.month.values,
        ),
        "windows": year_windows(simulated["time"].dt.year.values, window_years, window_periods),
        "kind": kind,
        "n_quantiles": n_quantiles,
    }
    if simulated.chunks is not None:
        simulated, historical, observed = (
            v.chunk({d: -1})
            for v, d in ((simulated, "time"), (historical, "hist_time"), (observed, "ref_time"))
        )
    adjusted = xr.apply_ufunc(
        _kernel,
        observed,
        historical,
        simulated,
        input_core_dims=[["ref_time"], ["hist_time"], ["time"]],
        output_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        kwargs=kwargs,
        keep_attrs=False,
    ).transpose(*simulated.dims)
    if trace is not None:
        adjusted = adjusted.where(~(adjusted < trace), np.float32(0.0))
    return adjusted


def _kernel(
    reference: np.ndarray,
    historical: np.ndarray,
    simulated: np.ndarray,
    *,
    months: tuple[np.ndarray, np.ndarray, np.ndarray],
    windows: np.ndarray,
    kind: Literal["+", "*"],
    n_quantiles: int,
) -> np.ndarray:
    """Run :func:`quantile_delta_map` on one block and return float32."""
    adjusted = quantile_delta_map(
        reference,
        historical,
        simulated,
        months=months,
        windows=windows,
        kind=kind,
        n_quantiles=n_quantiles,
    )
    return adjusted.astype(np.float32)


def adjust_qdm(
    projections: xr.Dataset,
    reference: xr.Dataset,
    *,
    variables: Sequence[str],
    baseline: tuple[int, int] = (1995, 2014),
    n_quantiles: int = 50,
    window_years: int = 20,
    pr_trace_mm_per_day: float = 0.05,
    window_periods: Sequence[tuple[int, int]] = (),
    historical_continuation: str = HISTORICAL_CONTINUATION,
) -> xr.Dataset:
    """Bias-adjust Projections by quantile delta mapping per calendar month.

    Parameters
    ----------
    projections : xarray.Dataset
        Projections contract: dims ``(model, scenario, time, lat, lon)``, canonical units,
        with a ``historical`` scenario covering ``baseline``. May be dask-backed and
        NaN-padded (years a scenario lacks are NaN and stay NaN).
    reference : xarray.Dataset
        Observed daily series of ``variables`` covering ``baseline``: either on the
        projection grid (dims ``time, lat, lon``; regridding is out of scope) or station
        series (dims ``time, station`` with ``lat`` and ``lon`` coords on ``station``), each
        compared with its nearest cell. Units canonical, or K / kg m-2 s-1 (converted).
    variables : sequence of str
        Variables to adjust; additive for ``tasmax``, ``tasmin``, ``tas``, multiplicative
        for ``pr`` and ``sfcWind`` (``ADJUSTMENT_KIND``). Others are returned unchanged.
    baseline : tuple of int
        First and last training year (AR6 baseline 1995-2014). A period reaching past 2014
        trains each scenario on historical years to 2014 and its own years from 2015 (the
        ``historical`` rows on ``historical_continuation``'s), so that an observed record
        such as ERA5-Land 2010-2025 can be used over all its years (docs/bias_adjustment.md).
    n_quantiles : int
        Quantile nodes ``(k + 0.5) / n`` per month (xsdba's default is 20).
    window_years : int
        Length of the projection windows in which a value's quantile is taken (20: the AR6
        horizons of the sample).
    pr_trace_mm_per_day : float
        Dry-day threshold: ``pr`` below it is jittered before and set to 0 after the
        adjustment (0.05 mm/day, UNCONFIRMED as Cannon et al.'s exact value; configurable).
    window_periods : sequence of (int, int)
        Year periods that are windows of their own (e.g. the AR6 horizons), whatever years
        surround them; other years are cut into ``window_years`` blocks.
    historical_continuation : str
        Scenario continuing the historical run past 2014 in training (default ssp245).

    Returns
    -------
    xarray.Dataset
        Same dims, coords, units and dtype (float32); on stations, dims ``(model, scenario,
        time, station)`` with the cells' ``lat``/``lon`` and ``station_lat``/``station_lon``.
        Adjusted variables and the Dataset get ``bias_adjustment`` and a ``history`` line.

    Raises
    ------
    BiasAdjustmentError
        If a variable is missing from either input or has no QDM kind, the reference or the
        ``historical`` projections do not cover ``baseline``, units are unknown, or the
        reference is on another grid.

    Notes
    -----
    Cannon et al. (2015), eqs. 2-6, per calendar month m and window w: with
    tau = F_sim,w,m(x), additive ``x + F_ref,m^-1(tau) - F_hist,m^-1(tau)`` and
    multiplicative ``x * F_ref,m^-1(tau) / F_hist,m^-1(tau)``.
    """
    _check_inputs(projections, reference, variables, baseline)
    if baseline[1] > HISTORICAL_END_YEAR:
        _check_continuation(projections, variables, baseline, historical_continuation)
    projections, reference = _align_space(projections, reference)
    out = projections.copy()
    for variable in variables:
        kind = ADJUSTMENT_KIND[variable]
        adjusted = _adjust_variable(
            projections[variable],
            _to_canonical(reference, variable),
            baseline,
            kind=kind,
            n_quantiles=n_quantiles,
            window_years=window_years,
            trace=pr_trace_mm_per_day if variable == "pr" else None,
            window_periods=window_periods,
            continuation=historical_continuation,
        )
        note = _describe(kind, baseline, n_quantiles, window_years, reference)
        attrs = append_history(dict(projections[variable].attrs), f"adjust_qdm: {note}")
        out[variable] = adjusted.assign_attrs(attrs, bias_adjustment=note)
    summary = ", ".join(f"{v} ({ADJUSTMENT_KIND[v]})" for v in variables)
    append_history(out.attrs, f"adjust_qdm: quantile delta mapping of {summary}")
    out.attrs["bias_adjustment"] = _describe("+/*", baseline, n_quantiles, window_years, reference)
    if str(reference.attrs.get("synthetic", "no")).lower() == "yes":
        out.attrs["synthetic"] = "yes"
    if "station" not in out.dims:
        validate_projections(out)
    return out


def _describe(
    kind: str, baseline: tuple[int, int], n_quantiles: int, window_years: int, reference: xr.Dataset
) -> str:
    """Return the ``bias_adjustment`` attribute text."""
    title = reference.attrs.get("title", "untitled reference")
    return (
        f"quantile delta mapping (Cannon, Sobie & Murdock 2015, J. Climate 28, 6938-6959), "
        f"kind {kind}, per calendar month, {n_quantiles} quantiles, trained on "
        f"{baseline[0]}-{baseline[1]}, applied in {window_years}-year windows; reference: {title}"
    )


def _check_inputs(
    projections: xr.Dataset,
    reference: xr.Dataset,
    variables: Sequence[str],
    baseline: tuple[int, int],
) -> None:
    """Raise BiasAdjustmentError for anything adjust_qdm cannot use, before any work."""
    if not variables:
        raise BiasAdjustmentError("variables: expected at least one variable to adjust")
    for variable in variables:
        if variable not in ADJUSTMENT_KIND:
            raise BiasAdjustmentError(
                f"variables: no QDM kind for {variable!r}; expected some of "
                f"{sorted(ADJUSTMENT_KIND)}"
            )
        if variable not in projections.data_vars:
            raise BiasAdjustmentError(f"projections: variable {variable!r} missing")
        _to_canonical(reference, variable)
    if "historical" not in projections["scenario"].values.tolist():
        raise BiasAdjustmentError(
            "projections: scenario 'historical' missing; expected it to train on the baseline"
        )
    if baseline[0] > baseline[1]:
        raise BiasAdjustmentError(f"baseline: expected (first, last) year, found {baseline}")
    _check_years(projections["time"], baseline, "projections")
    if "time" not in reference.dims:
        raise BiasAdjustmentError("reference: expected a 'time' dim")
    _check_years(reference["time"], baseline, "reference")


def _check_continuation(
    projections: xr.Dataset, variables: Sequence[str], baseline: tuple[int, int], continuation: str
) -> None:
    """Raise unless every scenario has data in every training year after 2014."""
    scenarios = projections["scenario"].values.tolist()
    if "historical" in scenarios and continuation not in scenarios:
        raise BiasAdjustmentError(
            f"historical_continuation: {continuation!r} is not a scenario of the projections "
            f"({scenarios}); it continues the historical run over "
            f"{HISTORICAL_END_YEAR + 1}-{baseline[1]} in training"
        )
    years = projections["time"].dt.year
    late = (years > HISTORICAL_END_YEAR) & (years <= baseline[1])
    for variable in variables:
        values = projections[variable].isel(time=late.values)
        present = values.notnull().any([d for d in values.dims if d not in ("scenario", "time")])
        by_year = present.groupby(values["time"].dt.year.rename("year")).any().compute()
        for scenario in (s for s in scenarios if s != "historical"):
            row = by_year.sel(scenario=scenario)
            missing = [
                int(y) for y, ok in zip(row["year"].values, row.values, strict=True) if not ok
            ]
            if missing:
                raise BiasAdjustmentError(
                    f"projections: {variable} {scenario}: no data in training years {missing} "
                    f"(training {baseline[0]}-{baseline[1]} needs each scenario from "
                    f"{HISTORICAL_END_YEAR + 1})"
                )


def overlap_years(projections: xr.Dataset, reference: xr.Dataset) -> tuple[int, int]:
    """Return the longest run of whole years that both the projections and reference cover.

    A reference year counts when it has at least 365 days (a leap year may lack 29 Feb in a
    noleap comparison); a projection year when it is on the time axis. The run may cross
    2014, the end of the historical experiment (:func:`adjust_qdm` splices the scenarios).

    Raises
    ------
    BiasAdjustmentError
        If they share no whole year.
    """
    ref_years = reference["time"].dt.year.to_series().value_counts()
    ref_full = {int(y) for y, n in ref_years.items() if n >= 365}
    shared = sorted(ref_full & set(np.unique(projections["time"].dt.year.values).tolist()))
    if not shared:
        raise BiasAdjustmentError(
            "reference: no whole year in common with the projections; "
            f"reference years {sorted(ref_full)[:1]}..{sorted(ref_full)[-1:]}"
        )
    runs: list[list[int]] = [[shared[0]]]
    for year in shared[1:]:
        if year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    best = max(runs, key=len)
    return best[0], best[-1]
