import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from shapely.geometry import LineString, Point, Polygon

from assets.overlay import sample_layer
from hazard_models.layer import SchemaError, horizon_coords, validate_hazard_layer

SCENARIOS = ["ssp126", "ssp585"]
LAT = np.array([31.0, 31.1, 31.2])
LON = np.array([121.0, 121.1, 121.2, 121.3])
GLOBAL = {"hazard": "heat", "layer_version": "1", "inputs_sha256": "abc", "code_version": "0"}


def attrs(units):
    return {"units": units, "long_name": "test variable", "method": "hand-made test layer"}


def grid_layer():
    """Cell (i, j) holds 10*i + j (+100 for the second return period): easy to read back."""
    cells = 10 * np.arange(3)[:, None] + np.arange(4)[None, :]
    txx = np.broadcast_to(cells, (2, 4, 2, 3, 3, 4)) + np.array([0, 100])[:, None, None, None]
    loc = np.broadcast_to(cells, (2, 4, 3, 4)).astype(float)
    scale = np.broadcast_to(np.where(cells == 0, 50.0, 1.0), (2, 4, 3, 4))  # cell 0: huge tail
    ds = xr.Dataset(
        {
            "txx": (
                ("scenario", "horizon", "return_period", "quantile", "lat", "lon"),
                txx.astype(float),
                attrs("degC"),
            ),
            "txx_gev_loc": (("scenario", "horizon", "lat", "lon"), loc, attrs("degC")),
            "txx_gev_scale": (("scenario", "horizon", "lat", "lon"), scale, attrs("degC")),
            "txx_gev_shape": (
                ("scenario", "horizon", "lat", "lon"),
                np.zeros((2, 4, 3, 4)),
                attrs("1"),
            ),
        },
        coords={
            "scenario": SCENARIOS,
            "return_period": [20.0, 100.0],
            "quantile": [0.1, 0.5, 0.9],
            "lat": LAT,
            "lon": LON,
            **horizon_coords(),
        },
        attrs=GLOBAL,
    )
    return validate_hazard_layer(ds)


def station_layer():
    stations = ["wusong", "huangpu", "mishidu"]
    lat, lon = [31.39, 31.24, 30.99], [121.50, 121.49, 121.23]
    values = np.broadcast_to(np.array([5.0, 4.6, 3.6]), (2, 4, 3)).copy()
    ds = xr.Dataset(
        {"still_water_level_gev_loc": (("scenario", "horizon", "station"), values, attrs("m"))},
        coords={
            "scenario": SCENARIOS,
            "station": stations,
            "station_name": ("station", stations),
            "lat": ("station", lat),
            "lon": ("station", lon),
            "datum": ("station", ["wusong"] * 3),
            **horizon_coords(),
        },
        attrs={**GLOBAL, "hazard": "surge"},
    )
    return validate_hazard_layer(ds)


def frame(ids, geoms):
    return gpd.GeoDataFrame({"asset_id": ids}, geometry=geoms, crs="EPSG:4326")


def at(exposure, name, **sel):
    return exposure[name].isel(scenario=0, horizon=0, **sel).values


def test_point_takes_nearest_cell():
    assets = frame(
        ["a", "b", "c"], [Point(121.12, 31.04), Point(121.29, 31.16), Point(120.97, 31.21)]
    )
    exposure = sample_layer(grid_layer(), assets)
    np.testing.assert_array_equal(
        at(exposure, "txx", return_period=0, quantile=1), [1.0, 23.0, 20.0]
    )
    np.testing.assert_array_equal(
        at(exposure, "txx", return_period=1, quantile=1), [101.0, 123.0, 120.0]
    )
    assert exposure["txx"].dims == ("asset_id", "scenario", "horizon", "return_period", "quantile")
    assert list(exposure["asset_id"].values) == ["a", "b", "c"]
    assert not exposure["outside_layer"].any()


def test_line_and_polygon_take_max_over_touched_cells():
    line = LineString([(121.01, 31.01), (121.12, 31.02)])  # cells (0,0) and (0,1): max 1
    diagonal = LineString([(121.01, 31.01), (121.19, 31.19)])  # reaches cell (2,2) = 22
    square = Polygon(
        [(121.16, 31.06), (121.34, 31.06), (121.34, 31.14), (121.16, 31.14)]
    )  # row 1, cols 2-3
    exposure = sample_layer(grid_layer(), frame(["l", "d", "p"], [line, diagonal, square]))
    np.testing.assert_array_equal(
        at(exposure, "txx", return_period=0, quantile=0), [1.0, 22.0, 13.0]
    )
    np.testing.assert_array_equal(exposure["cells_touched"].values[[0, 2]], [2, 2])
    assert exposure["txx"].attrs["spatial_reduction"] == "max"


