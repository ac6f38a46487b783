"""Tests of sea-level-rise tables, land motion and the fitted rise distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import ndtri

from hazard_models.coast.sea_level import (
    RiseDistribution,
    relative_sea_level_rise,
    rise_distribution,
    sea_level_at,
    sea_level_by_year,
    validate_sea_level_table,
    vertical_land_motion,
)
from hazard_models.horizon import AR6_HORIZONS, Horizon
from hazard_models.layer import SchemaError

Z83 = float(ndtri(0.83))  # 0.9542, the half-width of the likely range in sd


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "scenario": "ssp245",
            "year": [2020, 2040, 2100, 2020, 2040, 2100],
            "quantile": [0.5, 0.5, 0.5, 0.83, 0.83, 0.83],
            "sea_level_rise_m": [0.1, 0.3, 0.9, 0.2, 0.4, 1.2],
        }
    )


def test_sea_level_interpolation_by_hand(table):
    horizons = (AR6_HORIZONS[0], Horizon("early", 2001, 2020), AR6_HORIZONS[1])
    got = sea_level_at(table, ["ssp245"], horizons)
    # baseline: 0 by definition. early (mid 2010.5): between the 0 m anchor at 2004.5 and
    # 0.1 m at 2020: 0.1 x 6/15.5. near (mid 2030.5): 0.1 + 0.2 x 10.5/20 = 0.205.
    np.testing.assert_allclose(got.sel(quantile=0.5).values[0], [0.0, 0.1 * 6 / 15.5, 0.205])
    np.testing.assert_allclose(got.sel(quantile=0.83).values[0, 2], 0.305)
    by_year = sea_level_by_year(table, ["ssp245"], [2004.5, 2070])
    # 2070: 0.3 + 0.6 x 30/60 = 0.6 (median), 0.4 + 0.8 x 0.5 = 0.8 (0.83).
    np.testing.assert_allclose(by_year.values[0], [[0.0, 0.0], [0.6, 0.8]], rtol=1e-12)
    assert by_year.dims == ("scenario", "year", "quantile") and by_year.attrs["units"] == "m"


def test_sea_level_errors_name_the_problem(table):
    with pytest.raises(SchemaError, match="expected years up to 2150.5, found up to 2100"):
        sea_level_at(table, ["ssp245"], [Horizon("late", 2141, 2160)])
    with pytest.raises(SchemaError, match="scenario 'ssp585', quantile 0.5: expected rows"):
        sea_level_at(table, ["ssp585"], AR6_HORIZONS)
    with pytest.raises(SchemaError, match=r"missing \['sea_level_rise_m'\]"):
        validate_sea_level_table(table.drop(columns="sea_level_rise_m"))
    with pytest.raises(SchemaError, match="quantile: expected 0.5 among"):
        sea_level_by_year(table[table["quantile"] == 0.83], ["ssp245"], [2050])
    with pytest.raises(SchemaError, match="one row per year"):
        sea_level_by_year(pd.concat([table, table.iloc[:1]]), ["ssp245"], [2050])


def test_land_motion_and_relative_rise_by_hand():
    # 3 mm/yr x (2090.5 - 2004.5) yr = 0.258 m; -2 mm/yr (uplift) x 86 yr = -0.172 m.
    np.testing.assert_allclose(vertical_land_motion([3.0, -2.0], 2090.5), [0.258, -0.172])
    rise = xr.DataArray([0.3], dims="horizon")
    subsidence = xr.DataArray([5.0, 0.0], dims="station")
    mids = xr.DataArray([2090.5], dims="horizon")
    relative = relative_sea_level_rise(rise, subsidence, mids)
    # 0.3 m + 5 mm/yr x 86 yr = 0.73 m; without subsidence 0.3 m.
    np.testing.assert_allclose(relative.transpose("horizon", "station"), [[0.73, 0.3]], rtol=1e-12)
    assert "rise + subsidence" in relative.attrs["history"]


def test_piecewise_normal_matches_the_three_ar6_quantiles():
    # SSP5-8.5 2100 GMSL (AR6 SPM B.5.3 range, Table 9.9 median as shipped): 0.63/0.77/1.01 m.
    rise = rise_distribution(0.77, 0.63, 1.01)
    # sd_below = 0.14 / 0.9542 = 0.1467 m, sd_above = 0.24 / 0.9542 = 0.2515 m.
    assert float(rise.sd_below_m) == pytest.approx(0.14 / Z83, rel=1e-12)
    assert float(rise.sd_above_m) == pytest.approx(0.24 / Z83, rel=1e-12)
    # Exact by construction (1e-12: rounding only).
    np.testing.assert_allclose(rise.quantile([0.17, 0.5, 0.83]), [0.63, 0.77, 1.01], rtol=1e-12)
    normal = rise_distribution(0.77, 0.63, 1.01, shape="normal")
    # Normal: sd = 0.38 / (2 x 0.9542) = 0.1991 m about the median; it misses the quantiles.
    assert float(normal.sd_above_m) == pytest.approx(0.38 / (2 * Z83), rel=1e-12)
    assert float(normal.quantile(0.83)) == pytest.approx(0.77 + 0.19, rel=1e-12)


def test_nodes_integrate_the_distribution_exactly():
    rise = rise_distribution(0.77, 0.63, 1.01)
    nodes, weights = rise.nodes()
    assert nodes.shape == weights.shape == (128,)
    # Weights: half the mass on each side of the median (1e-14: rounding of 64 sums).
    assert weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert weights[nodes < 0.77].sum() == pytest.approx(0.5, abs=1e-14)
    # Mean of two half-normals of weight 1/2 (each has mean sd sqrt(2/pi)):
    # median + (sd_above - sd_below) / sqrt(2 pi) = 0.77 + 0.1048 / 2.5066 = 0.8118 m.
    mean = 0.77 + (0.24 - 0.14) / Z83 / np.sqrt(2 * np.pi)
    assert float(rise.mean_m) == pytest.approx(mean, rel=1e-12)
    assert (weights * nodes).sum() == pytest.approx(mean, rel=1e-12)
    # E[exp(c S)] of a normal = exp(c mu + c^2 sigma^2 / 2): the integrand of Hunter's
    # allowance. Gauss-Legendre on 0-10 sd is exact to ~1e-12 for c sigma up to 3.
    normal = rise_distribution(0.5, 0.5 - Z83 * 0.1, 0.5 + Z83 * 0.1, shape="normal")
    nodes, weights = normal.nodes()
    for c in (1.0, 10.0, 30.0):
        expected = np.exp(c * 0.5 + c**2 * 0.01 / 2)
        assert (weights * np.exp(c * nodes)).sum() == pytest.approx(expected, rel=1e-10)


def test_distribution_broadcasts_and_shifts():
    rise = rise_distribution([0.2, 0.5], [0.1, 0.4], [0.4, 0.7])
    nodes, weights = rise.nodes()
    assert nodes.shape == weights.shape == (2, 128)
    moved = rise.shifted([0.1, 0.2])
    np.testing.assert_allclose(moved.median_m, [0.3, 0.7])
    np.testing.assert_allclose(moved.sd_above_m, rise.sd_above_m)
    certain = RiseDistribution(np.array(0.3), np.array(0.0), np.array(0.0))
    assert np.all(certain.nodes()[0] == 0.3)


def test_distribution_errors():
    with pytest.raises(ValueError, match="lower <= median <= upper"):
        rise_distribution(0.5, 0.6, 0.7)
    with pytest.raises(ValueError, match="0 < lower < 0.5 < upper < 1"):
        rise_distribution(0.5, 0.4, 0.6, quantiles=(0.5, 0.83))
    with pytest.raises(ValueError, match="'piecewise_normal' or 'normal'"):
        rise_distribution(0.5, 0.4, 0.6, shape="skew")
