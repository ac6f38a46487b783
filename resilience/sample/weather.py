"""Draw SYNTHETIC daily weather for Shanghai: the generator behind the sample projections.

The draws are not model output: a stochastic weather generator makes them from Shanghai
climatology plus AR6-like warming, and :mod:`.projections` writes them as NEX-GDDP-CMIP6-style
files that let the whole engine run offline. ``docs/sample.md`` explains the method and the
targets; ``tests/resilience/sample/test_sample_projections.py`` checks every target below on
a generated baseline.

Baseline targets (1995-2014, mean over years and models)
---------------------------------------------------------
Urban centre = the cell nearest People's Square (31.23 N, 121.47 E); rural = grid edge.

* Days with Tmax >= 35 degC: 9-20 a year in the centre, fewer at the rural edge. Source:
  domain.md 4.4 (central urban "normal" about 9 days before 2010; urban-rural difference in
  high-temperature days up to 9.5 days; many recent years 30-50 days).
* Tmax seasonal cycle: January about 8 degC, July/August about 32-33 degC in the centre.
  Source: Xujiahui (58367) 1991-2020 monthly normals as commonly quoted (UNCONFIRMED, recalled;
  see ``TMAX_NORMALS_DEGC``). tasmin < tasmax on every day and cell.
* Urban heat island: about +1 degC mean Tmax in the centre, decaying with distance from
  People's Square (domain.md 4.4: Xujiahui-Fengxian difference, urban-rural hot-day gap).
* Annual rain about 1,200 mm (1,050-1,350) with June and July the wettest months (Meiyu).
  Source: Xujiahui normals about 1,200-1,300 mm (UNCONFIRMED, recalled). Real normals have
  August about as wet as June (typhoons); the sample keeps the Meiyu peak, see docs/sample.md.
* Rx1day (annual maximum daily rain): mean over cells about 105 mm (test: 90-150; the centre
  cell 85-150), the largest cell-day totals from Jul-Sep storms. Source: domain.md 4.5 (117 mm
  in 1 h in 2008, 328 mm in 6 h in 2024 are the rare tail); a mean annual daily maximum near
  100 mm for the Yangtze delta is UNCONFIRMED (recalled). About 130 wet days a year.
* Annual maximum Tmax in the centre 37-40 degC (record 40.9 degC, domain.md 4.4).

Future: temperature rises by ``WARMING_DEGC`` (scaled by the model's sensitivity) and daily
rain grows with the local warming: heavy amounts by Clausius-Clapeyron, 7 %/K (domain.md 4.6),
light amounts by 2 %/K (AR6 WGI Ch. 8: global mean precipitation +1-3 % per degC).
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

__all__ = [
    "GENERATOR_VERSION",
    "LAT",
    "LON",
    "N_DAYS",
    "WARMING_DEGC",
    "generate_year",
    "rain_change_factor",
    "warming_degc",
]

GENERATOR_VERSION = "1"
N_DAYS = 365  # noleap calendar (docs/decisions.md D4)
#: Cell centres, 0.1 deg, 14 x 14 over Shanghai.
LAT = np.round(30.6 + 0.1 * np.arange(14), 6)
LON = np.round(120.8 + 0.1 * np.arange(14), 6)
CENTRE_LAT, CENTRE_LON = 31.23, 121.47  # People's Square

#: Warming vs 1995-2014 (degC) at the near, mid and far horizon mid-years, East China.
#: AR6 WGI SPM Table SPM.1 global warming vs 1850-1900, minus the 0.85 degC of 1995-2014
#: (AR6 SPM A.1.2), times about 1.2 for East-Asian land (AR6 Atlas, EAS; UNCONFIRMED factor).
WARMING_DEGC: dict[str, tuple[float, float, float]] = {
    "ssp126": (0.8, 1.1, 1.2),
    "ssp245": (0.9, 1.5, 2.4),
    "ssp370": (0.9, 1.7, 3.4),
    "ssp585": (1.0, 2.0, 4.3),
}
_HORIZON_MID_YEARS = (2004.5, 2030.5, 2050.5, 2090.5)
#: Historical trend, degC per year (domain.md 4.4: China 0.26 degC/decade 1951-2021).
HISTORICAL_TREND_DEGC_PER_YEAR = 0.025
#: Per model: (warming factor, baseline Tmax bias degC, rain factor). Others: from the name.
MODEL_TRAITS: dict[str, tuple[float, float, float]] = {
    "SYNTH-ESM-A": (1.0, 0.0, 1.0),
    "SYNTH-ESM-B": (1.15, 0.2, 1.05),
}
#: Xujiahui 1991-2020 monthly normals, Jan..Dec (UNCONFIRMED, recalled; CMA via Wikipedia).
TMAX_NORMALS_DEGC = (8.4, 10.6, 14.8, 20.5, 25.6, 28.4, 32.6, 32.2, 28.3, 23.6, 17.9, 11.2)
TMIN_NORMALS_DEGC = (2.1, 3.9, 7.4, 12.5, 17.8, 22.1, 26.2, 26.1, 22.4, 17.0, 11.0, 4.5)
#: Monthly rain (mm) of ordinary wet days; Jul-Sep storm events add about 32 mm/month on top.
#: Tuned so that the totals meet the targets above (UNCONFIRMED normals, recalled).
RAIN_MONTHLY_MM = (80, 68, 104, 90, 106, 232, 155, 80, 45, 68, 58, 48)
#: Fraction of days that are wet, Jan..Dec (about 130 days a year, UNCONFIRMED).
WET_DAY_FRACTION = (0.33, 0.36, 0.42, 0.40, 0.40, 0.52, 0.44, 0.38, 0.34, 0.28, 0.30, 0.28)
#: Urban heat island amplitude (degC) on Tmax and Tmin, and its Gaussian length scale (km).
UHI_TMAX_DEGC, UHI_TMIN_DEGC, UHI_LENGTH_KM = 1.1, 1.5, 20.0
#: Jul-Sep storm (typhoon, remnant, squall) events per year and median peak rain (mm/day).
STORM_RATE_PER_YEAR, STORM_PEAK_MEDIAN_MM, STORM_RADIUS_DEG = 2.5, 150.0, 0.35
CC_SCALING, MEAN_RAIN_SCALING, HEAVY_RAIN_SCALE_MM = 1.07, 1.02, 40.0

_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_MONTH_START = np.concatenate([[0], np.cumsum(_MONTH_DAYS)[:-1]])
_MONTH_OF_DAY = np.repeat(np.arange(12), _MONTH_DAYS)


def warming_degc(model: str, experiment: str, year: int) -> float:
    """Return the synthetic warming (degC) of a year relative to 1995-2014.

    Historical years follow ``HISTORICAL_TREND_DEGC_PER_YEAR`` around 2004.5; scenario years
    interpolate linearly between ``WARMING_DEGC`` at the horizon mid-years (2030.5, 2050.5,
    2090.5), extrapolating past 2090.5. The result is scaled by the model's warming factor.

    Raises
    ------
    ValueError
        If ``experiment`` is neither ``historical`` nor in ``WARMING_DEGC``.
    """
    factor = _model_traits(model)[0]
    if experiment == "historical":
        return factor * HISTORICAL_TREND_DEGC_PER_YEAR * (year - _HORIZON_MID_YEARS[0])
    if experiment not in WARMING_DEGC:
        raise ValueError(
            f"experiment {experiment!r}: expected 'historical' or one of {sorted(WARMING_DEGC)}"
        )
    anchors = np.array((0.0, *WARMING_DEGC[experiment]))
    years = np.array(_HORIZON_MID_YEARS)
    if year > years[-1]:
        slope = (anchors[-1] - anchors[-2]) / (years[-1] - years[-2])
        return factor * float(anchors[-1] + slope * (year - years[-1]))
    return factor * float(np.interp(year, years, anchors))


def _model_traits(model: str) -> tuple[float, float, float]:
    """Return (warming factor, Tmax bias degC, rain factor); unknown names hash to a value."""
    if model in MODEL_TRAITS:
        return MODEL_TRAITS[model]
    u = np.random.default_rng(zlib.crc32(model.encode())).random(3)
    return (0.9 + 0.35 * u[0], -0.3 + 0.6 * u[1], 0.95 + 0.13 * u[2])


def _rng(seed: int, model: str, experiment: str, year: int) -> np.random.Generator:
    """Return the random stream of one (model, experiment, year), independent of the others."""
    key = [seed, zlib.crc32(model.encode()), zlib.crc32(experiment.encode()), year]
    return np.random.default_rng(np.random.SeedSequence(key))


def _distance_km() -> np.ndarray:
    """Return the distance (km) of each cell centre from People's Square, dims (lat, lon)."""
    dy = (LAT[:, None] - CENTRE_LAT) * 110.57
    dx = (LON[None, :] - CENTRE_LON) * 111.32 * np.cos(np.radians(CENTRE_LAT))
    return np.hypot(dx, dy)


