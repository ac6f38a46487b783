"""The domain comes from the published layers (issue 14 item 3), not from a constant."""

import math

import pytest

from resilience.feasibility.check import FeasibilityError, run_check
from resilience.feasibility.domain import layer_box, layer_domain, outside_message

KM_PER_DEGREE = math.pi * 6371.0088 / 180.0


def test_domain_is_the_intersection_of_the_layers_boxes(hot_layers, submission):
    result = run_check(submission, hot_layers)
    # grids: centres 120.875-121.875 E, 30.625-31.875 N widened by the 0.25 deg spacing;
    # stations (121.49-121.50 E, 31.24-31.39 N) widened by 50 km: the stations' box is inside
    dlat = 50.0 / KM_PER_DEGREE
    dlon = dlat / math.cos(math.radians(31.39))
    assert layer_box(hot_layers["heat"]) == pytest.approx((120.625, 122.125, 30.375, 32.125))
    domain = result.domain
    assert domain.layers == ["heat", "rain", "surge"]
    assert (domain.lon_min, domain.lon_max) == pytest.approx(
        (121.49 - dlon, 121.50 + dlon), abs=1e-6
    )
    assert (domain.lat_min, domain.lat_max) == pytest.approx((31.24 - dlat, 31.39 + dlat), abs=1e-6)
    assert layer_domain(hot_layers) == domain


def test_a_moved_layer_moves_the_domain(hot_layers, submission):
    shifted = hot_layers["heat"].assign_coords(lon=hot_layers["heat"]["lon"] + 0.5)
    assert layer_domain({**hot_layers, "heat": shifted}).lon_min == pytest.approx(
        121.125
    )  # 121.375 - 0.25


def test_site_outside_the_surge_layer_box_names_layer_extent_and_domain(hot_layers, submission):
    with pytest.raises(FeasibilityError) as caught:
        run_check(submission.model_copy(update={"lon": 121.45, "lat": 30.5}), hot_layers)
    message = str(caught.value)
    assert (
        "site (121.450 E, 30.500 N) is outside the surge layer: expected a site within 50 km"
        in message
    )
    assert "wusong (121.500 E, 31.390 N)" in message
    assert "(the published layers cover 120.96" in message


def test_site_in_the_box_but_beyond_the_stations_reach_is_rejected(hot_layers, submission):
    # inside the surge box (the box is wider than the 50 km discs) but ~80 km from a station
    with pytest.raises(
        FeasibilityError, match="outside the surge layer: expected a site within 50 km"
    ):
        run_check(submission.model_copy(update={"lon": 122.0, "lat": 30.85}), hot_layers)


def test_swapped_coordinates_are_named(hot_layers):
    # lat 121.45 is rejected by the Submission (test_feasibility_models); this is the layer
    # side of the same hint, for layers where both orders are valid coordinates
    message = outside_message("heat", hot_layers["heat"], 31.3, 121.45)
    assert "lat and lon look swapped (lon 121.45, lat 31.3 would be inside)" in message
