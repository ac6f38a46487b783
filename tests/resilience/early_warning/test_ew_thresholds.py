"""Every threshold of the shipped Shanghai rules, just below, at and just above its edge.

The expected thresholds are the documented facts of domain.md 1.2-1.6 (not read back from the
YAML), so a typo in the rule file fails here. Fields are uniform over the grid, so every
district sees the same values; one member, so the probability is 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.rule_models import LEVELS


def _max_level(decisions, hazard: str) -> str | None:
    levels = [s.level for d in decisions if d.hazard == hazard for s in d.steps]
    return max(levels, key=LEVELS.index) if levels else None


def _rain(ds, per_hour: float, hours: int) -> None:
    ds["pr"][:, 5 : 5 + hours] = np.float32(per_hour)


# (case, hourly rain mm, number of wet hours, expected rainstorm level)
RAIN_CASES = [
    ("1h below blue", 34.9, 1, None),
    ("1h at blue 35", 35.0, 1, "blue"),
    ("1h above blue", 35.1, 1, "blue"),
    ("1h below yellow", 49.9, 1, "blue"),
    ("1h at yellow 50", 50.0, 1, "yellow"),
    ("1h above yellow", 50.1, 1, "yellow"),
    ("6h below blue", 9.98, 5, None),  # 49.9 mm in 5 h
    ("6h at blue 50", 10.0, 5, "blue"),
    ("6h above blue", 10.02, 5, "blue"),
    ("6h below orange", 24.9, 4, "blue"),  # 99.6 mm in 4 h
    ("6h at orange 100", 25.0, 4, "orange"),
    ("6h above orange", 25.1, 4, "orange"),
    ("3h below red", 49.9, 2, "blue"),  # 99.8 mm in 2 h: 1 h < 50, 6 h < 100
    ("3h at red 100", 50.0, 2, "red"),
    ("3h above red", 50.1, 2, "red"),
    ("12h below blue", 4.99, 10, None),  # 49.9 mm in 10 h
    ("12h at blue 50", 5.0, 10, "blue"),
    ("12h above blue", 5.01, 10, "blue"),
]


@pytest.mark.parametrize(("case", "per_hour", "hours", "expected"), RAIN_CASES)
def test_rainstorm_edges(case, per_hour, hours, expected, make_forecast, rules, districts):
    ds = make_forecast()
    _rain(ds, per_hour, hours)
    assert _max_level(evaluate_rules(ds, rules, districts), "rainstorm") == expected, case


@pytest.mark.parametrize(
    ("total_per_hour", "expected"),
    [(24.9, None), (25.0, "blue"), (25.1, "blue")],  # 4 h: 99.6 / 100 / 100.4 mm in 6 h
)
def test_waterlogging_notice_edge(total_per_hour, expected, make_forecast, rules, districts):
    ds = make_forecast()
    _rain(ds, total_per_hour, 4)
    assert _max_level(evaluate_rules(ds, rules, districts), "waterlogging") == expected


@pytest.mark.parametrize(
    ("tmax", "expected"),
    [
        (35.0, None),  # Shanghai rule is "above 35", so 35.0 is not yellow
        (35.1, "yellow"),
        (37.0, "yellow"),
        (37.1, "orange"),
        (40.0, "orange"),
        (40.1, "red"),
    ],
)
def test_high_temperature_edges(tmax, expected, make_forecast, rules, districts):
    ds = make_forecast()
    ds["tas"][:, 6] = np.float32(tmax)  # one hour at the daily maximum
    assert _max_level(evaluate_rules(ds, rules, districts), "high_temperature") == expected


@pytest.mark.parametrize(
    ("level_m", "expected"),
    [
        (4.54, None),
        (4.55, "blue"),
        (4.56, "blue"),
        (4.90, "blue"),
        (4.91, "yellow"),  # float32(4.91) < 4.91 in float64: must still count as reached
        (4.92, "yellow"),
        (5.29, "yellow"),
        (5.30, "orange"),
        (5.60, "red"),
    ],
)
def test_huangpu_high_tide_edges(level_m, expected, make_forecast, rules, districts):
    ds = make_forecast()
    ds["water_level"].loc[{"station": "huangpu_park"}] = np.float32(2.0)
    ds["water_level"][:, 7, 1] = np.float32(level_m)
    decisions = evaluate_rules(ds, rules, districts)
    assert _max_level(decisions, "huangpu_high_tide") == expected
    if expected:  # only the configured riverside districts get it
        areas = {d.area.code for d in decisions if d.hazard == "huangpu_high_tide"}
        assert areas == {"310101", "310104", "310109", "310110", "310112", "310113", "310115"}


def test_wusongkou_does_not_trigger_the_huangpu_rule(make_forecast, rules, districts):
    ds = make_forecast()
    ds["water_level"].loc[{"station": "wusongkou"}] = np.float32(5.5)
    assert _max_level(evaluate_rules(ds, rules, districts), "huangpu_high_tide") is None


@pytest.mark.parametrize(
    ("tc", "variable", "value", "hazard", "expected"),
    [
        (1, "sfcWind", 10.7, "typhoon", None),
        (1, "sfcWind", 10.8, "typhoon", "blue"),  # Beaufort 6
        (1, "sfcWind", 17.2, "typhoon", "yellow"),  # Beaufort 8
        (1, "wind_gust", 17.1, "typhoon", None),
        (1, "wind_gust", 17.2, "typhoon", "blue"),  # gust Beaufort 8
        (1, "wind_gust", 32.7, "typhoon", "orange"),  # gust Beaufort 12
        (1, "sfcWind", 32.7, "typhoon", "red"),  # mean Beaufort 12
        (0, "sfcWind", 10.8, "typhoon", None),  # no tropical cyclone: not a typhoon signal
        (0, "sfcWind", 10.8, "gale", "blue"),
        (0, "wind_gust", 13.8, "gale", None),
        (0, "wind_gust", 13.9, "gale", "blue"),  # gust Beaufort 7
        (0, "wind_gust", 20.8, "gale", "yellow"),  # gust Beaufort 9
        (1, "wind_gust", 20.8, "gale", None),  # under a cyclone it is a typhoon signal
    ],
)
def test_wind_edges(tc, variable, value, hazard, expected, make_forecast, rules, districts):
    ds = make_forecast()
    ds["tropical_cyclone_influence"][:] = tc
    ds[variable][:, 3] = np.float32(value)
    assert _max_level(evaluate_rules(ds, rules, districts), hazard) == expected


def test_quiet_forecast_issues_nothing(make_forecast, rules, districts):
    assert evaluate_rules(make_forecast(), rules, districts) == []


# ---------------------------------------------------------------- every threshold, one table

#: The documented criteria (domain.md 1.2-1.6 and the Beaufort scale), written out by hand:
#: (rule, criterion, operator, [(level, value), ...]).
FACTS = [
    (
        "shanghai_high_temperature",
        "daily_max_temperature",
        ">",
        [("yellow", 35), ("orange", 37), ("red", 40)],
    ),
    ("shanghai_rainstorm", "rain_1h", ">=", [("blue", 35), ("yellow", 50)]),
    ("shanghai_rainstorm", "rain_3h", ">=", [("red", 100)]),
    ("shanghai_rainstorm", "rain_6h", ">=", [("blue", 50), ("orange", 100)]),
    ("shanghai_rainstorm", "rain_12h", ">=", [("blue", 50)]),
    (
        "huangpu_high_tide",
        "huangpu_park_high_tide",
        ">=",
        [("blue", 4.55), ("yellow", 4.91), ("orange", 5.30), ("red", 5.60)],
    ),
    (
        "typhoon_wind",
        "typhoon_mean_wind",
        ">=",
        [("blue", 10.8), ("yellow", 17.2), ("orange", 24.5), ("red", 32.7)],
    ),
    (
        "typhoon_wind",
        "typhoon_gust",
        ">=",
        [("blue", 17.2), ("yellow", 24.5), ("orange", 32.7), ("red", 41.5)],
    ),
    (
        "gale_wind",
        "gale_mean_wind",
        ">=",
        [("blue", 10.8), ("yellow", 17.2), ("orange", 24.5), ("red", 32.7)],
    ),
    (
        "gale_wind",
        "gale_gust",
        ">=",
        [("blue", 13.9), ("yellow", 20.8), ("orange", 28.5), ("red", 37.0)],
    ),
    ("waterlogging_notice", "rain_6h_ponding", ">=", [("blue", 100)]),
]


def test_rule_file_holds_exactly_the_documented_thresholds(rules):
    shipped = [
        (r.id, c.id, c.operator, [(t.level, t.value) for t in c.thresholds])
        for r in rules.rules
        for c in r.criteria
    ]
    assert shipped == FACTS


def _criterion(rules, rule_id, criterion_id):
    rule = next(r for r in rules.rules if r.id == rule_id)
    return next(c for c in rule.criteria if c.id == criterion_id)


def _set(ds, crit, value: float) -> None:
    """Make the criterion's metric equal ``value`` at one hour (index 6), every cell."""
    v = np.float32(value)
    if crit.variable == "water_level":
        ds["water_level"].loc[{"station": crit.station}] = np.float32(0.0)
        ds["water_level"].loc[{"station": crit.station, "time": ds["time"][6]}] = v
    else:
        ds[crit.variable][:, 6] = v  # a sum over any window of one wet hour is that hour
    if crit.condition is not None:
        ds["tropical_cyclone_influence"][:] = int(crit.condition == "tropical_cyclone")


