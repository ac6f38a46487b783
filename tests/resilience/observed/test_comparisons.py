"""Heat and extremes comparisons, each checked against a computation written out in the test."""

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from resilience.observed.comparisons import (
    CENTRE_LAT,
    CENTRE_LON,
    compare_daily_tmax,
    compare_return_level,
    layer_centre_value,
    qdm_calibration_overlap,
)
from resilience.observed.era5land import complete_years, era5land_at_points
from resilience.observed.ghcn import annual_maxima, read_ghcn_monthly
from resilience.observed.hourly import daily_max_temperature
from resilience.observed.shipped import GHCN_STATIONS, observed_file


@pytest.fixture(scope="module")
def tmax_pair(era5land, hourly):
    cell = era5land_at_points(era5land, {"centre": (CENTRE_LAT, CENTRE_LON)})
    return cell["tasmax"].isel(station=0).to_series(), daily_max_temperature(hourly)


def test_era5land_against_the_station_matches_pandas(tmax_pair):
    reference, station = tmax_pair
    result = compare_daily_tmax(reference, station)
    both = pd.DataFrame({"r": reference, "s": station}).dropna()
    summer = both[both.index.month.isin([7, 8])]
    assert result.days == len(both) == 2189
    assert result.bias_degc == pytest.approx((both.r - both.s).mean())
    assert result.bias_jul_aug_degc == pytest.approx((summer.r - summer.s).mean())
    assert result.correlation == pytest.approx(both.r.corr(both.s))
    years = both.index.year
    assert result.hot_days["station"].tolist() == (both.s >= 35).groupby(years).sum().tolist()
    assert result.hot_days["reference"].tolist() == (both.r >= 35).groupby(years).sum().tolist()
    shifted = both.r - result.bias_jul_aug_degc >= 35
    assert result.hot_days["reference_shifted"].tolist() == shifted.groupby(years).sum().tolist()
    # the urban cool bias: ERA5-Land sees a fraction of the station's hot days
    assert result.bias_jul_aug_degc < result.bias_degc < 0
    assert result.hot_days["reference"].sum() < result.hot_days["station"].sum() / 2
    assert "July-August" in result.summary()
    # the numbers quoted in docs/observed.md, section 2
    assert (round(result.bias_degc, 2), round(result.bias_jul_aug_degc, 2)) == (-1.08, -2.10)
    assert result.hot_days[["station", "reference", "reference_shifted"]].mean().round(
        1
    ).tolist() == [
        24.2,
        5.2,
        16.0,
    ]


def test_too_few_pairs_are_refused():
    days = pd.date_range("2010-01-01", periods=10)
    with pytest.raises(ValueError, match="at least 30 paired days, found 10"):
        compare_daily_tmax(pd.Series(1.0, days), pd.Series(2.0, days))


def test_qdm_overlap_with_the_sample_projection_years(era5land):
    sample = {
        "historical": range(1995, 2015),
        "ssp245": [*range(2021, 2061), *range(2081, 2101)],
        "ssp585": [*range(2021, 2061), *range(2081, 2101)],
    }
    tasmax = qdm_calibration_overlap(complete_years(era5land, "tasmax"), sample, variable="tasmax")
    assert tasmax.with_historical == (2010, 2011, 2012, 2013, 2014)
    assert tasmax.with_scenarios == (2010, 2011, 2012, 2013, 2014, 2021, 2022, 2023, 2024)
    assert tasmax.missing_projection_years == (2015, 2016, 2017, 2018, 2019, 2020)
    assert "projections lack 2015-2020" in tasmax.summary()
    pr = qdm_calibration_overlap(complete_years(era5land, "pr"), sample, variable="pr")
    assert len(pr.with_historical) == 5 and pr.missing_projection_years == ()
    # an SSP year counts only if every SSP has it
    partial = qdm_calibration_overlap(
        [2015, 2016], {"ssp245": [2015, 2016], "ssp585": [2016]}, variable="x"
    )
    assert partial.with_scenarios == (2016,)


