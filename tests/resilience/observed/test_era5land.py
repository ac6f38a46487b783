"""ERA5-Land reader: CF layout, units, gaps reported, errors on bad files, usable by adjust_qdm."""

import hashlib

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from resilience.climate.bias import adjust_qdm
from resilience.observed.era5land import (
    complete_years,
    era5land_at_points,
    era5land_gaps,
    era5land_on_grid,
    fill_sea_cells,
    open_era5land,
)
from resilience.observed.shipped import ERA5LAND_FILE, observed_file
from resilience.sample.weather import LAT, LON
from resilience.schema import SchemaError


def test_opens_as_an_observed_cf_dataset(era5land):
    ds = era5land
    assert set(ds.data_vars) == {"tasmax", "tasmin", "tas", "pr"}
    assert all(ds[v].dims == ("time", "lat", "lon") for v in ds.data_vars)
    assert [ds[v].attrs["units"] for v in ("tasmax", "tasmin", "tas", "pr")] == [
        "degC",
        "degC",
        "degC",
        "mm/day",
    ]
    assert np.all(np.diff(ds["lat"]) > 0) and np.all(np.diff(ds["lon"]) > 0)
    assert ds.attrs["synthetic"] == "no"
    assert "Copernicus" in ds.attrs["license"] and "Munoz-Sabater" in ds.attrs["references"]
    assert "MLPJ17" in ds.attrs["source"]
    assert ds.sizes == {"time": 5823, "lat": 15, "lon": 16}
    assert ds.attrs["sea_cells"].startswith("108 of 240")


def test_values_match_the_file_read_with_netcdf4(era5land):
    """Independent read: netCDF4 applies scale_factor itself; latitude is stored descending."""
    with netCDF4.Dataset(observed_file(ERA5LAND_FILE)) as nc:
        lat = nc["latitude"][:]
        row = int(np.argmin(np.abs(lat - 31.2)))
        col = int(np.argmin(np.abs(nc["longitude"][:] - 121.5)))
        raw = np.ma.filled(nc["tasmax"][:, row, col].astype(float), np.nan)
        pr = np.ma.filled(nc["pr"][:, row, col].astype(float), np.nan)
    ours = era5land["tasmax"].sel(lat=31.2, lon=121.5, method="nearest").values
    np.testing.assert_allclose(ours, raw, atol=1e-4, equal_nan=True)  # float32 of 0.01 steps
    np.testing.assert_allclose(
        era5land["pr"].sel(lat=31.2, lon=121.5, method="nearest").values,
        pr,
        atol=1e-4,
        equal_nan=True,
    )


def test_gaps_are_reported_not_filled(era5land):
    gaps = {(g.field, g.start, g.end, g.steps) for g in era5land_gaps(era5land)}
    assert ("tasmax", "2010-01-01", "2010-01-01", 1) in gaps
    assert ("tasmax", "2025-12-10", "2025-12-10", 1) in gaps
    assert ("pr", "2015-10-31", "2024-12-30", 3349) in gaps
    assert era5land["pr"].attrs["missing_days"] == 3349
    assert "pr: 2015-10-31..2024-12-30 (3349" in era5land.attrs["gaps"]
    # the gap stays NaN on land
    assert bool(era5land["pr"].sel(time="2020-07-01").isnull().all())


def test_complete_years_follow_the_rclimdex_rule(era5land):
    assert complete_years(era5land, "tasmax") == list(range(2010, 2025))  # 2025 ends 12-09
    assert complete_years(era5land, "pr") == list(range(2010, 2015))  # 2015 ends in October


def test_cut_to_the_sample_grid_keeps_sea_cells_nan(era5land):
    cut = era5land_on_grid(era5land, LAT, LON)
    assert cut.sizes == {"time": 5823, "lat": 14, "lon": 14}
    np.testing.assert_array_equal(cut["lat"], LAT)
    expected = era5land["tasmax"].sel(lat=31.5, lon=121.0, method="nearest")
    np.testing.assert_array_equal(cut["tasmax"].sel(lat=31.5, lon=121.0), expected)
    sea = int(cut["tasmax"].isnull().all("time").sum())
    assert cut.attrs["sea_cells"] == f"{sea} of 196 cells have no value (sea)"
    with pytest.raises(SchemaError, match="lat 30.65 is not on the ERA5-Land grid"):
        era5land_on_grid(era5land, [30.65], [121.0])


def test_points_take_the_nearest_land_cell(era5land):
    points = era5land_at_points(era5land, {"centre": (31.23, 121.47)})
    assert points["tasmax"].dims == ("time", "station")
    assert float(points["cell_lat"][0]) == pytest.approx(31.2)
    assert float(points["cell_lon"][0]) == pytest.approx(121.5)
    assert float(points["lat"][0]) == 31.23
    with pytest.raises(SchemaError, match=r"point 'offshore' .* sea cell; nearest land cell"):
        era5land_at_points(era5land, {"offshore": (31.0, 122.3)})