def test_gev_parameters_come_together_from_the_worst_cell():
    # line over cells (0,0) [loc 0, scale 50] and (0,1) [loc 1, scale 1]: cell 0 has the larger
    # 100-yr level, so loc AND scale come from it (a per-parameter max would mix 1 and 50)
    exposure = sample_layer(
        grid_layer(), frame(["l"], [LineString([(121.01, 31.01), (121.12, 31.02)])])
    )
    assert at(exposure, "txx_gev_loc")[0] == 0.0
    assert at(exposure, "txx_gev_scale")[0] == 50.0
    assert exposure["txx_gev_loc"].attrs["spatial_reduction"] == "worst_cell"


def test_outside_grid_is_nan_and_reported():
    # spacing 0.1 deg: 121.38 is 0.08 beyond the last centre (inside), 121.45 is 0.15 (outside)
    assets = frame(
        ["in", "out", "far"], [Point(121.38, 31.1), Point(121.45, 31.1), Point(125.0, 35.0)]
    )
    exposure = sample_layer(grid_layer(), assets)
    values = at(exposure, "txx", return_period=0, quantile=0)
    assert values[0] == 13.0 and np.isnan(values[1:]).all()
    np.testing.assert_array_equal(exposure["outside_layer"].values, [False, True, True])
    assert exposure.attrs["assets_outside"] == "out, far"


def test_attrs_kept_and_history_appended():
    exposure = sample_layer(grid_layer(), frame(["a"], [Point(121.1, 31.1)]), variables=["txx"])
    assert list(exposure.data_vars) == ["txx"]
    for key in ("units", "long_name", "method"):
        assert exposure["txx"].attrs[key] == grid_layer()["txx"].attrs[key]
    assert exposure.attrs["hazard"] == "heat"
    assert "sample_layer: 1 assets, 0 outside" in exposure.attrs["history"]
    assert list(exposure["start"].values) == [1995, 2021, 2041, 2081]


def test_station_layer_takes_nearest_station_by_great_circle():
    # 121.47, 31.23 is the Bund: Huangpu Park (1.8 km) is nearer than Wusong (18 km)
    assets = frame(
        ["bund", "jinshan", "sea"], [Point(121.47, 31.23), Point(121.25, 30.9), Point(124.0, 31.0)]
    )
    exposure = sample_layer(station_layer(), assets)
    assert list(exposure["station"].values[:2]) == ["huangpu", "mishidu"]
    np.testing.assert_array_equal(at(exposure, "still_water_level_gev_loc")[:2], [4.6, 3.6])
    # Bund -> Huangpu Park on a sphere of the IUGG mean radius, by PROJ's geodesic solver
    # (Karney 2013), independent of our haversine; the two agree to rounding
    from pyproj import Geod

    layer = station_layer()
    sphere = Geod(a=6371008.8, b=6371008.8)
    huangpu = layer.sel(station="huangpu")
    _, _, metres = sphere.inv(121.47, 31.23, float(huangpu["lon"]), float(huangpu["lat"]))
    assert exposure["station_distance_km"].values[0] == pytest.approx(metres / 1000, rel=1e-9)
    assert bool(exposure["outside_layer"].values[2]) and np.isnan(
        at(exposure, "still_water_level_gev_loc")[2]
    )


def test_line_uses_its_nearest_part_to_a_station():
    # a line from far inland ends next to Wusong: Wusong is the station nearest to the asset
    line = LineString([(121.0, 31.6), (121.49, 31.39)])
    exposure = sample_layer(station_layer(), frame(["l"], [line]))
    assert exposure["station"].values[0] == "wusong"
    assert exposure["station_distance_km"].values[0] < 1.5


def test_bad_input_is_rejected():
    with pytest.raises(SchemaError, match="EPSG:4326"):
        sample_layer(grid_layer(), frame(["a"], [Point(121.1, 31.1)]).to_crs(3857))
    with pytest.raises(SchemaError, match="not in layer"):
        sample_layer(grid_layer(), frame(["a"], [Point(121.1, 31.1)]), variables=["rx1day"])
