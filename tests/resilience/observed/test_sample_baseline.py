"""The sample's baseline 20-yr TXx and Rx1day, built as the demo builds them, against stations.

The sample's numbers are computed here, not copied: the historical sample projections
(1995-2014, plus one SSP year that the layer builders require to name a scenario) are written,
opened and turned into heat and rain layers by the demo's own builders; the centre cell is
then read as the demo reads it. docs/observed.md quotes the numbers asserted below.
"""

import pytest

from hazard_models.heat.layer import build_heat_layer
from hazard_models.horizon import horizon_by_name
from hazard_models.rain.layer import build_rain_layer
from resilience.climate.projections import open_projections
from resilience.observed.comparisons import compare_return_level, layer_centre_value
from resilience.observed.ghcn import annual_maxima, read_ghcn_monthly
from resilience.observed.shipped import GHCN_STATIONS, observed_file
from resilience.sample.projections import write_sample_projections

pytestmark = pytest.mark.slow  # about 5 s: 40 years of sample weather and two layers


@pytest.fixture(scope="module")
def sample_levels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample_baseline")
    experiments = {"historical": range(1995, 2015), "ssp245": [2081]}
    write_sample_projections(folder, experiments=experiments, variables=("tasmax", "pr"))
    baseline = [horizon_by_name("baseline")]
    heat = build_heat_layer(open_projections(folder, variables=("tasmax",)), horizons=baseline)
    rain = build_rain_layer(open_projections(folder, variables=("pr",)), horizons=baseline)
    return {
        "txx": layer_centre_value(heat.compute(), "txx", return_period=20),
        "rx1day": layer_centre_value(rain.compute(), "rx1day", return_period=20),
    }


def test_the_sample_baseline_is_the_demo_headline(sample_levels):
    # README's demo table: 20-yr Tmax 40.44 degC, 20-yr Rx1day 162.35 mm/day (at the centre)
    assert sample_levels["txx"] == pytest.approx(40.44, abs=0.005)
    assert sample_levels["rx1day"] == pytest.approx(162.35, abs=0.005)


@pytest.mark.parametrize(
    ("wmo", "column", "variable", "units", "station", "rarity"),
    [
        ("58362", "tmax_degc", "TXx", "degC", 39.6, 119),
        ("58362", "prcp_mm", "Rx1day", "mm", 169.5, 15),
        ("58367", "tmax_degc", "TXx", "degC", 39.3, 70),
        ("58367", "prcp_mm", "Rx1day", "mm", 132.1, 105),
    ],
)
def test_station_levels_quoted_in_the_docs(
    sample_levels, wmo, column, variable, units, station, rarity
):
    maxima = annual_maxima(read_ghcn_monthly(observed_file(GHCN_STATIONS[wmo].monthly_file)))
    key = "txx" if variable == "TXx" else "rx1day"
    result = compare_return_level(
        maxima[column], sample_levels[key], variable=variable, units=units
    )
    assert result.station_level == pytest.approx(station, abs=0.05)
    assert result.sample_return_period_at_station == pytest.approx(rarity, rel=0.01)
