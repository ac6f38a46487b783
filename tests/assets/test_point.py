"""assets.point.sample_point agrees with assets.overlay.sample_layer at single points."""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from assets.overlay import sample_layer
from assets.point import sample_point

from .test_overlay import grid_layer, station_layer


def _reference(layer, lon, lat, names):
    site = gpd.GeoDataFrame({"asset_id": ["p"]}, geometry=[Point(lon, lat)], crs="EPSG:4326")
    return sample_layer(layer, site, variables=names).isel(asset_id=0)


# inside, on cell edges, within one spacing outside, beyond it, and near each station
POINTS = [
    (121.04, 31.06),
    (121.15, 31.15),
    (121.31, 31.22),
    (120.92, 30.91),
    (120.89, 31.0),
    (121.41, 31.3),
    (121.5, 31.39),
    (121.23, 30.99),
    (121.9, 31.39),
    (122.2, 30.5),
]


@pytest.mark.parametrize(("lon", "lat"), POINTS)
@pytest.mark.parametrize("make", [grid_layer, station_layer])
def test_point_sample_matches_sample_layer(make, lon, lat):
    layer = make()
    names = [str(n) for n, v in layer.data_vars.items() if {"lat", "station"} & set(v.dims)]
    got = sample_point(layer, lon, lat, variables=names)
    reference = _reference(layer, lon, lat, names)
    assert got.outside == bool(reference["outside_layer"].values)
    if got.outside:
        return  # sample_layer masks the values with NaN; the check raises instead
    for name in names:
        expected = reference[name].transpose(*got.dims[name]).values
        np.testing.assert_array_equal(got.values[name], expected)
    if "station_distance_km" in reference.coords:
        # same haversine on the same radius: equal to rounding
        assert got.distance_km == pytest.approx(float(reference["station_distance_km"]), rel=1e-12)