@functools.lru_cache(maxsize=8)
def _daily_cycle(monthly: tuple[float, ...]) -> np.ndarray:
    """Return a smooth 365-day cycle whose monthly means equal ``monthly``.

    Linear interpolation between mid-month values would flatten the July peak; so the
    mid-month nodes are solved for such that each month's mean of the cycle is its normal.
    """
    mids = _MONTH_START + _MONTH_DAYS / 2.0
    days = np.arange(N_DAYS) + 0.5

    def cycle(nodes: np.ndarray) -> np.ndarray:
        return np.interp(days, mids, nodes, period=N_DAYS)

    means = np.stack([np.bincount(_MONTH_OF_DAY, cycle(e)) / _MONTH_DAYS for e in np.eye(12)])
    nodes = np.linalg.solve(means.T, np.asarray(monthly, float))
    return cycle(nodes)


def _ar1(rng: np.random.Generator, phi: float) -> np.ndarray:
    """Return a stationary unit-variance AR(1) series of 365 days."""
    from scipy.signal import lfilter

    shocks = rng.standard_normal(N_DAYS)
    start = phi * rng.standard_normal()
    return lfilter([np.sqrt(1 - phi**2)], [1.0, -phi], shocks, zi=[start])[0]


def _wet_days(rng: np.random.Generator, p_wet: np.ndarray, persistence: float) -> np.ndarray:
    """Return a boolean wet/dry series from a two-state Markov chain with daily P(wet)."""
    p11 = p_wet + (1 - p_wet) * persistence
    p01 = p_wet * (1 - persistence)
    u = rng.random(N_DAYS)
    wet = np.empty(N_DAYS, dtype=bool)
    state = u[0] < p_wet[0]
    for day in range(N_DAYS):  # one scalar per day, not per cell
        state = u[day] < (p11[day] if state else p01[day])
        wet[day] = state
    return wet


