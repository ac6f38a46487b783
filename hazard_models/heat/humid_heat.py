"""Humid heat: the US NWS heat index of each day and its yearly maximum (issue 5).

Holds :func:`heat_index` (daily apparent temperature from temperature and relative humidity)
and :func:`heat_index_max` (its yearly maximum from daily Tmax and daily-mean humidity, on a
``year`` dim placed last, as the yearly indices of :mod:`hazard_models.heat.indices`). Results
carry ``units``, ``long_name``, ``method`` (the source) and ``history``.

References
----------
Rothfusz, L. P. (1990), The heat index "equation", NWS Southern Region Technical
Attachment SR 90-23; NWS Weather Prediction Center, "The Heat Index Equation",
https://www.wpc.ncep.noaa.gov/html/heatindex_equation.shtml
Blazejczyk, K. et al. (2012), Int. J. Biometeorol. 56, 515-535 (xclim's degC coefficients).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hazard_models.layer import append_history
from hazard_models.yearly import yearly_max

__all__ = ["heat_index", "heat_index_max"]


def _finish(
    result: xr.DataArray, *, units: str, long_name: str, method: str, history: str
) -> xr.DataArray:
    """Return ``result`` with the index attributes and one ``history`` line (as in .indices)."""
    attrs = {"units": units, "long_name": long_name, "method": method}
    return result.assign_attrs(append_history(attrs, history))


def _heat_index_kernel(tas: np.ndarray, rh: np.ndarray) -> np.ndarray:
    """Return the NWS heat index in degC of arrays in degC and % (elementwise numpy)."""
    temp_f = tas * 9.0 / 5.0 + 32.0
    full = (
        -42.379
        + 2.04901523 * temp_f
        + 10.14333127 * rh
        - 0.22475541 * temp_f * rh
        - 6.83783e-3 * temp_f**2
        - 5.481717e-2 * rh**2
        + 1.22874e-3 * temp_f**2 * rh
        + 8.5282e-4 * temp_f * rh**2
        - 1.99e-6 * temp_f**2 * rh**2
    )
    in_dry_band = (rh < 13) & (temp_f > 80) & (temp_f < 112)
    dry = ((13 - rh) / 4) * np.sqrt(np.clip((17 - abs(temp_f - 95)) / 17, 0, None))
    full = full - np.where(in_dry_band, dry, 0.0)
    humid = ((rh - 85) / 10) * ((87 - temp_f) / 5)
    full = full + np.where((rh > 85) & (temp_f > 80) & (temp_f < 87), humid, 0.0)
    # Steadman's simple formula; its 0.5 (T + ...) *is* the average with T that the NWS text
    # describes, so it is not averaged with T a second time (issue 17)
    simple = 0.5 * (temp_f + 61.0 + (temp_f - 68.0) * 1.2 + rh * 0.094)
    index_f = np.where(simple >= 80.0, full, simple)
    return np.where(np.isnan(tas) | np.isnan(rh), np.nan, (index_f - 32.0) * 5.0 / 9.0)


def heat_index(tas: xr.DataArray, hurs: xr.DataArray) -> xr.DataArray:
    """Return the US NWS heat index (apparent temperature) of each day.

    Parameters
    ----------
    tas : xarray.DataArray
        Near-surface air temperature (daily mean or maximum), any dims, degC.
    hurs : xarray.DataArray
        Relative humidity, same dims, % (0-100).

    Returns
    -------
    xarray.DataArray
        Heat index, same dims as the inputs (daily, not yearly), degC.

    Notes
    -----
    Computed in degF (T) and % (RH), as the NWS Weather Prediction Center defines it:

    1. the simple formula HI = 0.5 (T + 61 + 1.2 (T - 68) + 0.094 RH) (Steadman's result
       averaged with T; the factor 0.5 is that average, so it is applied once);
    2. if that value is >= 80 degF, the Rothfusz (1990) regression instead, minus
       ((13 - RH) / 4) sqrt((17 - |T - 95|) / 17) when RH < 13 % and 80 < T < 112 degF, plus
       ((RH - 85) / 10) ((87 - T) / 5) when RH > 85 % and 80 < T < 87 degF.

    The temperature bounds of the adjustments are taken as strict: the NWS chart's 86 and
    87 degF at 80 degF / 95 and 100 % are reproduced without the humid adjustment (86.4,
    87.2) and missed with it (87.8, 89.3). Checked against the whole NWS chart (80-110 degF,
    40-100 %) in the tests: within 1 degF except 82 degF / 100 % (1.04 degF; the regression's
    stated error is 1.3 degF).

    References
    ----------
    Rothfusz, L. P. (1990), The heat index "equation", NWS Southern Region Technical
    Attachment SR 90-23; NWS Weather Prediction Center, "The Heat Index Equation",
    https://www.wpc.ncep.noaa.gov/html/heatindex_equation.shtml; NWS heat index chart,
    https://www.weather.gov/safety/heat-index
    """
    dtype = np.result_type(tas.dtype, hurs.dtype)
    result = xr.apply_ufunc(
        _heat_index_kernel, tas, hurs, join="inner", dask="parallelized", output_dtypes=[dtype]
    )
    return _finish(
        result,
        units="degC",
        long_name="heat index",
        method="US NWS heat index, Rothfusz (1990) regression with NWS adjustments (WPC)",
        history="heat_index: NWS Rothfusz regression from tas and hurs",
    )


def heat_index_max(tasmax: xr.DataArray, hurs: xr.DataArray) -> xr.DataArray:
    """Return the yearly maximum of the daily NWS heat index from Tmax and mean humidity.

    Parameters
    ----------
    tasmax : xarray.DataArray
        Daily maximum temperature, dims (..., time, ...), degC.
    hurs : xarray.DataArray
        Daily mean relative humidity, % (0-100), same dims and coordinates as ``tasmax``.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; degC. NaN for a year without a day where
        both inputs are valid.

    Raises
    ------
    ValueError
        If the coordinates of ``tasmax`` and ``hurs`` differ.

    Notes
    -----
    The daily :func:`heat_index` of (Tmax, daily-mean RH), then its yearly maximum. Pairing
    the day's maximum temperature with its mean humidity is a conservative (high)
    approximation of the afternoon heat index: relative humidity is lowest in the afternoon,
    when the temperature peaks, so the true afternoon value is lower. xclim's ``heat_index``
    uses the same Rothfusz regression (in degC coefficients, after Blazejczyk et al. 2012)
    without the NWS adjustments and only above 20 degC.

    References
    ----------
    Rothfusz (1990), NWS SR 90-23; NWS WPC heat-index equation (see :func:`heat_index`);
    Blazejczyk, K. et al. (2012), Int. J. Biometeorol. 56, 515-535.
    """
    try:
        xr.align(tasmax, hurs, join="exact")
    except ValueError as err:
        raise ValueError(f"hurs: expected the coordinates of tasmax ({err})") from err
    daily = heat_index(tasmax, hurs).transpose(*tasmax.dims)
    return _finish(
        yearly_max(daily),
        units="degC",
        long_name="annual maximum of the daily heat index (Tmax with daily-mean RH)",
        method=(
            "yearly maximum of the US NWS heat index (Rothfusz 1990 with NWS adjustments) "
            "of Tmax and daily-mean hurs: a conservative (high) approximation, since the "
            "afternoon RH is below the daily mean"
        ),
        history="heat_index_max: yearly maximum of the NWS heat index of tasmax and hurs",
    )
