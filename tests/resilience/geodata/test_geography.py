"""Shipped geography files exist, load with the documented schema, and the DEM samples right."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hazard_models.layer import SchemaError
from resilience.geodata.geography import (
    data_path,
    nearest_valid_cells,
    open_dem,
    open_districts,
    open_municipality,
    sample_elevation,
)


def test_shipped_files_and_provenance_exist() -> None:
    for folder, name in [
        ("geography", "shanghai_districts.geojson"),
        ("geography", "shanghai_municipality.geojson"),
        ("gridded", "shanghai_dem_30arcsec_meteva_subset.nc"),
        ("assets", "shanghai_metro_stations_2017.csv"),
        ("assets", "shanghai_area_airports_stations_openflights.csv"),
        ("assets", "shanghai_facilities.csv"),
    ]:
        assert data_path(folder, name).is_file(), name
        assert data_path(folder, "PROVENANCE.md").is_file(), folder


def test_open_districts_has_16_districts_with_codes_and_names() -> None:
    districts = open_districts()
    assert len(districts) == 16
    assert list(districts.columns) == ["district_code", "name_zh", "name_en", "geometry"]
    assert districts.crs.to_epsg() == 4326
    assert "GCJ-02" in districts.attrs["crs_note"]
    assert districts["district_code"].str.fullmatch(r"31\d{4}").all()
    huangpu = districts.set_index("district_code").loc["310101"]
    assert huangpu["name_en"] == "Huangpu" and huangpu["name_zh"] == "黄浦区"
    # People's Square lies in Huangpu district (WGS-84 position from the metro file)
    from shapely import Point

    assert huangpu.geometry.contains(Point(121.4706, 31.2349))


def test_open_districts_rejects_a_file_without_names(tmp_path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":"1"},'
        '"geometry":{"type":"Point","coordinates":[121,31]}}]}'
    )
    with pytest.raises(SchemaError, match="missing \\['name_zh', 'name_en'\\]"):
        open_districts(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_districts(tmp_path / "none.geojson")


def test_municipality_outline_contains_every_district_centroid() -> None:
    outline = open_municipality().geometry.iloc[0]
    points = open_districts().geometry.representative_point()
    assert points.within(outline).all()


def test_open_dem_is_ascending_metres_with_nan_sea() -> None:
    dem = open_dem()
    assert dem.dims == ("lat", "lon") and dem.attrs["units"] == "m"
    assert (np.diff(dem["lat"]) > 0).all() and (np.diff(dem["lon"]) > 0).all()
    assert dem.shape == (180, 192)
    # the box covers open sea east of 122.2E: those cells are NaN, not -999
    assert np.isnan(dem.sel(lat=31.0, lon=122.3, method="nearest"))
    assert float(dem.min()) > -5 and float(dem.max()) < 200


def test_open_dem_sorts_a_descending_grid_and_checks_units(tmp_path) -> None:
    values = np.arange(12.0).reshape(3, 4)
    grid = xr.DataArray(
        values,
        dims=("lat", "lon"),
        coords={"lat": [31.2, 31.1, 31.0], "lon": [121.0, 121.1, 121.2, 121.3]},
        name="elevation",
        attrs={"units": "m"},
    )
    grid.to_netcdf(tmp_path / "dem.nc")
    dem = open_dem(tmp_path / "dem.nc")
    assert list(dem["lat"].values) == [31.0, 31.1, 31.2]
    assert float(dem.sel(lat=31.2, lon=121.0)) == 0.0
    grid.attrs["units"] = "ft"
    grid.to_netcdf(tmp_path / "dem_ft.nc")
    with pytest.raises(SchemaError, match="expected elevation units 'm'"):
        open_dem(tmp_path / "dem_ft.nc")


def _toy_dem() -> xr.DataArray:
    """3x3 cells of 0.01 deg (~1.1 km N-S): west column land, the rest sea (NaN)."""
    values = np.array([[1.0, np.nan, np.nan], [2.0, np.nan, np.nan], [3.0, np.nan, np.nan]])
    return xr.DataArray(
        values,
        dims=("lat", "lon"),
        coords={"lat": [31.00, 31.01, 31.02], "lon": [121.00, 121.01, 121.02]},
        attrs={"units": "m"},
    )


def test_sample_elevation_takes_the_nearest_valid_cell_for_a_coastal_point() -> None:
    dem = _toy_dem()
    # on a land cell: its own value; one sea cell east of the middle row: the middle land cell
    values, distance = nearest_valid_cells(dem, [121.0, 121.01], [31.01, 31.011])
    assert values.tolist() == [2.0, 2.0]
    assert distance[0] == pytest.approx(0.0)
    # 0.01 deg of longitude at 31N is 1.11195 km * cos(31 deg) = 0.953 km; equirectangular
    # distance is exact to < 0.1 % at this scale
    assert distance[1] == pytest.approx(np.hypot(0.953, 0.111), rel=2e-3)
    # two sea cells east (~1.9 km) is within 2 km; with a 1 km radius it is NaN
    assert sample_elevation(dem, [121.02], [31.0]).tolist() == [1.0]
    assert np.isnan(sample_elevation(dem, [121.02], [31.0], max_distance_km=1.0)).all()


def test_sample_elevation_on_the_shipped_dem_at_known_points() -> None:
    dem = open_dem()
    # Pudong airport sits on land reclaimed after the DEM: its own cell is NaN, and the
    # nearest valid cell lies within 1 km (measured 0.77 km)
    assert np.isnan(dem.sel(lon=121.805, lat=31.1434, method="nearest"))
    values, distance = nearest_valid_cells(dem, [121.805], [31.1434])
    assert np.isfinite(values[0]) and 0.3 < distance[0] < 1.0
    # Hongqiao airport: inland plain, 3-5 m (the DEM's suburban level)
    assert 2.0 <= sample_elevation(dem, [121.336], [31.198])[0] <= 6.0
