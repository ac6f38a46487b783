"""Gap runs and the RClimDex completeness rule, against hand-worked answers."""

import numpy as np
import pandas as pd
import pytest

from resilience.observed.quality import (
    MAX_MISSING_DAYS_PER_MONTH,
    MAX_MISSING_DAYS_PER_YEAR,
    Gap,
    describe_gaps,
    missing_runs,
    year_completeness,
)


def test_missing_runs_finds_each_run_with_its_length():
    labels = pd.Index([f"h{i}" for i in range(8)])
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1], dtype=bool)
    gaps = missing_runs(labels, mask, "rain", "NA")
    assert gaps == [
        Gap("rain", "h0", "h1", 2, "NA"),
        Gap("rain", "h4", "h4", 1, "NA"),
        Gap("rain", "h6", "h7", 2, "NA"),
    ]
    assert str(gaps[1]) == "rain: h4 (1, NA)"
    assert missing_runs(labels, np.zeros(8, dtype=bool), "rain", "NA") == []


def test_missing_runs_rejects_a_mask_of_another_length():
    with pytest.raises(ValueError, match="3 flags for 2 labels"):
        missing_runs(pd.Index(["a", "b"]), np.zeros(3, dtype=bool), "x", "y")


def test_describe_gaps_truncates():
    gaps = [Gap("t", str(i), str(i), 1, "NA") for i in range(5)]
    assert describe_gaps([]) == "none"
    assert describe_gaps(gaps, limit=2).endswith("... and 3 more runs")


def test_year_completeness_applies_the_rclimdex_limits():
    # the limits are the published ones (Zhang & Yang 2004; climdex.pcic)
    assert (MAX_MISSING_DAYS_PER_MONTH, MAX_MISSING_DAYS_PER_YEAR) == (3, 15)
    table = pd.DataFrame(0, index=[2000, 2001, 2002, 2003], columns=range(1, 13))
    table.loc[2001, 7] = 4  # one month over 3 days: incomplete
    table.loc[2002, [1, 2, 3, 4, 5]] = 3  # 15 days, no month over 3: complete
    table.loc[2003, [1, 2, 3, 4, 5, 6]] = 3  # 18 days: incomplete
    verdict = year_completeness(table)
    assert verdict["complete"].tolist() == [True, False, True, False]
    assert verdict["missing_days"].tolist() == [0, 4, 15, 18]
    assert verdict["missing_months"].tolist() == [0, 1, 0, 0]


def test_year_completeness_needs_all_months():
    with pytest.raises(ValueError, match="all 12 months"):
        year_completeness(pd.DataFrame(0, index=[2000], columns=range(1, 12)))