def _storms(rng: np.random.Generator) -> np.ndarray:
    """Return Jul-Sep storm rain (mm/day), dims (time, lat, lon): a footprint per event."""
    rain = np.zeros((N_DAYS, LAT.size, LON.size))
    count = rng.poisson(STORM_RATE_PER_YEAR)
    days = rng.integers(_MONTH_START[6], _MONTH_START[9], size=count)
    peaks = STORM_PEAK_MEDIAN_MM * np.exp(0.25 * rng.standard_normal(count))
    centre_lat = rng.uniform(LAT[0] - 0.3, LAT[-1] + 0.3, count)
    centre_lon = rng.uniform(LON[0] - 0.3, LON[-1] + 0.3, count)
    for k in range(count):  # a few events a year, each vectorised over the grid
        d2 = (LAT[:, None] - centre_lat[k]) ** 2 + (LON[None, :] - centre_lon[k]) ** 2
        footprint = peaks[k] * np.exp(-d2 / (2 * STORM_RADIUS_DEG**2))
        day, trailing = days[k], min(days[k] + 1, N_DAYS - 1)
        rain[day] = np.maximum(rain[day], footprint)  # two storms on a day do not add up
        rain[trailing] = np.maximum(rain[trailing], 0.3 * footprint)  # the trailing day
    return rain


