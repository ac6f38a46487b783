"""Grid lookups of the overlay (assets.overlay_grid) against brute force, and sample_layer on them.

The brute-force references are the definitions: the nearest centre is the first minimum of
``abs(centres - value)`` (the dense (point, centre) ``argmin`` the overlay used before), a
touched cell is one whose box ``shapely.intersects`` the geometry, tested against every box.
Results must be equal exactly (same float operations), so no tolerance is used.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from assets import overlay
from assets.overlay import sample_layer
from assets.overlay_grid import grid_spacing, nearest_cells, nearest_index, touched_cells
from hazard_models.layer import SchemaError, horizon_coords, validate_hazard_layer

from .test_overlay import GLOBAL, attrs, grid_layer


def brute_nearest(values, centres):
    return np.abs(centres[None, :] - values[:, None]).argmin(axis=1)


def brute_outside(x, y, lat, lon):
    dlat, dlon = np.diff(lat).max(), np.diff(lon).max()
    return (y < lat[0] - dlat) | (y > lat[-1] + dlat) | (x < lon[0] - dlon) | (x > lon[-1] + dlon)


def edges(centres):
    mid = (centres[1:] + centres[:-1]) / 2
    lower = np.r_[centres[0] - (centres[1] - centres[0]) / 2, mid]
    upper = np.r_[mid, centres[-1] + (centres[-1] - centres[-2]) / 2]
    return lower, upper


def brute_touched(geom, lat, lon):
    """Flat indices of every cell box that ``geom`` intersects, one box at a time."""
    (lat_lo, lat_hi), (lon_lo, lon_hi) = edges(lat), edges(lon)
    return [
        i * lon.size + j
        for i in range(lat.size)
        for j in range(lon.size)
        if shapely.box(lon_lo[j], lat_lo[i], lon_hi[j], lat_hi[i]).intersects(geom)
    ]


@st.composite
def axes(draw, start=31.0):
    """Strictly ascending, possibly irregular centres (2-12 cells of 0.01-0.5 deg)."""
    steps = draw(hnp.arrays(float, draw(st.integers(1, 11)), elements=st.floats(0.01, 0.5)))
    return np.round(start + np.r_[0.0, np.cumsum(steps)], 6)


@st.composite
def probes(draw, centres):
    """Values at centres, exact float mid-points and their ulp neighbours, borders and beyond."""
    mid = (centres[1:] + centres[:-1]) / 2
    spacing = np.diff(centres).max()
    special = np.r_[
        centres,
        mid,
        np.nextafter(mid, -np.inf),
        np.nextafter(mid, np.inf),
        centres[0] - spacing,
        centres[-1] + spacing,
        np.nextafter(centres[-1] + spacing, np.inf),
        centres[0] - spacing / 2,
        centres[-1] + spacing / 2,
    ]
    low, high = centres[0] - 2 * spacing, centres[-1] + 2 * spacing
    drawn = draw(hnp.arrays(float, draw(st.integers(0, 30)), elements=st.floats(low, high)))
    picked = draw(st.lists(st.sampled_from(list(special)), max_size=30))
    return np.r_[drawn, picked]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_nearest_index_equals_brute_force_argmin(data):
    centres = data.draw(axes())
    values = data.draw(probes(centres))
    np.testing.assert_array_equal(nearest_index(values, centres), brute_nearest(values, centres))


def test_midpoint_goes_to_the_lower_cell():
    centres = np.array([0.0, 1.0, 3.0])
    np.testing.assert_array_equal(nearest_index(np.array([0.5, 2.0, 2.5]), centres), [0, 1, 2])


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_nearest_cells_and_outside_flag_equal_brute_force(data):
    lat, lon = data.draw(axes(31.0)), data.draw(axes(121.0))
    y, x = data.draw(probes(lat)), data.draw(probes(lon))
    size = min(x.size, y.size)
    x, y = x[:size], y[:size]
    i_lat, i_lon, outside = nearest_cells(x, y, lat, lon)
    expected = brute_outside(x, y, lat, lon)
    np.testing.assert_array_equal(outside, expected)
    np.testing.assert_array_equal(i_lat[~expected], brute_nearest(y, lat)[~expected])
    np.testing.assert_array_equal(i_lon[~expected], brute_nearest(x, lon)[~expected])


def test_nan_coordinates_are_outside():
    lat, lon = np.array([31.0, 31.1]), np.array([121.0, 121.1])
    _, _, outside = nearest_cells(np.array([np.nan, 121.0]), np.array([31.0, 31.0]), lat, lon)
    np.testing.assert_array_equal(outside, [True, False])


def test_grid_spacing_rejects_bad_centres_by_name():
    with pytest.raises(SchemaError, match="lat: expected at least 2 grid cells"):
        grid_spacing(np.array([31.0]), "lat")
    with pytest.raises(SchemaError, match="lon: expected finite, strictly ascending"):
        grid_spacing(np.array([121.0, 121.2, 121.1]), "lon")
    with pytest.raises(SchemaError, match="lon: expected finite, strictly ascending"):
        grid_spacing(np.array([121.0, 121.0]), "lon")
    assert grid_spacing(np.array([1.0, 1.5, 2.5]), "lat") == 1.0


def random_geometries(rng, n, lat, lon):
    """Lines, boxes and points around the grid, some on cell edges, some beyond it."""
    (lat_lo, lat_hi), (lon_lo, lon_hi) = edges(lat), edges(lon)
    x = rng.uniform(lon[0] - 0.3, lon[-1] + 0.3, n)
    y = rng.uniform(lat[0] - 0.3, lat[-1] + 0.3, n)
    x[::4] = rng.choice(np.r_[lon_lo, lon_hi], x[::4].size)  # exactly on box edges
    y[1::4] = rng.choice(np.r_[lat_lo, lat_hi], y[1::4].size)
    dx, dy = rng.uniform(-0.25, 0.25, n), rng.uniform(-0.25, 0.25, n)
    kinds = rng.integers(0, 3, n)
    return [
        shapely.Point(x[i], y[i])
        if kinds[i] == 0
        else shapely.LineString([(x[i], y[i]), (x[i] + dx[i], y[i] + dy[i])])
        if kinds[i] == 1
        else shapely.box(x[i], y[i], x[i] + abs(dx[i]) + 1e-3, y[i] + abs(dy[i]) + 1e-3)
        for i in range(n)
    ]


def test_touched_cells_equal_brute_force_intersects():
    rng = np.random.default_rng(7)
    lat, lon = np.array([31.0, 31.1, 31.25, 31.3]), np.array([121.0, 121.1, 121.2])
    geoms = np.array(
        [g for g in random_geometries(rng, 300, lat, lon) if g.geom_type != "Point"], dtype=object
    )
    asset, cell = touched_cells(geoms, lat, lon)
    assert np.all(np.diff(asset * lat.size * lon.size + cell) > 0)  # sorted, no duplicates
    for i, geom in enumerate(geoms):
        assert cell[asset == i].tolist() == brute_touched(geom, lat, lon)


def random_layer(rng, lat, lon, dtype=float):
    """Random txx and GEV parameters (scale > 0, shape in (-0.3, 0.2)) on the given grid."""
    shape = (2, 4, 2, lat.size, lon.size)
    txx = rng.normal(30.0, 5.0, shape).astype(dtype)
    txx[1, 0] = txx[0, 0]  # the baseline horizon must be identical across scenarios
    base = (2, 4, lat.size, lon.size)
    params = [rng.normal(30, 3, base), rng.uniform(0.5, 3, base), rng.uniform(-0.3, 0.2, base)]
    for p in params:
        p[1, 0] = p[0, 0]
    dims = ("scenario", "horizon", "lat", "lon")
    ds = xr.Dataset(
        {
            "txx": (("scenario", "horizon", "return_period", "lat", "lon"), txx, attrs("degC")),
            "txx_gev_loc": (dims, params[0], attrs("degC")),
            "txx_gev_scale": (dims, params[1], attrs("degC")),
            "txx_gev_shape": (dims, params[2], attrs("1")),
        },
        coords={
            "scenario": ["ssp126", "ssp585"],
            "return_period": [20.0, 100.0],
            "lat": lat,
            "lon": lon,
            **horizon_coords(),
        },
        attrs=GLOBAL,
    )
    return validate_hazard_layer(ds)


def brute_exposure(layer, geoms):
    """txx (max over touched cells) and the GEV loc of the worst cell, by brute force."""
    from hazard_models.extremes.gev import return_level

    lat, lon = layer["lat"].values, layer["lon"].values
    txx = layer["txx"].values.reshape(2, 4, 2, -1).astype(float)
    loc, scale, shape = (
        layer[f"txx_gev_{p}"].values.reshape(2, 4, -1) for p in ("loc", "scale", "shape")
    )
    out_txx = np.full((len(geoms), 2, 4, 2), np.nan)
    out_loc = np.full((len(geoms), 2, 4), np.nan)
    for i, geom in enumerate(geoms):
        cells = [] if geom.geom_type == "Point" else brute_touched(geom, lat, lon)
        if not cells:
            anchor = geom if geom.geom_type == "Point" else geom.point_on_surface()
            x, y = np.array([anchor.x]), np.array([anchor.y])
            if brute_outside(x, y, lat, lon)[0]:
                continue
            cells = [int(brute_nearest(y, lat)[0] * lon.size + brute_nearest(x, lon)[0])]
        out_txx[i] = txx[..., cells].max(axis=-1)
        level = return_level(loc[..., cells], scale[..., cells], shape[..., cells], 100.0)
        out_loc[i] = np.take_along_axis(loc[..., cells], level.argmax(axis=-1)[..., None], axis=-1)[
            ..., 0
        ]
    return out_txx, out_loc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_layer_equals_brute_force_on_random_geometries(seed):
    rng = np.random.default_rng(seed)
    lat = np.round(31.0 + np.cumsum(rng.uniform(0.05, 0.15, 5)), 6)
    lon = np.round(121.0 + np.cumsum(rng.uniform(0.05, 0.15, 6)), 6)
    layer = random_layer(rng, lat, lon)
    geoms = random_geometries(rng, 200, lat, lon)
    assets = gpd.GeoDataFrame({"asset_id": np.arange(200)}, geometry=geoms, crs="EPSG:4326")
    exposure = sample_layer(layer, assets)
    expected_txx, expected_loc = brute_exposure(layer, geoms)
    np.testing.assert_array_equal(exposure["txx"].values, expected_txx)
    np.testing.assert_array_equal(exposure["txx_gev_loc"].values, expected_loc)
    np.testing.assert_array_equal(exposure["outside_layer"].values, np.isnan(expected_loc[:, 0, 0]))
    assert exposure["outside_layer"].any() and not exposure["outside_layer"].all()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_points_equal_brute_force_nearest_centre(data):
    lat, lon = data.draw(axes(31.0)), data.draw(axes(121.0))
    y, x = data.draw(probes(lat)), data.draw(probes(lon))
    size = min(x.size, y.size)
    x, y = x[:size], y[:size]
    rng = np.random.default_rng(0)
    layer = random_layer(rng, lat, lon)
    assets = gpd.GeoDataFrame(
        {"asset_id": np.arange(size)}, geometry=shapely.points(x, y), crs="EPSG:4326"
    )
    exposure = sample_layer(layer, assets)
    outside = brute_outside(x, y, lat, lon)
    expected = layer["txx"].values[..., brute_nearest(y, lat), brute_nearest(x, lon)]
    expected = np.moveaxis(expected, -1, 0)
    expected[outside] = np.nan
    np.testing.assert_array_equal(exposure["txx"].values, expected)
    np.testing.assert_array_equal(exposure["outside_layer"].values, outside)
    np.testing.assert_array_equal(exposure["cells_touched"].values, (~outside).astype(int))


def test_chunked_reduction_equals_one_chunk(monkeypatch):
    rng = np.random.default_rng(3)
    lat, lon = np.round(31.0 + 0.1 * np.arange(6), 6), np.round(121.0 + 0.1 * np.arange(7), 6)
    layer = random_layer(rng, lat, lon)
    geoms = random_geometries(rng, 150, lat, lon)
    assets = gpd.GeoDataFrame({"asset_id": np.arange(150)}, geometry=geoms, crs="EPSG:4326")
    whole = sample_layer(layer, assets)
    monkeypatch.setattr(overlay, "_CHUNK_VALUES", 100)  # a few pairs per chunk
    xr.testing.assert_identical(sample_layer(layer, assets), whole)


def test_integer_layer_gives_float_with_nan_outside():
    layer = grid_layer()
    layer["txx"] = layer["txx"].astype("int32")
    assets = gpd.GeoDataFrame(
        {"asset_id": ["in", "out"]},
        geometry=[shapely.Point(121.12, 31.04), shapely.Point(125.0, 31.0)],
        crs="EPSG:4326",
    )
    values = sample_layer(layer, assets, variables=["txx"])["txx"]
    assert values.dtype == np.float64
    assert values.values[0, 0, 0, 0, 0] == 1.0 and np.isnan(values.values[1]).all()


def test_grid_of_one_cell_is_rejected_by_name():
    layer = grid_layer().isel(lat=[0])
    assets = gpd.GeoDataFrame(
        {"asset_id": ["a"]}, geometry=[shapely.Point(121.0, 31.0)], crs="EPSG:4326"
    )
    with pytest.raises(SchemaError, match="lat: expected at least 2 grid cells"):
        sample_layer(layer, assets)