EDGES = [
    (rule, crit, op, rank, level, value)
    for rule, crit, op, table in FACTS
    for rank, (level, value) in enumerate(table)
]


@pytest.mark.parametrize(("rule_id", "crit_id", "op", "rank", "level", "value"), EDGES)
def test_every_threshold_below_at_and_above_its_edge(
    rule_id, crit_id, op, rank, level, value, make_forecast, rules, districts
):
    """Per criterion, the level reached 0.01 below, at and 0.01 above each threshold."""
    from resilience.early_warning.area import assign_cells
    from resilience.early_warning.metric import criterion_levels, criterion_metric

    crit = _criterion(rules, rule_id, crit_id)
    table = dict(FACTS[[f[:2] for f in FACTS].index((rule_id, crit_id))][3])
    below = LEVELS.index(list(table)[rank - 1]) + 1 if rank else 0
    reached = LEVELS.index(level) + 1
    cells = list(
        assign_cells(
            make_forecast()["lat"].values, make_forecast()["lon"].values, districts
        ).values()
    )[:1]

    def level_at(v: float) -> int:
        ds = make_forecast()
        _set(ds, crit, v)
        return int(criterion_levels(criterion_metric(ds, crit, cells), crit).max())

    # 0.01 is above float32 spacing (< 1e-5 at these magnitudes) and below any gap in the table
    assert level_at(value - 0.01) == below
    assert level_at(value) == (reached if op == ">=" else below)  # ">" (heat) excludes the edge
    assert level_at(value + 0.01) == reached
