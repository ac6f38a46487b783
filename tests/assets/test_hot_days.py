"""Hot-day count model (assets.hot_days) and the heat semantics of the catalogue."""

import math

import numpy as np
import pytest
from scipy.stats import nbinom, poisson

from assets.catalogue import ASSET_TYPES, HEAT_STANDARD_BASIS
from assets.hot_days import HOT_DAY_DISPERSION, hot_day_exceedance_probability


@pytest.mark.parametrize("mean", [0.5, 3.77, 9.0, 25.0, 43.0, 120.0])
@pytest.mark.parametrize("standard", [0, 9, 30, 30.7, 55])
def test_negative_binomial_matches_scipy(mean, standard):
    k = HOT_DAY_DISPERSION
    expected = nbinom.sf(math.floor(standard), k, k / (k + mean))
    # regularised incomplete beta vs scipy's own NB: agree to floating-point rounding
    assert hot_day_exceedance_probability(standard, mean) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("mean", [0.5, 9.0, 43.0])
def test_infinite_dispersion_is_poisson(mean):
    got = hot_day_exceedance_probability(30, mean, dispersion=math.inf)
    assert got == pytest.approx(poisson.sf(30, mean), rel=1e-9, abs=1e-300)


def test_overdispersion_fattens_the_tail():
    # a hot summer far above the mean is likelier under NB than under Poisson
    nb = hot_day_exceedance_probability(30, 9.0)
    assert nb > hot_day_exceedance_probability(30, 9.0, dispersion=math.inf) * 1e3


def test_edges_and_broadcasting():
    p = hot_day_exceedance_probability(np.array([[-1.0], [10.0]]), np.array([0.0, 5.0, np.nan]))
    assert p.shape == (2, 3)
    assert p[0, 0] == 1.0 and p[1, 0] == 0.0 and np.isnan(p[1, 2])
    assert 0 < p[1, 1] < 1
    with pytest.raises(ValueError, match="dispersion: expected k > 0"):
        hot_day_exceedance_probability(1, 1, dispersion=0)


def test_probability_falls_as_the_standard_rises():
    p = hot_day_exceedance_probability(np.arange(0, 100), 25.0)
    assert np.all(np.diff(p) <= 0)


def test_every_asset_type_says_what_its_heat_standard_means():
    for kind in ASSET_TYPES.values():
        assert kind.heat_standard in HEAT_STANDARD_BASIS
        assert kind.heat_basis, kind.name
        if kind.heat_standard == "hot_days":
            assert kind.heat_days_standard is not None and kind.heat_threshold_degc == 35.0
        else:
            assert kind.heat_days_standard is None
    hospital = ASSET_TYPES["hospital"]
    assert hospital.heat_standard == "hot_days" and hospital.heat_days_standard == 30.0
    assert "project choice" in hospital.heat_basis
    assert "IEEE" in ASSET_TYPES["substation"].heat_basis
    unconfirmed = [k for k in ASSET_TYPES.values() if "UNCONFIRMED" in k.heat_basis]
    not_heat = {k.name for k in ASSET_TYPES.values() if "heat" not in k.hazards}
    assert not_heat == {"seawall"} and "not applicable" in ASSET_TYPES["seawall"].heat_basis
    assert {k.name for k in unconfirmed} == set(ASSET_TYPES) - {"substation"} - not_heat
