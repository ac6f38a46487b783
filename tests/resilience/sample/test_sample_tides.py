"""Tests of the synthetic tide-gauge sample and the shipped sea-level tables."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resilience.coast.tide_io import (
    read_annual_maxima,
    read_sea_level_projections,
    read_tide_stations,
)
from resilience.sample.tides import (
    BASELINE_YEAR,
    SAMPLE_GAUGES,
    TREND_M_PER_YEAR,
    write_sample_tide_gauges,
)

DATA_DIR = Path(__file__).resolve().parents[3] / "resilience" / "data" / "sea_level"

# Recorded maxima quoted in domain.md 1.5, copied here by hand so the test does not trust the
# module's own table: (station, year) -> level in m, Wusong datum.
RECORDED = {
    ("huangpu_park", 1962): 4.76,
    ("huangpu_park", 1974): 4.98,
    ("huangpu_park", 1981): 5.22,
    ("huangpu_park", 1989): 5.04,
    ("huangpu_park", 1997): 5.72,
    ("huangpu_park", 2013): 5.17,
    ("huangpu_park", 2018): 4.98,
    ("wusongkou", 1997): 5.99,
}
WARNING_M = {"huangpu_park": 4.55, "wusongkou": 4.80}  # domain.md 1.5
DESIGN_1000YR_M = {"huangpu_park": 5.86, "wusongkou": 6.27}  # domain.md 2.1


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = write_sample_tide_gauges(tmp_path_factory.mktemp("tides"))
    return path, read_annual_maxima(path)


def test_sample_has_every_year_of_both_stations(sample: tuple[Path, pd.DataFrame]) -> None:
    path, frame = sample
    assert path.name == "tide_gauge_annual_maxima.csv"
    assert (path.parent / "shanghai_tide_stations.csv").read_bytes() == (
        DATA_DIR / "shanghai_tide_stations.csv"
    ).read_bytes()
    assert list(frame.columns) == ["station", "year", "annual_max_m", "datum", "synthetic", "note"]
    for station in ("huangpu_park", "wusongkou"):
        years = frame.loc[frame["station"] == station, "year"]
        assert list(years) == list(range(1950, 2024))
    assert set(frame["datum"]) == {"Wusong"}


def test_recorded_maxima_are_present_unaltered_and_flagged(
    sample: tuple[Path, pd.DataFrame],
) -> None:
    _, frame = sample
    real = frame[~frame["synthetic"]]
    found = {(r.station, r.year): r.annual_max_m for r in real.itertuples()}
    assert found == RECORDED  # exact: anchors are copied, never drawn or rounded
    assert real["note"].str.contains("domain.md 1.5").all()
    wusong_1997 = real.loc[real["station"] == "wusongkou", "note"].item()
    assert "UNCONFIRMED" in wusong_1997
    assert frame.loc[frame["synthetic"], "note"].str.startswith("synthetic:").all()


def test_recorded_maxima_are_the_largest_values(sample: tuple[Path, pd.DataFrame]) -> None:
    _, frame = sample
    for station, group in frame.groupby("station"):
        smallest_record = group.loc[~group["synthetic"], "annual_max_m"].min()
        assert group.loc[group["synthetic"], "annual_max_m"].max() < smallest_record, station
    # domain.md 1.5: 5.17 m (2013) was the highest of the 2010s at Huangpu Park.
    park = frame[frame["station"] == "huangpu_park"].set_index("year")["annual_max_m"]
    assert park.loc[2010:2019].idxmax() == 2013


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    first = write_sample_tide_gauges(tmp_path / "a").read_bytes()
    again = write_sample_tide_gauges(tmp_path / "b").read_bytes()
    other = write_sample_tide_gauges(tmp_path / "c", seed=7).read_bytes()
    assert first == again
    assert first != other


def test_year_range_is_honoured_and_checked(tmp_path: Path) -> None:
    frame = read_annual_maxima(write_sample_tide_gauges(tmp_path, first_year=1990, last_year=2000))
    assert frame["year"].min() == 1990 and frame["year"].max() == 2000
    assert len(frame) == 2 * 11
    assert set(frame.loc[~frame["synthetic"], "year"]) == {1997}
    with pytest.raises(ValueError, match="before first_year"):
        write_sample_tide_gauges(tmp_path, first_year=2000, last_year=1999)


def test_warning_level_is_reached_in_10_to_40_percent_of_years(
    sample: tuple[Path, pd.DataFrame],
) -> None:
    # Target 2 of the module: a recurring but not annual event.
    _, frame = sample
    for station, warning_m in WARNING_M.items():
        levels = frame.loc[frame["station"] == station, "annual_max_m"]
        fraction = float((levels >= warning_m).mean())
        assert 0.10 <= fraction <= 0.40, (station, fraction)


def test_design_level_is_about_a_1000_year_event_of_the_fitted_baseline(
    sample: tuple[Path, pd.DataFrame],
) -> None:
    from scipy.stats import gumbel_r

    _, frame = sample
    for station, design_m in DESIGN_1000YR_M.items():
        group = frame[frame["station"] == station]
        baseline = group["annual_max_m"] + TREND_M_PER_YEAR * (BASELINE_YEAR - group["year"])
        loc, scale = gumbel_r.fit(baseline.to_numpy())
        period = 1.0 / gumbel_r.sf(design_m, loc, scale)
        # Factor 3 (333-3000 yr): 74 annual maxima pin a 1000-yr level only to about
        # +-0.25 m, i.e. a factor of ~3 in return period for a Gumbel scale of 0.22-0.25 m.
        assert 1000 / 3 <= period <= 1000 * 3, (station, period)


def test_generator_puts_design_level_at_1000_years() -> None:
    from hazard_models.extremes.gev import return_level

    for model in SAMPLE_GAUGES:
        level = return_level(model.loc_m, model.scale_m, model.shape, 1000.0)
        assert float(level) == pytest.approx(DESIGN_1000YR_M[model.station], abs=1e-9)


def test_synthetic_years_carry_the_stated_trend(sample: tuple[Path, pd.DataFrame]) -> None:
    _, frame = sample
    synthetic = frame[frame["synthetic"]]
    slopes = [
        np.polyfit(group["year"], group["annual_max_m"], 1)[0]
        for _, group in synthetic.groupby("station")
    ]
    # 6 mm/yr in the location; a 74-yr OLS slope on Gumbel noise (sd ~0.28 m) has a standard
    # error ~1.5 mm/yr, and truncation below the records flattens it slightly: allow 1-11.
    assert TREND_M_PER_YEAR == pytest.approx(0.006)
    for slope in slopes:
        assert 0.001 <= slope <= 0.011


def test_gauges_are_correlated(sample: tuple[Path, pd.DataFrame]) -> None:
    _, frame = sample
    wide = frame.pivot(index="year", columns="station", values="annual_max_m")
    # Copula correlation 0.9 on normal scores; Pearson on levels over 74 years is noisier.
    assert wide["huangpu_park"].corr(wide["wusongkou"]) > 0.7


def test_stations_table_carries_the_domain_facts() -> None:
    stations = read_tide_stations().set_index("station")
    assert stations.loc["wusongkou", "station_code"] == "63401750"
    assert stations.loc["huangpu_park", "station_code"] == "63401500"
    assert stations.loc["mishidu", "station_code"] == "63401100"
    assert stations["warning_level_m"].to_dict() == {
        "wusongkou": 4.80,
        "huangpu_park": 4.55,
        "mishidu": 3.50,
    }
    assert stations.loc["huangpu_park", "design_level_1000yr_m"] == 5.86
    assert stations.loc["wusongkou", "design_level_1000yr_m"] == 6.27
    assert np.isnan(stations.loc["mishidu", "design_level_1000yr_m"])
    assert stations["notes"].str.contains("subsidence_mm_per_year UNCONFIRMED").all()
    assert set(stations["datum"]) == {"Wusong"}


def test_sea_level_table_anchors_and_flags() -> None:
    table = read_sea_level_projections().set_index(["scenario", "year", "quantile"])
    value = table["sea_level_rise_m"]
    confirmed = table["confirmed"]
    assert value[("ssp126", 2050, 0.5)] == 0.19 and confirmed[("ssp126", 2050, 0.5)]
    assert value[("ssp585", 2050, 0.83)] == 0.30 and confirmed[("ssp585", 2050, 0.83)]
    assert value[("ssp245", 2100, 0.17)] == 0.44 and confirmed[("ssp245", 2100, 0.17)]
    assert value[("ssp585", 2100, 0.83)] == 1.01 and confirmed[("ssp585", 2100, 0.83)]
    assert value[("ssp245", 2100, 0.5)] == 0.56 and not confirmed[("ssp245", 2100, 0.5)]
    assert not confirmed[("ssp245", 2050, 0.5)]
    interpolated = table.index.get_level_values("year").isin([2050, 2100])
    assert not confirmed[~interpolated].any()
    assert int(confirmed.sum()) == 12  # 6 rows at 2050 (ssp126, ssp585) + 6 likely bounds 2100
    assert len(table) == 3 * 9 * 3


def test_sea_level_table_rises_in_time_and_is_ordered_by_quantile() -> None:
    table = read_sea_level_projections()
    for (scenario, quantile), group in table.groupby(["scenario", "quantile"]):
        values = group.sort_values("year")["sea_level_rise_m"].to_numpy()
        assert (np.diff(values) > 0).all(), (scenario, quantile)
        assert 0.0 < values[0] < 0.1  # 2020: 15 years past the 2005 zero point
    for key, group in table.groupby(["scenario", "year"]):
        values = group.sort_values("quantile")["sea_level_rise_m"].to_numpy()
        assert (np.diff(values) > 0).all(), key


def test_shipped_tables_match_their_generator(tmp_path: Path) -> None:
    script = DATA_DIR / "make_sea_level_tables.py"
    spec = importlib.util.spec_from_file_location("make_sea_level_tables", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for written in module.write_tables(tmp_path):
        assert written.read_bytes() == (DATA_DIR / written.name).read_bytes(), written.name
    with (DATA_DIR / "ar6_gmsl_projections.csv").open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == [
            "scenario",
            "year",
            "quantile",
            "sea_level_rise_m",
            "confirmed",
            "source",
        ]
