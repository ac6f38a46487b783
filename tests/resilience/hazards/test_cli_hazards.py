"""``resilience hazards heat|rain|drainage`` on real sample NetCDF files, through the CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from hazard_models.layer import validate_hazard_layer
from hazard_models.rain.idf import SHANGHAI_DB31_T1043, effective_return_period
from hazard_models.rain.idf_layer import drainage_check
from resilience.cli.main import app
from resilience.sample.projections import write_sample_projections

RUNNER = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def projections_dir(tmp_path_factory):
    """Two synthetic models, historical 1995-2014 and ssp585 2081-2100 (240 real files)."""
    out = tmp_path_factory.mktemp("projections")
    experiments = {"historical": range(1995, 2015), "ssp585": range(2081, 2101)}
    write_sample_projections(out, experiments=experiments)
    return out


def _invoke(*args: str, env: dict | None = None):
    result = RUNNER.invoke(app, ["hazards", *args], env=env)
    return result


def test_heat_writes_a_valid_layer_and_maps(projections_dir, tmp_path):
    out = tmp_path / "heat.nc"
    result = _invoke(
        "heat", "--projections", str(projections_dir), "--horizons", "far", "--out", str(out),
        "--plot",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    layer = validate_hazard_layer(xr.load_dataset(out))
    assert layer["horizon"].values.tolist() == ["baseline", "far"]
    assert {"tropical_nights", "cooling_degree_days", "tnx", "tg_mean"} <= set(layer.data_vars)
    # The sample warms ssp585 by about 4 degC by the far horizon (docs/sample.md).
    warming = float(layer["tg_mean_change"].sel(horizon="far", quantile=0.5).mean())
    assert 3.0 < warming < 5.5
    for name in ("heat_txx_map.png", "heat_txx_change.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
    assert "txx 20-yr" in result.output and "ssp585" in result.output
    # the long step says what it is doing (issue 19): phases and tenths of the tasks
    assert "planning the heat layer" in result.output and "computing: 50% of" in result.output
    assert f"written {out} in " in result.output
    # every value says what it counts: no bare "1" after a number (issue 19)
    text = " ".join(result.output.split())
    assert "events/yr" in text and "days/yr" in text
    assert not re.search(r"\d 1 ", text), text


def test_display_units_say_what_is_counted():
    from resilience.hazards.build import display_units

    assert display_units({"units": "yr-1", "long_name": "mean annual number of heat waves"}) == (
        "events/yr"
    )
    assert display_units({"units": "days", "long_name": "mean annual days with Tmax >= 35"}) == (
        "days/yr"
    )
    length = {"units": "days", "long_name": "mean annual length of the longest heat wave"}
    assert display_units(length) == "days"
    assert display_units({"units": "mm", "long_name": "mean annual precipitation"}) == "mm/yr"
    assert display_units({"units": "1", "long_name": "fraction of ..."}) == "fraction"
    assert display_units({"units": "degC"}) == "degC"


def test_rain_writes_rain_and_idf_layers_and_the_idf_chart(projections_dir, tmp_path):
    out = tmp_path / "rain.nc"
    result = _invoke(
        "rain", "--projections", str(projections_dir), "--scenarios", "ssp585", "--out",
        str(out), "--plot", "--horizons", "far",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rain = validate_hazard_layer(xr.load_dataset(out))
    idf = validate_hazard_layer(xr.load_dataset(tmp_path / "rain_idf.nc"))
    assert idf.attrs["hazard"] == "idf" and (tmp_path / "rain_idf.png").is_file()
    # The IDF uplift at 100 yr is the rain layer's relative Rx1day change at 100 yr.
    change = rain["rx1day_change"].sel(return_period=100, horizon="far", quantile=0.5)
    uplift = idf["idf_uplift"].sel(return_period=100, horizon="far", quantile=0.5)
    np.testing.assert_allclose(uplift.values, 1 + change.values / 100, rtol=1e-6)

    drained = _invoke(
        "drainage", "--idf", str(tmp_path / "rain_idf.nc"), "--lat", "31.23", "--lon",
        "121.47", "--design-return-period", "5", "--duration", "60", "--peak-ratio", "0.405",
    )  # fmt: skip
    assert drained.exit_code == 0, drained.output
    assert "baseline" in drained.output and "5.00 yr" in drained.output
    assert "r = 0.405" in drained.output and "pipe class (at least 3 yr" in drained.output
    # Judged against the 5 years asked for (not the pipe class's 3-yr minimum): one BELOW per
    # scenario x horizon whose median effective period is under 5 years.
    effective = drainage_check(
        xr.load_dataset(tmp_path / "rain_idf.nc"), 5.0, lat=31.23, lon=121.47
    ).sel(quantile=0.5)
    below = int((effective < 5.0 * (1 - 1e-9)).sum())
    assert 0 < below < effective.size  # the sample's far horizon falls under 5 yr, today not
    assert drained.output.count("BELOW") == below + 1  # + the note explaining BELOW
    assert drained.output.count(" met ") + drained.output.count(" met│") >= 1


def test_clausius_clapeyron_setting_needs_the_heat_layer(projections_dir, tmp_path):
    env = {"RESILIENCE_RAIN_UPLIFT_METHOD": "clausius_clapeyron"}
    args = ["rain", "--projections", str(projections_dir), "--out", str(tmp_path / "r.nc")]
    failed = _invoke(*args, "--horizons", "far", env=env)
    assert failed.exit_code == 2 and "--heat-layer" in failed.output
    heat = tmp_path / "h.nc"
    made = _invoke("heat", "--projections", str(projections_dir), "--out", str(heat))
    assert made.exit_code == 2 and "expected years 2021-2040 for horizon 'near'" in made.output
    made = _invoke(
        "heat", "--projections", str(projections_dir), "--out", str(heat), "--horizons", "far"
    )
    assert made.exit_code == 0, made.output
    ok = _invoke(*args, "--horizons", "far", "--heat-layer", str(heat), env=env)
    assert ok.exit_code == 0, ok.output
    idf = xr.load_dataset(tmp_path / "r_idf.nc")
    warming = xr.load_dataset(heat)["tg_mean_change"]
    expected = 1.07 ** warming.sel(horizon="far", quantile=0.5)
    got = idf["idf_uplift"].sel(horizon="far", quantile=0.5, return_period=5)
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-9)
    # Uniform uplift: the drainage check is the closed form of hazard_models.rain.idf.
    site = got.sel(lat=31.23, lon=121.47, method="nearest").isel(scenario=0)
    closed = effective_return_period(5.0, float(site), SHANGHAI_DB31_T1043)
    drained = _invoke(
        "drainage", "--idf", str(tmp_path / "r_idf.nc"), "--lat", "31.23", "--lon", "121.47",
        "--design-return-period", "5",
    )  # fmt: skip
    assert f"{closed:.2f} yr" in drained.output


def test_errors_name_the_option(projections_dir, tmp_path):
    bad = _invoke("heat", "--projections", str(projections_dir), "--horizons", "later")
    assert bad.exit_code == 2 and "--horizons: expected names from" in bad.output
    missing = _invoke("rain", "--projections", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "nowhere" in missing.output
    ratio = _invoke(
        "drainage", "--lat", "31", "--lon", "121", "--design-return-period", "5",
        "--peak-ratio", "1.5", "--idf", str(tmp_path / "x.nc"),
    )  # fmt: skip
    assert ratio.exit_code == 2 and "peak_ratio" in ratio.output


def test_change_map_dots_cells_where_models_disagree(tmp_path):
    """Stippling follows {variable}_robustness < 0.8 (IPCC AR6 model agreement)."""
    import matplotlib

    from resilience.hazards.plots import plot_change_map

    matplotlib.use("Agg")
    coords = {"scenario": ["ssp585"], "horizon": ["far"], "quantile": [0.5]}
    coords |= {"lat": [31.0, 31.1], "lon": [121.0, 121.1, 121.2]}
    change = xr.DataArray(np.ones((1, 1, 1, 2, 3)), dims=tuple(coords), coords=coords)
    robust = xr.DataArray(
        [[[[1.0, 0.5, 1.0], [0.5, 0.5, 1.0]]]],
        dims=("scenario", "horizon", "lat", "lon"),
        coords={k: v for k, v in coords.items() if k != "quantile"},
    )
    layer = xr.Dataset({"x_change": change.assign_attrs(units="K"), "x_robustness": robust})
    drawn = []
    import matplotlib.axes

    original = matplotlib.axes.Axes.scatter

    def spy(self, x, y, *args, **kwargs):
        drawn.append(sorted(zip(np.asarray(x).tolist(), np.asarray(y).tolist(), strict=True)))
        return original(self, x, y, *args, **kwargs)

    matplotlib.axes.Axes.scatter = spy
    try:
        path = plot_change_map(layer, "x", tmp_path / "c.png", scenario="ssp585", horizon="far")
    finally:
        matplotlib.axes.Axes.scatter = original
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert drawn == [[(121.0, 31.1), (121.1, 31.0), (121.1, 31.1)]]


def test_maps_have_outlines_a_period_title_and_explain_their_dots():
    """Issue 19: district outlines and the coast on every map, the return period in the
    title of a return level, and a legend for the dots of a change map."""
    import matplotlib

    from resilience.geodata.geography import open_districts
    from resilience.hazards.plots import DISAGREE_LABEL, _period_text, _select, map_figure

    matplotlib.use("Agg")
    coords = {"scenario": ["ssp585"], "horizon": ["far"], "return_period": [10.0, 20.0, 100.0]}
    coords |= {"lat": [31.0, 31.1, 31.2], "lon": [121.3, 121.4, 121.5]}
    level = xr.DataArray(np.ones((1, 1, 3, 3, 3)), dims=tuple(coords), coords=coords)
    field = _select(level.assign_attrs(units="degC"), "ssp585", "far", 100.0)
    assert _period_text(field) == "100-yr "
    stipple = xr.DataArray(
        np.eye(3, dtype=bool),
        dims=("lat", "lon"),
        coords={"lat": coords["lat"], "lon": coords["lon"]},
    )
    figure = map_figure(field, "100-yr TXx", cmap="magma_r", centred=False, stipple=stipple)
    ax = figure.axes[0]
    # one line per district ring and the municipality's outline, at least 16 districts
    assert len(ax.lines) >= len(open_districts()) + 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [DISAGREE_LABEL]
    assert ax.get_xlim()[1] - ax.get_xlim()[0] < 0.5  # zoomed to the cells, not the city
    plain = map_figure(field, "x", cmap="magma_r", centred=False)
    assert plain.axes[0].get_legend() is None  # no dots, no legend
