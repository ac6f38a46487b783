"""Regenerate the two shipped sea-level tables from the facts written out below.

Run from the repository root::

    .venv/bin/python resilience/data/sea_level/make_sea_level_tables.py

It rewrites ``shanghai_tide_stations.csv`` and ``ar6_gmsl_projections.csv`` next to this
file (atomically). The tables are never edited by hand: change a fact here and rerun. Every
number cites its source; see ``PROVENANCE.md`` in this folder and ``docs/sea_level.md``.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIONS_FILE = "shanghai_tide_stations.csv"
PROJECTIONS_FILE = "ar6_gmsl_projections.csv"

# Domain brief (docs/domain.md) section references, as written into `source`.
_AR6_2050 = (
    "IPCC AR6 WGI Ch. 9 GMSL 2050 vs 1995-2014 (domain.md 4.2; https://dev-climatekg."
    "semanticclimate.org/w/index.php?action=edit&section=96&title=IPCC%3AAR6%2FWGI%2FChapter-9)"
)
_AR6_2100 = "IPCC AR6 WGI SPM B.5.3 GMSL 2100 likely range (domain.md 4.2; gh-file id 56467896319)"
_UNCONFIRMED_2100_MEDIAN = (
    "AR6 Table 9.9 GMSL 2100 median as recalled in domain.md 4.2 (UNCONFIRMED)"
)
_UNCONFIRMED_245_2050 = (
    "SSP2-4.5 2050 GMSL: median ~0.20 m from domain.md 4.2 (UNCONFIRMED); likely range "
    "derived by keeping the SSP1-2.6 offsets -0.03/+0.06 m around it (derived, UNCONFIRMED)"
)
_INTERPOLATED = (
    "interpolated: quadratic in time through 0 m at 2005 (centre of the 1995-2014 baseline) "
    "and this scenario/quantile's 2050 and 2100 values"
)

#: (scenario, year, quantile) -> (sea_level_rise_m, confirmed, source), the anchor values.
ANCHORS: dict[tuple[str, int, float], tuple[float, bool, str]] = {
    ("ssp126", 2050, 0.17): (0.16, True, _AR6_2050),
    ("ssp126", 2050, 0.5): (0.19, True, _AR6_2050),
    ("ssp126", 2050, 0.83): (0.25, True, _AR6_2050),
    ("ssp245", 2050, 0.17): (0.17, False, _UNCONFIRMED_245_2050),
    ("ssp245", 2050, 0.5): (0.20, False, _UNCONFIRMED_245_2050),
    ("ssp245", 2050, 0.83): (0.26, False, _UNCONFIRMED_245_2050),
    ("ssp585", 2050, 0.17): (0.20, True, _AR6_2050),
    ("ssp585", 2050, 0.5): (0.23, True, _AR6_2050),
    ("ssp585", 2050, 0.83): (0.30, True, _AR6_2050),
    ("ssp126", 2100, 0.17): (0.32, True, _AR6_2100),
    ("ssp126", 2100, 0.5): (0.44, False, _UNCONFIRMED_2100_MEDIAN),
    ("ssp126", 2100, 0.83): (0.62, True, _AR6_2100),
    ("ssp245", 2100, 0.17): (0.44, True, _AR6_2100),
    ("ssp245", 2100, 0.5): (0.56, False, _UNCONFIRMED_2100_MEDIAN),
    ("ssp245", 2100, 0.83): (0.76, True, _AR6_2100),
    ("ssp585", 2100, 0.17): (0.63, True, _AR6_2100),
    ("ssp585", 2100, 0.5): (0.77, False, _UNCONFIRMED_2100_MEDIAN),
    ("ssp585", 2100, 0.83): (1.01, True, _AR6_2100),
}
SCENARIOS = ("ssp126", "ssp245", "ssp585")
YEARS = tuple(range(2020, 2101, 10))
QUANTILES = (0.17, 0.5, 0.83)
BASELINE_CENTRE_YEAR = 2005  # centre of AR6's 1995-2014 baseline (2004.5, rounded as briefed)

_SUBSIDENCE_NOTE = (
    "subsidence_mm_per_year UNCONFIRMED: 3 mm/yr placeholder, between the 2013-2020 "
    "'micro-subsidence' stage and the commonly quoted <=5 mm/yr city average (1966-2000 mean "
    "~6 mm/yr; domain.md 4.3); set 5 for a precautionary check"
)
_POSITION_NOTE = "lat/lon approximate (public maps, +-2 km), not a surveyed gauge position"

#: One dict per station; columns in the order of the shipped CSV.
STATIONS: tuple[dict[str, object], ...] = (
    {
        "station": "wusongkou",
        "station_name": "Wusongkou",
        "station_name_zh": "吴淞口",
        "station_code": "63401750",
        "lat": 31.39,
        "lon": 121.51,
        "datum": "Wusong",
        "warning_level_m": 4.80,
        "design_level_1000yr_m": 6.27,
        "subsidence_mm_per_year": 3.0,
        "notes": "; ".join(
            (
                "code: gh-file id 56108945747; warning 4.80 m: domain.md 1.5",
                "1000-yr design level 6.27 m: 1984 standard, domain.md 2.1",
                _POSITION_NOTE,
                _SUBSIDENCE_NOTE,
            )
        ),
    },
    {
        "station": "huangpu_park",
        "station_name": "Huangpu Park (Suzhou Creek mouth)",
        "station_name_zh": "黄浦公园",
        "station_code": "63401500",
        "lat": 31.243,
        "lon": 121.490,
        "datum": "Wusong",
        "warning_level_m": 4.55,
        "design_level_1000yr_m": 5.86,
        "subsidence_mm_per_year": 3.0,
        "notes": "; ".join(
            (
                "code: gh-file id 56108945747; warning 4.55 m (4.40 m before): domain.md 1.5",
                "1000-yr design level 5.86 m: 1984 standard, domain.md 2.1",
                _POSITION_NOTE,
                _SUBSIDENCE_NOTE,
            )
        ),
    },
    {
        "station": "mishidu",
        "station_name": "Mishidu (upper Huangpu)",
        "station_name_zh": "米市渡",
        "station_code": "63401100",
        "lat": 30.96,
        "lon": 121.23,
        "datum": "Wusong",
        "warning_level_m": 3.50,
        "design_level_1000yr_m": float("nan"),
        "subsidence_mm_per_year": 3.0,
        "notes": "; ".join(
            (
                "code: gh-file id 56108945747; warning 3.50 m: domain.md 1.5",
                "design level unknown (upstream reach uses 100-yr/50-yr levels, domain.md 2.1)",
                "lat/lon approximate (public maps, +-5 km), not a surveyed gauge position",
                _SUBSIDENCE_NOTE,
            )
        ),
    },
)


def projection_rows() -> list[dict[str, object]]:
    """Return the rows of the GMSL table: anchors plus quadratic interpolation in time.

    The quadratic s(t) = a (t - t0) + b (t - t0)^2 passes through 0 m at t0 = 2005 and the
    2050 and 2100 anchors of the same scenario and quantile. It is checked to rise
    monotonically over 2005-2100 and to keep the quantiles ordered in every year.
    """
    rows: list[dict[str, object]] = []
    for scenario in SCENARIOS:
        for quantile in QUANTILES:
            v50 = ANCHORS[(scenario, 2050, quantile)][0]
            v100 = ANCHORS[(scenario, 2100, quantile)][0]
            d50, d100 = 2050 - BASELINE_CENTRE_YEAR, 2100 - BASELINE_CENTRE_YEAR
            b = (v100 / d100 - v50 / d50) / (d100 - d50)
            a = v50 / d50 - b * d50
            if a <= 0 or a + 2 * b * d100 <= 0:
                raise ValueError(f"{scenario} q{quantile}: interpolation is not monotone")
            for year in YEARS:
                anchor = ANCHORS.get((scenario, year, quantile))
                if anchor is None:
                    dt = year - BASELINE_CENTRE_YEAR
                    value, confirmed, source = a * dt + b * dt * dt, False, _INTERPOLATED
                else:
                    value, confirmed, source = anchor
                rows.append(
                    {
                        "scenario": scenario,
                        "year": year,
                        "quantile": quantile,
                        "sea_level_rise_m": f"{value:.3f}",
                        "confirmed": confirmed,
                        "source": source,
                    }
                )
    rows.sort(key=lambda r: (r["scenario"], r["year"], r["quantile"]))
    _check_quantile_order(rows)
    return rows


def _check_quantile_order(rows: list[dict[str, object]]) -> None:
    """Raise if a higher quantile has a lower value than a lower one in the same year."""
    by_key: dict[tuple[object, object], list[float]] = {}
    for row in rows:
        by_key.setdefault((row["scenario"], row["year"]), []).append(
            float(str(row["sea_level_rise_m"]))
        )
    for key, values in by_key.items():
        if values != sorted(values):
            raise ValueError(f"{key}: quantiles out of order {values}")


def _csv_text(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v != v else v) for k, v in row.items()})  # NaN -> empty
    return buffer.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tables(out_dir: Path = HERE) -> tuple[Path, Path]:
    """Write the stations table and the GMSL table into ``out_dir``; return both paths."""
    stations = out_dir / STATIONS_FILE
    projections = out_dir / PROJECTIONS_FILE
    _write_atomic(stations, _csv_text([dict(s) for s in STATIONS]))
    _write_atomic(projections, _csv_text(projection_rows()))
    return stations, projections


if __name__ == "__main__":
    for written in write_tables(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written)
