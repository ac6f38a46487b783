"""Write the sample tide-gauge record: annual maximum water levels at two Shanghai gauges.

Shanghai has no public tide-gauge series, so the sample is SYNTHETIC except for the recorded
maxima quoted in the domain brief (``docs/domain.md`` sections 1.5 and 2.1),
which are inserted unaltered at their years with ``synthetic=False``. Every other year is a
seeded draw from a GEV whose parameters are chosen against the targets below; all levels are
metres on the Wusong datum. ``docs/sea_level.md`` explains the choices and the measured
results.

Targets (pinned by ``tests/resilience/sample/test_sample_tides.py``)
--------------------------------------------------------------
1. The GEV of the baseline year (2005) puts each station's 1000-year design level of the 1984
   standard (Huangpu Park 5.86 m, Wusongkou 6.27 m; domain.md 2.1) at its 1000-year return
   level. A GEV refitted to the detrended sample gives the design level a return period
   within a factor of 3 of 1000 years.
2. The station's warning level (4.55 m, 4.80 m; domain.md 1.5) is reached in 10-40 % of
   years: a recurring, not an annual, event (an assumption; no frequency was found).
3. The recorded maxima are the largest values of their station's series: every synthetic
   year stays below the smallest recorded value of that station (draws above it are redrawn).
4. Relative sea level rises 6 mm/yr in the location parameter: 3 mm/yr of sea-level rise
   (China-seas gauges 1980-2016, 2.9 +- 0.8 mm/yr; Qu et al. 2019 via domain.md 4.2) plus the
   3 mm/yr subsidence placeholder of the stations table (UNCONFIRMED; domain.md 4.3).
5. The two gauges see the same storms 15 km apart: their synthetic years are linked by a
   Gaussian copula with correlation 0.9 (an assumption), conditioned on the Huangpu Park
   record in the years it is known.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

from hazard_models.extremes.gev import gev_cdf, return_level
from resilience.storage.atomic import write_bytes_atomic

__all__ = [
    "ANNUAL_MAXIMA_FILE",
    "BASELINE_YEAR",
    "GAUGE_COPULA_CORRELATION",
    "SAMPLE_GAUGES",
    "TREND_M_PER_YEAR",
    "GaugeModel",
    "RecordedMaximum",
    "write_sample_tide_gauges",
]

ANNUAL_MAXIMA_FILE = "tide_gauge_annual_maxima.csv"
STATIONS_FILE = "shanghai_tide_stations.csv"
DATUM = "Wusong"
#: Year at which the GEV location parameter holds its stated value (centre of 1995-2014).
BASELINE_YEAR = 2005
#: Relative sea-level trend of the location parameter, m/yr (target 4 in the module doc).
TREND_M_PER_YEAR = 0.003 + 0.003
#: Correlation of the normal scores of the two gauges' synthetic years (target 5).
GAUGE_COPULA_CORRELATION = 0.9
_MAX_REDRAWS = 10_000
_STANDARD_NORMAL = NormalDist()

_CRI_2018 = (
    "http://big5.cri.cn/gate/big5/sh.cri.cn/20180813/40306326-c596-5d6b-830c-a88d63fcf7e3.html"
)
_SOOLUN = "https://soolun.net/periodical/58a467f3054086653c10247244f58f18.html"
_HUANQIU = "https://3w.huanqiu.com/a/0c789f/3z465CfbZXS?agt=8"
_AUTHOREA = "https://flamechallenge.authorea.com/users/528577/articles/602235/download_zip"


@dataclass(frozen=True)
class RecordedMaximum:
    """A recorded annual maximum water level quoted by a public source.

    Parameters
    ----------
    year : int
        Calendar year of the event.
    level_m : float
        Peak water level, m above the Wusong datum.
    note : str
        What was recorded and where it is quoted (address), with any UNCONFIRMED part named.
    """

    year: int
    level_m: float
    note: str


@dataclass(frozen=True)
class GaugeModel:
    """GEV of one gauge's annual maxima at :data:`BASELINE_YEAR`, and its recorded maxima.

    Parameters
    ----------
    station : str
        Station id of the stations table.
    loc_m, scale_m : float
        GEV location and scale at the baseline year, m (Wusong datum).
    shape : float
        GEV shape xi (climate convention, ``hazard_models.extremes``), dimensionless.
    records : tuple of RecordedMaximum
        Real maxima inserted unaltered.
    """

    station: str
    loc_m: float
    scale_m: float
    shape: float
    records: tuple[RecordedMaximum, ...]


def _gumbel_loc_for(design_level_m: float, scale_m: float, return_period: float) -> float:
    """Return the Gumbel location that puts ``design_level_m`` at ``return_period`` years.

    Inverts z_T = mu - sigma log(-log(1 - 1/T)) (Coles 2001, eq. 3.4 with xi = 0).
    """
    return design_level_m + scale_m * math.log(-math.log1p(-1.0 / return_period))


# Scale 0.22 m / 0.25 m: assumed spreads that put the warning level near a 3-year event at
# the baseline year (target 2); the location then follows from target 1 (design levels from
# domain.md 2.1). Huangpu Park goes first: Wusongkou's years are drawn conditional on it.
SAMPLE_GAUGES: tuple[GaugeModel, ...] = (
    GaugeModel(
        station="huangpu_park",
        loc_m=_gumbel_loc_for(5.86, 0.22, 1000.0),
        scale_m=0.22,
        shape=0.0,
        records=(
            RecordedMaximum(1962, 4.76, f"recorded 1962 maximum (domain.md 1.5; {_SOOLUN})"),
            RecordedMaximum(1974, 4.98, f"recorded 1974 maximum (domain.md 1.5; {_SOOLUN})"),
            RecordedMaximum(1981, 5.22, f"recorded 1981-09-01 (domain.md 1.5; {_SOOLUN})"),
            RecordedMaximum(1989, 5.04, f"recorded 1989-08-04 (domain.md 1.5; {_SOOLUN})"),
            RecordedMaximum(
                1997,
                5.72,
                "recorded 1997 Bund record, Typhoon Winnie; source's date 1997-08-31 "
                f"UNCONFIRMED (domain.md 1.5; {_HUANQIU})",
            ),
            RecordedMaximum(
                2013, 5.17, f"recorded 2013-10-08 Fitow, 2010s high (domain.md 1.5; {_HUANQIU})"
            ),
            RecordedMaximum(2018, 4.98, f"recorded 2018-08-13 Yagi (domain.md 1.5; {_CRI_2018})"),
        ),
    ),
    GaugeModel(
        station="wusongkou",
        loc_m=_gumbel_loc_for(6.27, 0.25, 1000.0),
        scale_m=0.25,
        shape=0.0,
        records=(
            RecordedMaximum(
                1997,
                5.99,
                "recorded 1997 Typhoon Winnie storm tide, Shanghai's highest; station not "
                f"named in source, Wusongkou UNCONFIRMED (domain.md 1.5; {_AUTHOREA})",
            ),
        ),
    ),
)


def _location(model: GaugeModel, year: int) -> float:
    """Return the GEV location in ``year``: baseline value plus the linear trend, m."""
    return model.loc_m + TREND_M_PER_YEAR * (year - BASELINE_YEAR)


def _level_from_score(model: GaugeModel, year: int, score: float) -> float:
    """Map a standard-normal score to a GEV quantile of ``year``, m (probability transform)."""
    probability = _STANDARD_NORMAL.cdf(score)
    period = 1.0 / max(1.0 - probability, 1e-15)
    if period <= 1.0:  # score so low its probability rounds to 0: use a tiny probability
        period = 1.0 + 1e-12
    return float(return_level(_location(model, year), model.scale_m, model.shape, period))


def _score_of_level(model: GaugeModel, year: int, level_m: float) -> float:
    """Return the standard-normal score of a level under the GEV of ``year``."""
    probability = float(gev_cdf(level_m, _location(model, year), model.scale_m, model.shape))
    return _STANDARD_NORMAL.inv_cdf(min(max(probability, 1e-12), 1.0 - 1e-12))


def _draw_year(
    model: GaugeModel, year: int, rng: np.random.Generator, *, leader_score: float | None
) -> tuple[float, float]:
    """Draw one synthetic annual maximum below the station's smallest record.

    Returns the level rounded to 0.01 m (gauge resolution) and its normal score.
    """
    ceiling_m = min((r.level_m for r in model.records), default=math.inf)
    rho = GAUGE_COPULA_CORRELATION
    for _ in range(_MAX_REDRAWS):
        noise = float(rng.standard_normal())
        score = (
            noise if leader_score is None else rho * leader_score + math.sqrt(1 - rho**2) * noise
        )
        level_m = round(_level_from_score(model, year, score), 2)
        if level_m < ceiling_m:
            return level_m, score
    raise RuntimeError(f"{model.station} {year}: no draw below {ceiling_m} m")


def _synthetic_note(model: GaugeModel, seed: int) -> str:
    return (
        f"synthetic: GEV draw, loc {model.loc_m:.3f} m at {BASELINE_YEAR} + "
        f"{TREND_M_PER_YEAR * 1000:.0f} mm/yr, scale {model.scale_m} m, shape {model.shape}, "
        f"seed {seed}; not an observation"
    )


def _series_rows(first_year: int, last_year: int, seed: int) -> list[dict[str, object]]:
    """Build every station-year row; the first gauge leads the copula."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for year in range(first_year, last_year + 1):
        leader_score: float | None = None
        for index, model in enumerate(SAMPLE_GAUGES):
            record = next((r for r in model.records if r.year == year), None)
            if record is not None:
                level_m, note, synthetic = record.level_m, record.note, False
                score = _score_of_level(model, year, level_m)
            else:
                level_m, score = _draw_year(model, year, rng, leader_score=leader_score)
                note, synthetic = _synthetic_note(model, seed), True
            if index == 0:
                leader_score = score
            rows.append(
                {
                    "station": model.station,
                    "year": year,
                    "annual_max_m": f"{level_m:.2f}",
                    "datum": DATUM,
                    "synthetic": synthetic,
                    "note": note,
                }
            )
    rows.sort(key=lambda r: (str(r["station"]), int(str(r["year"]))))
    return rows