def test_adjust_qdm_accepts_it_as_reference(era5land):
    """A model 2 degC too warm over 2010-2014 is corrected to ERA5-Land on its own grid."""
    lat, lon = [31.2, 31.3], [121.3, 121.4]
    reference = era5land_on_grid(era5land, lat, lon)
    time = pd.date_range("2010-01-01", "2016-12-31", freq="D")
    truth = reference["tasmax"].reindex(time=time).values
    historical = np.where((time.year <= 2014)[:, None, None], truth + 2.0, np.nan)
    future = np.where((time.year >= 2015)[:, None, None], truth + 3.0, np.nan)
    values = np.stack([historical, future])[None].astype(np.float32)
    projections = xr.Dataset(
        {"tasmax": (("model", "scenario", "time", "lat", "lon"), values, {"units": "degC"})},
        coords={
            "model": ["M"],
            "scenario": ["historical", "ssp245"],
            "time": time,
            "lat": lat,
            "lon": lon,
        },
    )
    adjusted = adjust_qdm(projections, reference, variables=["tasmax"], baseline=(2010, 2014))
    hist = adjusted["tasmax"].sel(model="M", scenario="historical", time=slice("2010", "2014"))
    observed = reference["tasmax"].sel(time=slice("2010", "2014"))
    # monthly means back on ERA5-Land within 0.2 degC (interpolation between 50 nodes)
    difference = hist.groupby("time.month").mean() - observed.groupby("time.month").mean()
    assert float(np.abs(difference).max()) < 0.2
    assert "ERA5-Land" in adjusted["tasmax"].attrs["bias_adjustment"]
    assert adjusted.attrs.get("synthetic", "no") == "no"


def write_small(path, *, units="degC", tasmax_offset=0.0, times=None, drop=None):
    times = pd.date_range("2012-01-01", periods=40, freq="D") if times is None else times
    shape = (len(times), 2, 2)
    base = np.full(shape, 20.0)
    data = {
        "tasmax": (base + 5 + tasmax_offset, units),
        "tasmin": (base - 5, "degC"),
        "tas": (base, "degC"),
        "pr": (np.full(shape, 1.0), "mm/day"),
    }
    ds = xr.Dataset(
        {k: (("time", "latitude", "longitude"), v, {"units": u}) for k, (v, u) in data.items()},
        coords={"time": times, "latitude": [31.1, 31.0], "longitude": [121.0, 121.1]},
    )
    if drop:
        ds = ds.drop_vars(drop)
    ds.to_netcdf(path)
    return path


def test_kelvin_is_converted_and_recorded(tmp_path):
    path = write_small(tmp_path / "k.nc", units="K", tasmax_offset=273.15)
    ds = open_era5land(path)
    assert ds["tasmax"].attrs["units"] == "degC"
    assert ds["tasmax"].attrs["original_units"] == "K"
    np.testing.assert_allclose(ds["tasmax"].values, 25.0, atol=1e-4)
    assert list(ds["lat"].values) == [31.0, 31.1]  # sorted ascending


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": "degF"}, r"k.nc: variable 'tasmax': units 'degF'; expected one of"),
        ({"tasmax_offset": 100.0}, r"values 125\.\.125 degC; expected within the world records"),
        ({"drop": "pr"}, r"variable 'pr' missing"),
        ({"tasmax_offset": -20.0}, r"cell-days with tas > tasmax"),
        (
            {"times": pd.DatetimeIndex(["2012-01-02", "2012-01-01"])},
            "expected strictly increasing days",
        ),
    ],
)
def test_bad_files_are_named(tmp_path, kwargs, message):
    path = write_small(tmp_path / "k.nc", **kwargs)
    with pytest.raises(SchemaError, match=message):
        open_era5land(path)


def test_a_day_absent_from_the_file_is_a_gap(tmp_path):
    times = pd.date_range("2012-01-01", periods=40, freq="D").delete(10)
    ds = open_era5land(write_small(tmp_path / "gap.nc", times=times))
    assert ds.sizes["time"] == 40
    assert "tasmax: 2012-01-11 (1, no value on any land cell)" in ds.attrs["gaps"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nc: file not found"):
        open_era5land(tmp_path / "nope.nc")


def test_shipped_file_is_the_documented_copy():
    digest = hashlib.sha256(observed_file(ERA5LAND_FILE).read_bytes()).hexdigest()
    assert digest == "e63b9da58dc9628956751869dcee483f7706a437200d7180371c699dedd09660"


def test_sea_cells_take_the_nearest_land_cell(era5land):
    grid = era5land_on_grid(era5land, LAT, LON)
    filled = fill_sea_cells(grid)
    sea = grid["tasmax"].isnull().all("time").values
    assert sea.sum() == 74 and not filled["tasmax"].isnull().all("time").any()
    # land cells untouched, bit for bit
    np.testing.assert_array_equal(filled["tasmax"].values[:, ~sea], grid["tasmax"].values[:, ~sea])
    # each filled cell equals the land cell nearest to it, computed independently here
    lat2d, lon2d = np.meshgrid(LAT, LON, indexing="ij")
    land = np.argwhere(~sea)
    for i, j in np.argwhere(sea)[::9]:
        d = (lat2d[~sea] - LAT[i]) ** 2 + ((lon2d[~sea] - LON[j]) * np.cos(np.deg2rad(LAT[i]))) ** 2
        k, m = land[int(np.argmin(d))]
        np.testing.assert_array_equal(
            filled["tasmax"].values[:, i, j], grid["tasmax"].values[:, k, m]
        )
    assert filled.attrs["sea_cells_filled"].startswith("74 cells with no tasmax")
    assert fill_sea_cells(filled) is filled  # nothing left to fill
    with pytest.raises(SchemaError, match="no cell has a value"):
        fill_sea_cells(grid.where(grid["lat"] > 90))
