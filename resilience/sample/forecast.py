"""Write the SYNTHETIC 72-hour ensemble forecast that drives the warnings demo and tests.

The story (also written into the file's attributes and ``docs/warnings.md``): a typhoon
remnant with heavy rain on a spring tide, then a heat wave. In Beijing time from the issue
time 2026-07-20 08:00:

* **Day 1 (20 July), typhoon remnant.** Rain from noon, a convective burst peaking near 20:00
  over Pudong/Fengxian (1-h peaks 40-70 mm depending on the member, 6-h totals around
  100-150 mm) drifting north-west; winds Beaufort 6 (gusts 8) on the coast. The burst
  coincides with a spring high tide: the semi-diurnal (M2, 12.42 h) tide plus a surge puts
  Huangpu Park near 4.95 m (Wusong datum) at about 20:00.
* **Day 2 (21 July) morning**, a weaker band over Baoshan; the rain ends by 10:00 and it turns
  hot: about 36 degC in the urban centre (an urban heat island bump centred on People's
  Square), 34 degC in the suburbs.
* **Day 3 (22 July), heat wave.** About 38 degC in the centre and 36 degC in the suburbs, so
  the Shanghai high-temperature orange signal (> 37 degC) is reached in the centre, yellow
  (> 35 degC) elsewhere.
* The forecast ends at 08:00 on 23 July, before that day's heat.

Members differ by a scale factor on the rain burst, the surge and the wind and by a shift of
the rain core and the heat-island peak, so that some thresholds are reached by only some
members. Everything is deterministic for a given ``seed``. None of this is observed data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from resilience.storage.atomic import atomic_path

__all__ = ["SAMPLE_LAT", "SAMPLE_LON", "STATIONS", "write_sample_forecast"]

#: Sample grid (0.1 degree, 14 x 14 cell centres), shared with the sample projections.
SAMPLE_LON: np.ndarray = np.round(np.arange(14) * 0.1 + 120.8, 1)
SAMPLE_LAT: np.ndarray = np.round(np.arange(14) * 0.1 + 30.6, 1)

#: Tide stations: id -> (name, lat, lon). Positions approximate (river mouth / Bund).
STATIONS: dict[str, tuple[str, float, float]] = {
    "wusongkou": ("吴淞口 Wusongkou", 31.39, 121.50),
    "huangpu_park": ("黄浦公园 Huangpu Park", 31.245, 121.49),
}

_HOURS = 72
_CENTRE = (121.47, 31.23)  # People's Square, centre of the heat island
_RAIN_PEAK_H = 12.0  # hours after issue: 20:00 Beijing on day 1
_BAND_H = 21.0  # the Baoshan band: 05:00 on day 2
_STORY = (
    "SYNTHETIC. Day 1 typhoon remnant heavy rain (1-h peaks 40-70 mm, 6-h totals ~100-150 mm "
    "over Pudong/Fengxian near 20:00) on a spring high tide (Huangpu Park ~4.95 m Wusong datum "
    "near 20:00, M2 tide 12.42 h); rain ends on the morning of day 2; then a heat wave (urban "
    "centre Tmax ~36 degC on day 2, ~38 degC on day 3; suburbs ~34 and ~36). Members differ "
    "so that some thresholds are reached by only some members."
)


def _gauss(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - centre) / width) ** 2)


def _temperature(hours: np.ndarray, local_hour: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Return tas (member, time, lat, lon) in degC: daily cycle between Tmin and Tmax by day."""
    lat, lon = np.meshgrid(SAMPLE_LAT, SAMPLE_LON, indexing="ij")
    day = ((hours + 8) // 24).astype(int)  # issue is 08:00, so day 0 ends at hour 16
    tmax_rural = np.array([29.5, 33.8, 36.2, 35.0])[day]
    tmax_urban = np.array([0.5, 2.0, 2.1, 1.5])[day]
    tmin = np.array([26.0, 25.5, 27.5, 28.0])[day]
    cycle = 0.5 * (1 + np.cos(2 * np.pi * (local_hour - 14) / 24))  # 1 at 14:00
    out = []
    for dlon, dlat, offset in shift:
        uhi = np.exp(-((lon - _CENTRE[0] - dlon) ** 2 + (lat - _CENTRE[1] - dlat) ** 2) / 0.029)
        tmax = tmax_rural[:, None, None] + tmax_urban[:, None, None] * uhi + offset
        tlow = tmin[:, None, None] + 1.5 * uhi
        out.append(tlow + (tmax - tlow) * cycle[:, None, None])
    return np.stack(out)


def _rain(hours: np.ndarray, factor: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Return pr (member, time, lat, lon) in mm/h: background band, burst and a second band."""
    lat, lon = np.meshgrid(SAMPLE_LAT, SAMPLE_LON, indexing="ij")
    t = hours[:, None, None]
    ramp = np.clip((t - 4) / 4, 0, 1) * np.clip((26 - t) / 4, 0, 1)  # 12:00 d1 .. 10:00 d2
    broad = 0.6 + 0.4 * np.exp(-((lon - 121.7) ** 2 + (lat - 31.0) ** 2) / (2 * 0.4**2))
    out = []
    for f, (dlon, dlat, _) in zip(factor, shift, strict=True):
        cx = 121.72 + dlon - 0.03 * (t - _RAIN_PEAK_H)  # the core drifts north-west
        cy = 30.95 + dlat + 0.02 * (t - _RAIN_PEAK_H)
        core = np.exp(-((lon - cx) ** 2 + (lat - cy) ** 2) / (2 * 0.1**2))
        burst = 58.0 * f * _gauss(t, _RAIN_PEAK_H, 0.6) * core
        band = 30.0 * f * _gauss(t, _BAND_H, 1.0)
        band = band * np.exp(-((lon - 121.45) ** 2 + (lat - 31.42) ** 2) / (2 * 0.12**2))
        out.append(4.0 * ramp * broad + burst + band)
    return np.stack(out)


def _wind(hours: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (sfcWind, wind_gust) (member, time, lat, lon) in m/s; stronger to the east."""
    coast = 0.7 + 0.3 * (SAMPLE_LON - SAMPLE_LON[0]) / (SAMPLE_LON[-1] - SAMPLE_LON[0])
    shape = _gauss(hours, _RAIN_PEAK_H, 8.0)[:, None, None] * coast[None, None, :]
    mean = np.stack([3.0 + 9.0 * (0.85 + 0.3 * (f - 0.75) / 0.5) * shape for f in factor])
    mean = np.broadcast_to(mean, (len(factor), len(hours), SAMPLE_LAT.size, SAMPLE_LON.size))
    return mean, 1.5 * mean + 1.0  # gust factor 1.5 (synthetic choice)


def _water_level(hours: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Return water_level (member, time, station) in m Wusong datum: M2 tide plus surge."""
    surge_shape = _gauss(hours, _RAIN_PEAK_H, 7.0)
    m2 = 12.42  # principal lunar semi-diurnal period, h
    levels = []
    for f in factor:
        surge = 0.7 * f * surge_shape
        wusong = 2.5 + 1.95 * np.cos(2 * np.pi * (hours - _RAIN_PEAK_H + 0.8) / m2) + surge
        huangpu = 2.85 + 1.40 * np.cos(2 * np.pi * (hours - _RAIN_PEAK_H) / m2) + surge
        levels.append(np.stack([wusong, huangpu], axis=-1))
    return np.stack(levels)


def _attrs(units: str, long_name: str, **extra: str) -> dict[str, str]:
    return {"units": units, "long_name": long_name, **extra}


def _build(issued: pd.Timestamp, members: int, seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    hours = np.arange(1, _HOURS + 1, dtype=float)  # period-ending hours after issue
    local_hour = (issued.hour + hours) % 24
    factor = rng.permutation(np.linspace(0.75, 1.25, members)) if members > 1 else np.ones(1)
    shift = np.column_stack(
        [rng.uniform(-0.05, 0.05, members), rng.uniform(-0.05, 0.05, members)]
        + [rng.uniform(-0.7, 0.7, members)]
    )
    tas = _temperature(hours, local_hour, shift)
    tas = tas + rng.normal(0.0, 0.1, tas.shape)
    sfc_wind, gust = _wind(hours, factor)
    end_utc = issued.tz_convert("UTC").tz_localize(None) + pd.to_timedelta(hours, unit="h")
    grid = ("member", "time", "lat", "lon")
    ds = xr.Dataset(
        {
            "tas": (grid, tas.astype("float32"), _attrs("degC", "near-surface air temperature")),
            "pr": (
                grid,
                _rain(hours, factor, shift).astype("float32"),
                _attrs("mm/h", "hourly precipitation accumulation", cell_methods="time: sum"),
            ),
            "sfcWind": (grid, sfc_wind.astype("float32"), _attrs("m/s", "10-m mean wind speed")),
            "wind_gust": (grid, gust.astype("float32"), _attrs("m/s", "10-m wind gust")),
            "water_level": (
                ("member", "time", "station"),
                _water_level(hours, factor).astype("float32"),
                _attrs("m", "still water level", datum="Wusong (吴淞基面)"),
            ),
            "tropical_cyclone_influence": (
                ("time",),
                ((hours >= 2) & (hours <= 30)).astype("int8"),
                {
                    "long_name": "tropical cyclone (remnant) influences Shanghai",
                    "units": "1",
                    "flag_values": np.array([0, 1], dtype="int8"),
                    "flag_meanings": "no yes",
                },
            ),
            "time_bounds": (
                ("time", "bounds"),
                np.stack([end_utc - pd.Timedelta("1h"), end_utc], 1),
            ),
        },
        coords={
            "member": (
                "member",
                np.arange(members, dtype="int32"),
                {"long_name": "ensemble member"},
            ),
            "time": (
                "time",
                end_utc,
                {"long_name": "end of the hour (UTC)", "bounds": "time_bounds"},
            ),
            "lat": ("lat", SAMPLE_LAT, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", SAMPLE_LON, {"units": "degrees_east", "standard_name": "longitude"}),
            "station": ("station", list(STATIONS)),
            "station_name": ("station", [v[0] for v in STATIONS.values()]),
            "station_lat": (
                "station",
                [v[1] for v in STATIONS.values()],
                {"units": "degrees_north"},
            ),
            "station_lon": (
                "station",
                [v[2] for v in STATIONS.values()],
                {"units": "degrees_east"},
            ),
            "datum": ("station", ["Wusong"] * len(STATIONS)),
        },
    )
    ds.attrs = {
        "Conventions": "CF-1.8",
        "title": "Sample 72-h ensemble forecast for Shanghai (SYNTHETIC)",
        "synthetic": "yes",
        "product": "forecast",
        "issued": issued.isoformat(),
        "story": _STORY,
        "source": f"resilience.sample.forecast.write_sample_forecast(seed={seed})",
        "comment": "time labels the END of each hour in UTC; Beijing time = UTC+08:00",
        "history": "written by resilience.sample.forecast.write_sample_forecast",
    }
    return ds


def write_sample_forecast(
    out_dir: Path,
    *,
    issued: str = "2026-07-20T08:00:00+08:00",
    members: int = 5,
    seed: int = 20260103,
) -> Path:
    """Write the SYNTHETIC 72-h ensemble forecast ``forecast_72h.nc`` and return its path.

    Parameters
    ----------
    out_dir : Path
        Directory to write into (created if missing).
    issued : str
        Issue time, ISO 8601 with offset; the forecast covers the 72 hours after it.
    members : int
        Number of ensemble members (>= 1).
    seed : int
        Seed of the member perturbations; the same seed gives the same file content.

    Returns
    -------
    Path
        ``out_dir / "forecast_72h.nc"``: ``tas`` (member, time, lat, lon) degC, ``pr``
        (member, time, lat, lon) mm/h hourly accumulation, ``sfcWind`` and ``wind_gust`` m/s,
        ``water_level`` (member, time, station) m Wusong datum, and the flag
        ``tropical_cyclone_influence`` (time). ``time`` is the end of each hour in UTC.

    Raises
    ------
    ValueError
        If ``issued`` has no UTC offset or ``members`` < 1.
    """
    stamp = pd.Timestamp(issued)
    if stamp.tzinfo is None:
        raise ValueError(f"issued: expected an ISO time with a UTC offset, found {issued!r}")
    if members < 1:
        raise ValueError(f"members: expected >= 1, found {members}")
    ds = _build(stamp, members, seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "forecast_72h.nc"
    encoding = {"time": {"units": "hours since 1970-01-01 00:00:00", "calendar": "standard"}}
    with atomic_path(target) as temporary:
        ds.to_netcdf(temporary, engine="netcdf4", encoding=encoding)
    return target
