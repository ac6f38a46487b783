"""Tests of explicit vertical-datum conversion (Wusong, 1985 national, 1956 Yellow Sea)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hazard_models.coast.surge import build_surge_layer
from hazard_models.layer import SchemaError
from resilience.coast.datum import (
    DEFAULT_WUSONG_BELOW_1985_M,
    DatumOffsets,
    canonical_datum,
    convert_height,
    convert_layer_datum,
    datum_shift_m,
)

DATUMS = ("Wusong", "1985 national", "1956 Yellow Sea")


def test_hand_values():
    # Huangpu Park's 1000-yr design level 5.86 m (Wusong): 5.86 - 1.717 = 4.143 m on 1985
    # (UNCONFIRMED default) and 5.86 - 1.717 + 0.029 = 4.172 m on 1956 Yellow Sea.
    assert DEFAULT_WUSONG_BELOW_1985_M == 1.717
    assert convert_height(5.86, "Wusong", "1985") == pytest.approx(4.143, abs=1e-12)
    assert convert_height(5.86, "Wusong", "1956 Yellow Sea") == pytest.approx(4.172, abs=1e-12)
    assert datum_shift_m("1956 Yellow Sea", "1985 national") == pytest.approx(-0.029)
    # A confirmed official offset replaces the default, e.g. 1.6297 + 0.029 m.
    official = DatumOffsets(wusong_below_1985_m=1.6587, confirmed=frozenset({"Wusong"}))
    assert convert_height(5.86, "Wusong", "85", offsets=official) == pytest.approx(4.2013)


@pytest.mark.parametrize("first", DATUMS)
@pytest.mark.parametrize("second", DATUMS)
def test_round_trips_on_every_pair_and_type(first, second):
    values = np.array([-1.2, 0.0, 3.5, 6.27])
    for heights in (6.27, values, pd.Series(values), xr.DataArray(values, dims="station")):
        there = convert_height(heights, first, second)
        back = convert_height(there, second, first)
        # Addition and subtraction of the same offset: exact to rounding.
        np.testing.assert_allclose(np.asarray(back), np.asarray(heights), atol=1e-12)
        assert type(back) is type(heights) or isinstance(heights, float)
    # Chains agree with the direct conversion.
    direct = datum_shift_m(first, second)
    chained = datum_shift_m(first, "1956 Yellow Sea") + datum_shift_m("1956 Yellow Sea", second)
    assert chained == pytest.approx(direct, abs=1e-12)


def test_dataarray_records_datum_and_unconfirmed_offset():
    levels = xr.DataArray([5.86], dims="station", attrs={"units": "m", "datum": "Wusong"})
    converted = convert_height(levels, "Wusong", "1985 national")
    assert converted.attrs["datum"] == "1985 national" and converted.attrs["units"] == "m"
    assert "UNCONFIRMED for ['Wusong']" in converted.attrs["history"]
    confirmed = DatumOffsets(confirmed=frozenset({"Wusong"}))
    assert (
        "UNCONFIRMED"
        not in convert_height(levels, "Wusong", "85", offsets=confirmed).attrs["history"]
    )
    with pytest.raises(SchemaError, match="attrs\\['datum'\\] is 'Wusong', expected '1985"):
        convert_height(levels, "1985", "Wusong")


def test_names_and_errors():
    assert canonical_datum(" wusong ") == "Wusong" and canonical_datum("吴淞") == "Wusong"
    assert canonical_datum("85") == "1985 national"
    with pytest.raises(SchemaError, match="expected one of .*found 'Huanghai'"):
        canonical_datum("Huanghai")


def test_surge_layer_round_trip():
    years = np.arange(1961, 2021)
    rng = np.random.default_rng(0)
    maxima = pd.DataFrame(
        {"station": "wusongkou", "year": years, "annual_max_m": 4.5 + 0.25 * rng.gumbel(size=60)}
    )
    stations = pd.DataFrame(
        {
            "station": ["wusongkou"],
            "station_name": ["Wusongkou"],
            "lat": [31.39],
            "lon": [121.51],
            "datum": ["Wusong"],
            "subsidence_mm_per_year": [3.0],
        }
    )
    rise = pd.DataFrame(
        {"scenario": "ssp245", "year": 2100, "quantile": [0.17, 0.5, 0.83], "sea_level_rise_m": 0.5}
    )
    layer = build_surge_layer(maxima, stations, rise, scenarios=["ssp245"])
    national = convert_layer_datum(layer, "1985")
    assert national["datum"].values.tolist() == ["1985 national"]
    assert "1985 national datum" in national["still_water_level"].attrs["long_name"]
    difference = national["still_water_level"] - layer["still_water_level"]
    np.testing.assert_allclose(difference, -1.717, atol=1e-12)
    # Differences do not move: the rise, the GEV scale.
    for name in ("relative_sea_level_rise", "still_water_level_gev_scale"):
        np.testing.assert_array_equal(national[name].values, layer[name].values)
    back = convert_layer_datum(national, "Wusong")
    xr.testing.assert_allclose(back["still_water_level"], layer["still_water_level"], atol=1e-12)
    assert "UNCONFIRMED" in back.attrs["history"]
    with pytest.raises(SchemaError, match="expected variable 'depth'"):
        convert_layer_datum(layer, "1985", level_variables=("depth",))