def _write_atomic(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)


def write_sample_tide_gauges(
    out_dir: Path, *, first_year: int = 1950, last_year: int = 2023, seed: int = 20260102
) -> Path:
    """Write the sample annual-maximum tide-gauge record and the stations table beside it.

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory to write into (created if missing).
    first_year, last_year : int
        Inclusive calendar years of the record.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same bytes.

    Returns
    -------
    pathlib.Path
        ``out_dir / "tide_gauge_annual_maxima.csv"``, with columns ``station``, ``year``,
        ``annual_max_m`` (m, Wusong datum), ``datum``, ``synthetic`` (bool) and ``note``,
        one row per station and year, sorted by station then year. The shipped
        ``shanghai_tide_stations.csv`` is copied next to it.

    Raises
    ------
    ValueError
        If ``last_year`` is before ``first_year``.

    Notes
    -----
    Synthetic years draw a normal score z (for Wusongkou, z = 0.9 z_HP + sqrt(1 - 0.81) e,
    with z_HP Huangpu Park's score that year) and map it to the level with the GEV quantile
    function of that year (Coles 2001, eq. 3.4), see the module docstring for the targets.
    """
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = _series_rows(first_year, last_year, seed)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = out_dir / ANNUAL_MAXIMA_FILE
    _write_atomic(path, buffer.getvalue().encode("utf-8"))
    shipped = importlib.resources.files("resilience") / "data" / "sea_level" / STATIONS_FILE
    _write_atomic(out_dir / STATIONS_FILE, shipped.read_bytes())
    return path