def test_return_level_matches_scipy_maximum_likelihood():
    maxima = annual_maxima(read_ghcn_monthly(observed_file(GHCN_STATIONS["58362"].monthly_file)))
    values = maxima["prcp_mm"].dropna()
    result = compare_return_level(
        maxima["prcp_mm"], 162.35, variable="Rx1day", units="mm", method="mle"
    )
    c, loc, scale = stats.genextreme.fit(values.to_numpy())
    expected = stats.genextreme.isf(1 / 20, c, loc, scale)
    # two optimisers of the same likelihood: return levels within 1 % (a flat likelihood)
    assert result.station_level == pytest.approx(expected, rel=0.01)
    assert result.shape == pytest.approx(-c, abs=0.02)
    period = 1 / stats.genextreme.sf(162.35, -result.shape, result.loc, result.scale)
    assert result.sample_return_period_at_station == pytest.approx(period, rel=1e-9)
    assert result.station_lower < result.station_level < result.station_upper
    assert (result.years, result.first_year, result.last_year) == (len(values), 1991, 2020)


def test_return_level_by_lmoments_matches_hosking_formulas():
    """Hosking (1990) GEV L-moment estimators written out here (shape in the climate sign)."""
    maxima = annual_maxima(read_ghcn_monthly(observed_file(GHCN_STATIONS["58362"].monthly_file)))
    x = np.sort(maxima["tmax_degc"].dropna().to_numpy())
    n = x.size
    j = np.arange(n)
    b0, b1, b2 = (
        x.mean(),
        (j * x).sum() / (n * (n - 1)),
        (j * (j - 1) * x).sum() / (n * (n - 1) * (n - 2)),
    )
    l1, l2, l3 = b0, 2 * b1 - b0, 6 * b2 - 6 * b1 + b0
    t3 = l3 / l2
    z = 2 / (3 + t3) - np.log(2) / np.log(3)
    k = 7.8590 * z + 2.9554 * z**2  # Hosking et al. (1985) approximation, |error| < 9e-4
    scale = l2 * k / ((1 - 2**-k) * math.gamma(1 + k))
    loc = l1 - scale * (1 - math.gamma(1 + k)) / k
    level = loc + scale / k * (1 - (-np.log(1 - 1 / 20)) ** k)
    result = compare_return_level(maxima["tmax_degc"], 40.44, variable="TXx", units="degC")
    assert result.station_level == pytest.approx(level, abs=0.02)  # the 9e-4 shape approximation
    assert result.shape == pytest.approx(-k, abs=0.002)


def test_too_few_years_are_refused():
    with pytest.raises(ValueError, match="at least 10 annual maxima, found 9"):
        compare_return_level(pd.Series(np.arange(9.0)), 1.0, variable="x", units="1")


def test_layer_centre_value_selects_like_the_demo():
    lat, lon = np.array([31.2, 31.3]), np.array([121.4, 121.5])
    values = np.arange(2 * 2 * 3 * 2 * 2 * 2, dtype=float).reshape(2, 2, 3, 2, 2, 2)
    layer = xr.Dataset(
        {"txx": (("scenario", "horizon", "quantile", "return_period", "lat", "lon"), values)},
        coords={
            "scenario": ["ssp245", "ssp585"],
            "horizon": ["baseline", "far"],
            "quantile": [0.1, 0.5, 0.9],
            "return_period": [10, 20],
            "lat": lat,
            "lon": lon,
        },
    )
    expected = float(values[0, 0, 1, 1, 0, 1])  # ssp245, baseline, median, 20 yr, 31.2, 121.5
    assert layer_centre_value(layer, "txx", return_period=20) == expected


def test_a_station_fit_at_its_shape_bound_has_no_delta_interval():
    """Two wild years clip the L-moment shape at 0.5: no delta interval, and the line says so."""
    values = np.full(30, 100.0) + np.linspace(0.0, 5.0, 30)
    values[[4, 21]] = [400.0, 900.0]
    series = pd.Series(values, index=np.arange(1991, 2021))
    result = compare_return_level(series, 150.0, variable="Rx1day", units="mm")
    assert result.shape_at_bound and result.shape == pytest.approx(0.5)
    assert np.isnan(result.station_lower) and np.isnan(result.station_upper)
    assert "at its bound" in result.summary() and "95 %" not in result.summary()
    ordinary = compare_return_level(series.clip(upper=106.0), 103.0, variable="x", units="mm")
    assert not ordinary.shape_at_bound and "95 %" in ordinary.summary()
