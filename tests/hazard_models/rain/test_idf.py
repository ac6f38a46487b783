import math

import numpy as np
import pytest

from hazard_models.rain.idf import (
    SHANGHAI_DB31_T1043,
    StormFormula,
    chicago_hyetograph,
    clausius_clapeyron_uplift,
    effective_return_period,
    storm_intensity,
)


@pytest.mark.parametrize(("period", "minutes"), [(1, 5), (3, 60), (5, 120), (100, 1440)])
def test_intensity_against_the_formula_by_hand(period, minutes):
    # q = 1600 (1 + 0.846 lg P) / (t + 7)^0.656 L/(s ha); i = q / 166.7 mm/min (domain.md 2.4)
    q = 1600 * (1 + 0.846 * math.log10(period)) / (minutes + 7) ** 0.656
    assert storm_intensity(period, minutes) == pytest.approx(q / 166.7, rel=1e-12)


def test_unconfirmed_exponent_is_configurable():
    assert SHANGHAI_DB31_T1043.confirmed is False
    alternative = StormFormula(a1=1600, c=0.846, b=7.0, n=0.630, peak_ratio=0.405)
    assert storm_intensity(5, 60, alternative) > storm_intensity(5, 60)  # smaller n, more rain
    with pytest.raises(ValueError, match="peak_ratio"):
        StormFormula(a1=1600, c=0.846, b=7.0, n=0.656, peak_ratio=1.2)


def test_chicago_hyetograph_holds_the_idf_depth_and_peaks_at_r():
    steps = chicago_hyetograph(5, 120, step_min=5)
    assert steps.size == 24 and (steps > 0).all()
    # every storm duration holds its IDF depth: the whole storm holds i(120) x 120
    assert steps.sum() == pytest.approx(storm_intensity(5, 120) * 120, rel=1e-12)
    assert steps.argmax() == int(0.367 * 120 // 5)  # the block holding the peak at r x T
    # rain rises to the peak and falls after it
    peak = steps.argmax()
    assert np.all(np.diff(steps[: peak + 1]) > 0) and np.all(np.diff(steps[peak:]) < 0)


def test_uplift_and_effective_return_period():
    assert clausius_clapeyron_uplift(2.0) == pytest.approx(1.07**2)
    assert effective_return_period(5, 1.0) == pytest.approx(5)
    future = effective_return_period(5, clausius_clapeyron_uplift(2.0))
    assert 1 < future < 5
    # the uplifted P'-year storm carries exactly today's 5-year design intensity
    uplift = clausius_clapeyron_uplift(2.0)
    assert storm_intensity(future, 30, uplift=uplift) == pytest.approx(storm_intensity(5, 30))
    with pytest.raises(ValueError, match="positive multiple"):
        chicago_hyetograph(5, 62, step_min=5)
