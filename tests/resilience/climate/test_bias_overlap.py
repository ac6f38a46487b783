"""QDM trained on an observed record that overlaps the model runs across 2014 (ERA5-Land-like).

The record covers 2010-2017; the models' historical run ends in 2014 and each scenario
continues from 2015, so training splices historical 2010-2014 with the scenario's 2015-2017.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from resilience.climate.bias import BiasAdjustmentError, adjust_qdm, overlap_years
from resilience.climate.qdm import year_windows

LAT, LON = np.array([31.0, 31.1]), np.array([121.3, 121.4])
SCENARIOS = ("historical", "ssp245", "ssp585")
#: Model bias (degC) per scenario's training years after 2014: differs, so a scenario trained
#: on its own years is corrected differently from one trained on another's.
TAIL_BIAS = {"ssp245": 2.0, "ssp585": 4.0}
HEAD_BIAS = 2.0


def _days(years: range) -> xr.CFTimeIndex:
    return xr.date_range(
        f"{years[0]}-01-01T12", periods=365 * len(years), freq="D", calendar="noleap",
        use_cftime=True,
    )  # fmt: skip


def _field(rng: np.random.Generator, n: int, shift: float) -> np.ndarray:
    doy = np.arange(n) % 365
    cycle = 25 + 8 * np.sin(2 * np.pi * (doy - 100) / 365)
    return (cycle[:, None, None] + shift + rng.standard_normal((n, 2, 2))).astype("f4")


@pytest.fixture(scope="module")
def reference() -> xr.Dataset:
    rng = np.random.default_rng(3)
    time = _days(range(2010, 2018))
    return xr.Dataset(
        {"tasmax": (("time", "lat", "lon"), _field(rng, time.size, 0.0), {"units": "degC"})},
        coords={"time": time, "lat": LAT, "lon": LON},
        attrs={"title": "observed-like 2010-2017", "synthetic": "no"},
    )


@pytest.fixture(scope="module")
def projections() -> xr.Dataset:
    """One model; historical 2005-2014, scenarios 2015-2040 with their own training bias."""
    rng = np.random.default_rng(4)
    years = range(2005, 2041)
    time = _days(years)
    year_of = np.repeat(np.array(list(years)), 365)
    data = np.full((1, len(SCENARIOS), time.size, 2, 2), np.nan, dtype="f4")
    for i, scenario in enumerate(SCENARIOS):
        hist = year_of <= 2014
        if scenario == "historical":
            data[0, i, hist] = _field(rng, int(hist.sum()), HEAD_BIAS)
            continue
        tail = year_of >= 2015
        data[0, i, tail] = _field(rng, int(tail.sum()), TAIL_BIAS[scenario])
    return xr.Dataset(
        {"tasmax": (("model", "scenario", "time", "lat", "lon"), data, {"units": "degC"})},
        coords={"model": ["M1"], "scenario": list(SCENARIOS), "time": time, "lat": LAT, "lon": LON},
        attrs={"synthetic": "no"},
    )


def test_overlap_years_is_the_longest_run_of_whole_years(projections, reference):
    assert overlap_years(projections, reference) == (2010, 2017)
    short = reference.isel(time=slice(0, 365 * 3 + 100))  # 2013 has only 100 days
    assert overlap_years(projections, short) == (2010, 2012)
    later = reference.assign_coords(time=_days(range(2050, 2058)))
    with pytest.raises(BiasAdjustmentError, match="no whole year in common"):
        overlap_years(projections, later)


def test_each_scenario_is_trained_on_its_own_years_after_2014(projections, reference):
    out = adjust_qdm(projections, reference, variables=["tasmax"], baseline=(2010, 2017))
    mean = out["tasmax"].sel(model="M1").mean(["lat", "lon"])
    observed = float(reference["tasmax"].sel(time=slice("2015", "2017")).mean())
    for scenario, bias in TAIL_BIAS.items():
        # training = historical 2010-2014 (bias +2) and the scenario's own 2015-2017 (its
        # bias): QDM removes the training's mean bias, (5 x 2 + 3 x bias) / 8, so the
        # scenario's own 2015-2017 keep bias minus that: 0 for ssp245, 1.25 for ssp585.
        # Trained on another scenario's years (or historical alone) both would keep 0 or 2.
        expected = bias - (5 * HEAD_BIAS + 3 * bias) / 8
        adjusted = float(mean.sel(scenario=scenario, time=slice("2015", "2017")).mean())
        assert abs(adjusted - observed - expected) < 0.3, (scenario, adjusted, observed)
    historical = float(mean.sel(scenario="historical", time=slice("2010", "2014")).mean())
    assert abs(historical - float(reference["tasmax"].sel(time=slice("2010", "2014")).mean())) < 0.6
    assert "trained on 2010-2017" in out.attrs["bias_adjustment"]


def test_training_past_2014_needs_the_continuation_and_every_scenario_year(projections, reference):
    with pytest.raises(BiasAdjustmentError, match="historical_continuation: 'ssp126'"):
        adjust_qdm(
            projections,
            reference,
            variables=["tasmax"],
            baseline=(2010, 2017),
            historical_continuation="ssp126",
        )
    gap = projections.copy(deep=True)
    years = gap["time"].dt.year
    gap["tasmax"][:, 1, (years == 2016).values] = np.nan
    with pytest.raises(
        BiasAdjustmentError, match=r"tasmax ssp245: no data in training years \[2016\]"
    ):
        adjust_qdm(gap, reference, variables=["tasmax"], baseline=(2010, 2017))


def test_year_windows_keep_given_periods_whole():
    years = np.repeat(np.arange(2015, 2061), 2)
    plain = year_windows(years, 20)
    assert len(np.unique(plain)) == 3  # 2015-2034, 2035-2054, 2055-2060
    horizons = [(2021, 2040), (2041, 2060)]
    aligned = year_windows(years, 20, horizons)
    groups = {int(w): sorted(set(years[aligned == w].tolist())) for w in np.unique(aligned)}
    assert sorted(groups.values()) == [
        list(range(2015, 2021)),
        list(range(2021, 2041)),
        list(range(2041, 2061)),
    ]
