"""Every hazard layer says whether any of its inputs was synthetic (issue 12, part 5)."""

from __future__ import annotations

import numpy as np
import pytest

from hazard_models.coast.surge import build_surge_layer
from hazard_models.heat.layer import build_heat_layer
from hazard_models.horizon_stats import finish_layer
from hazard_models.layer import synthetic_flag
from hazard_models.rain.idf_layer import build_idf_layer
from hazard_models.rain.layer import build_rain_layer


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ([{"synthetic": "yes"}], "yes"),
        ([{"synthetic": "TRUE"}], "yes"),
        ([{"synthetic": True}], "yes"),
        ([{"synthetic": np.bool_(False)}], "no"),
        ([{"synthetic": "no"}, {"synthetic": "false"}], "no"),
        ([{"synthetic": "no"}, {}], "unknown"),
        ([{"synthetic": "no"}, {"synthetic": "maybe"}], "unknown"),
        ([{"synthetic": "no"}, {}, {"synthetic": "yes"}], "yes"),
        ([], "unknown"),
    ],
)
def test_synthetic_flag_says_yes_if_any_input_does(attrs, expected):
    assert synthetic_flag(*attrs) == expected


def test_finish_layer_refuses_a_flag_it_does_not_know(projections):
    layer = build_heat_layer(projections.assign_attrs(synthetic="no"))
    with pytest.raises(ValueError, match="synthetic: expected one of"):
        finish_layer(layer, "heat", "again", provenance=("x", "y"), synthetic="perhaps")


def test_gridded_layers_carry_the_projections_flag(projections):
    synthetic = build_heat_layer(projections.assign_attrs(synthetic="yes"))
    real = build_heat_layer(projections.assign_attrs(synthetic="no"))
    unsaid = build_heat_layer(projections)
    assert synthetic.attrs["synthetic"] == "yes"
    assert real.attrs["synthetic"] == "no"
    assert unsaid.attrs["synthetic"] == "unknown"  # never a silent "no"
    rain_synthetic = build_rain_layer(projections.assign_attrs(synthetic="yes"))
    rain_real = build_rain_layer(projections.assign_attrs(synthetic="no"))
    assert rain_synthetic.attrs["synthetic"] == "yes"
    assert build_idf_layer(rain_synthetic).attrs["synthetic"] == "yes"
    assert build_idf_layer(rain_real).attrs["synthetic"] == "no"


def test_surge_layer_is_synthetic_when_any_annual_maximum_is(make_surge_inputs):
    maxima, stations, sea_level = make_surge_inputs()
    real = build_surge_layer(maxima.assign(synthetic=False), stations, sea_level)
    mixed = maxima.assign(synthetic=False)
    mixed.loc[mixed.index[3], "synthetic"] = True
    assert real.attrs["synthetic"] == "no"
    assert build_surge_layer(mixed, stations, sea_level).attrs["synthetic"] == "yes"
    without = maxima.drop(columns=["synthetic"], errors="ignore")
    assert build_surge_layer(without, stations, sea_level).attrs["synthetic"] == "unknown"
