"""A SYNTHETIC paired daily record of rain and high water for ``resilience compound``.

No daily Shanghai sea-level series is public (docs/surge.md section 7), so the sample ships
a synthetic one to exercise the compound analysis, on the real JTWC typhoon days of the
shipped best tracks (1990-2021, storm centre within 300 km; resilience/data/typhoon):

* rain (mm/day): wet with probability 0.35 (0.6 in June-July, the Meiyu), amounts gamma
  (shape 0.7, mean 12 mm); on a typhoon day gamma (shape 1.5, mean 45 mm) instead;
* high water (m, Wusong datum): 3.3 m + 0.45 m x the spring-neap cycle (14.77 days) +
  0.25 m x a seasonal term peaking in early September + N(0, 0.08 m); on a typhoon day a
  surge gamma (shape 2, mean 0.5 m) is added, and every day 0.004 m per mm of rain above
  20 mm (wind set-up of ordinary storms).

These are round, plausible numbers chosen for the demonstration, not a fit to any record:
every row says ``synthetic = yes`` and SAMPLE.json says so too (``resilience compound``
reads only the date, rain and water columns). Deterministic (seed 20260720).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from resilience.storage.atomic import write_text_atomic

__all__ = ["FIRST_YEAR", "LAST_YEAR", "write_sample_compound_pairs"]

FIRST_YEAR, LAST_YEAR = 1990, 2021  # the shipped JTWC tracks end in 2021
_SEED = 20260720


def synthetic_pairs(typhoon_dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Return the synthetic record: ``date``, ``rain_mm``, ``high_water_m``, ``typhoon_day``.

    Parameters
    ----------
    typhoon_dates : pandas.DatetimeIndex
        Local days with a typhoon near Shanghai.

    Returns
    -------
    pandas.DataFrame
        One row per day from 1 January :data:`FIRST_YEAR` to 31 December :data:`LAST_YEAR`.
    """
    rng = np.random.default_rng(_SEED)
    dates = pd.date_range(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31", freq="D")
    typhoon = dates.isin(typhoon_dates.normalize())
    wet_chance = np.where(dates.month.isin([6, 7]), 0.6, 0.35)
    wet = rng.random(dates.size) < wet_chance
    rain = np.where(wet, rng.gamma(0.7, 12.0 / 0.7, dates.size), 0.0)
    rain = np.where(typhoon, rng.gamma(1.5, 45.0 / 1.5, dates.size), rain)
    days = (dates - dates[0]).days.to_numpy(dtype=float)
    spring_neap = np.cos(2 * np.pi * days / 14.765)
    seasonal = np.cos(2 * np.pi * (dates.day_of_year.to_numpy() - 245) / 365.25)
    water = 3.3 + 0.45 * spring_neap + 0.25 * seasonal + rng.normal(0.0, 0.08, dates.size)
    water += np.where(typhoon, rng.gamma(2.0, 0.25, dates.size), 0.0)
    water += 0.004 * np.maximum(rain - 20.0, 0.0)
    return pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "rain_mm": np.round(rain, 1),
            "high_water_m": np.round(water, 2),
            "typhoon_day": typhoon,
            "synthetic": "yes",
        }
    )


def write_sample_compound_pairs(folder: Path) -> Path:
    """Write ``folder/daily_rain_high_water.csv`` (synthetic, see the module) and return it."""
    from hazard_models.coast.compound import typhoon_days
    from resilience.geodata.geography import data_path

    # the shipped JTWC tracks (resilience/data/typhoon/PROVENANCE.md), read as
    # resilience.coast.typhoon_io reads them (the sample may not import resilience.coast)
    tracks = pd.read_csv(
        data_path("typhoon", "jtwc_wp_tracks_within300km_shanghai_1945-2021.csv"),
        dtype={"jtwc_sn": str, "storm_name": str},
    )
    days = pd.DatetimeIndex(pd.to_datetime(typhoon_days(tracks, radius_km=300.0)["date"]))
    path = Path(folder) / "daily_rain_high_water.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, synthetic_pairs(days).to_csv(index=False))
    return path