def _precipitation(
    rng: np.random.Generator, delta_degc: float, rain_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return daily rain (mm/day, dims time, lat, lon) and the large-scale wetness (time,)."""
    p_wet = np.asarray(WET_DAY_FRACTION)[_MONTH_OF_DAY]
    wet = _wet_days(rng, p_wet, persistence=0.35)
    wet_mean = (np.asarray(RAIN_MONTHLY_MM) / _MONTH_DAYS)[_MONTH_OF_DAY] / p_wet
    shape = 0.6  # gamma shape of wet-day amounts: skewed, many light days
    common = np.where(wet, rng.gamma(shape, wet_mean * rain_factor / shape), 0.0)
    sigma = 0.35  # local multiplicative noise, mean one
    local = np.exp(sigma * rng.standard_normal((N_DAYS, LAT.size, LON.size)) - sigma**2 / 2)
    local = np.minimum(local, 1.8)  # no cell gets more than 1.8 x the large-scale amount
    storm_local = np.exp(0.15 * rng.standard_normal(local.shape) - 0.15**2 / 2)
    # A storm day takes the larger of the storm and the ordinary rain rather than their sum:
    # summing let a typhoon land on a heavy Meiyu day and gave 400-700 mm/day cells, far above
    # Shanghai's daily records (domain.md 4.5: the 2024 record 6-h total was 328 mm).
    rain = np.maximum(common[:, None, None] * local, _storms(rng) * storm_local)
    rain[rain < 0.1] = 0.0
    wetness = np.minimum(rain.mean(axis=(1, 2)) / 10.0, 1.0)
    return rain * rain_change_factor(rain, delta_degc), wetness


def rain_change_factor(rain_mm: np.ndarray, delta_degc: float) -> np.ndarray:
    """Return the factor applied to daily rain amounts for a local warming ``delta_degc``.

    Parameters
    ----------
    rain_mm : numpy.ndarray
        Daily rain (mm/day), any shape.
    delta_degc : float
        Warming relative to 1995-2014 (degC).

    Returns
    -------
    numpy.ndarray
        Same shape; ``1.02 ** dT`` for drizzle rising to ``1.07 ** dT`` for heavy rain.

    Notes
    -----
    ``factor = 1.02 ** (dT (1 - w)) * 1.07 ** (dT w)`` with ``w = 1 - exp(-rain / 40 mm)``:
    heavy rain follows Clausius-Clapeyron, 7 %/K (domain.md 4.6); light rain and the mean
    follow about 2 %/K (AR6 WGI Ch. 8, global mean precipitation +1-3 % per degC).
    """
    weight = 1.0 - np.exp(-np.asarray(rain_mm) / HEAVY_RAIN_SCALE_MM)
    return MEAN_RAIN_SCALING ** (delta_degc * (1 - weight)) * CC_SCALING ** (delta_degc * weight)


def generate_year(
    model: str, experiment: str, year: int, *, seed: int = 20260101
) -> dict[str, np.ndarray]:
    """Draw one year of synthetic daily weather for every variable, in raw CMIP units.

    All variables come from the one stream of ``(seed, model, experiment, year)``, so any
    subset of variables, models, experiments or years gives the same values.

    Parameters
    ----------
    model, experiment : str
        E.g. ``"SYNTH-ESM-A"`` and ``"ssp585"``.
    year : int
        Calendar year; 365 days (noleap).
    seed : int
        Base seed of the sample.

    Returns
    -------
    dict of str to numpy.ndarray
        ``tasmax`` and ``tasmin`` in K and ``pr`` in kg m-2 s-1, float32, dims
        (time, lat, lon) on ``LAT`` and ``LON``.
    """
    rng = _rng(seed, model, experiment, year)
    _, bias_degc, rain_factor = _model_traits(model)
    delta = warming_degc(model, experiment, year)
    rain, wetness = _precipitation(rng, delta, rain_factor)
    tasmax, tasmin = _temperature(rng, wetness, bias_degc + delta)
    return {
        "tasmax": (tasmax + 273.15).astype(np.float32),
        "tasmin": (tasmin + 273.15).astype(np.float32),
        "pr": (rain / 86400.0).astype(np.float32),
    }


def _temperature(
    rng: np.random.Generator, wetness: np.ndarray, shift_degc: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return Tmax and Tmin (degC, dims time, lat, lon).

    Climatology + ``shift_degc`` (warming and model bias) + a common AR(1) anomaly with a
    bounded warm tail + a yearly anomaly - cooling on rainy days + the heat island + local
    noise. Tmin = Tmax - diurnal range; the range shrinks on rainy days and in the city
    (night-time heat island stronger, ``UHI_TMIN_DEGC``) and never falls below 0.5 degC.
    """
    urban = np.exp(-((_distance_km() / UHI_LENGTH_KM) ** 2))
    doy = np.arange(N_DAYS)
    spread = 3.0 + 0.4 * np.cos(2 * np.pi * (doy - 15) / N_DAYS)  # sd: 3.4 Jan, 2.6 Jul
    year_anomaly = 0.35 * rng.standard_normal()  # interannual sd of the annual mean
    anomaly = _ar1(rng, 0.7)
    anomaly = np.where(anomaly > 1.5, 1.5 + 0.6 * (anomaly - 1.5), anomaly)  # bounded heat
    monthly_wetness = np.bincount(_MONTH_OF_DAY, wetness) / _MONTH_DAYS
    wet_cooling = 2.5 * (wetness - monthly_wetness[_MONTH_OF_DAY])  # rainy days are cooler
    tmax_rural = _daily_cycle(TMAX_NORMALS_DEGC) - UHI_TMAX_DEGC + shift_degc
    tmax_day = tmax_rural + spread * anomaly + year_anomaly - wet_cooling
    local = 0.3 * rng.standard_normal((N_DAYS, LAT.size, LON.size))
    tasmax = tmax_day[:, None, None] + UHI_TMAX_DEGC * urban + local
    dtr_clim = _daily_cycle(tuple(np.subtract(TMAX_NORMALS_DEGC, TMIN_NORMALS_DEGC).tolist()))
    dtr_day = dtr_clim - 0.8 * wet_cooling + 0.8 * rng.standard_normal(N_DAYS)
    dtr = dtr_day[:, None, None] - (UHI_TMIN_DEGC - UHI_TMAX_DEGC) * urban
    dtr = np.maximum(dtr + 0.3 * rng.standard_normal(tasmax.shape), 0.5)
    return tasmax, tasmax - dtr
