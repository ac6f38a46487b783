"""resilience.climate.normalise: CF axes, names, units, wrap/sort, calendars, regions, errors."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import shapely
import xarray as xr
from dask.callbacks import Callback

from resilience.climate.normalise import normalise, open_source
from resilience.climate.projection_file import ClimateDataError
from resilience.climate.projections import horizon_slice
from resilience.schema import CANONICAL_UNITS, Horizon

LAT = np.arange(28.0, 34.01, 0.5)  # 13 cells, 0.5 degree, as NEX-GDDP-CMIP6 is 0.25
LON = np.arange(118.0, 124.01, 0.5)  # 13 cells


def make_dataset(
    *,
    values: np.ndarray | None = None,
    lat: np.ndarray = LAT,
    lon: np.ndarray = LON,
    names: tuple[str, str, str] = ("time", "lat", "lon"),
    variable: str = "tasmax",
    attrs: dict | None = None,
    calendar: str = "noleap",
    days: int = 4,
) -> xr.Dataset:
    """Build a seeded CF-correct daily Dataset (time, lat, lon) with one variable."""
    rng = np.random.default_rng(42)
    shape = (days, lat.size, lon.size)
    data = values if values is not None else (290.0 + 10.0 * rng.random(shape)).astype("f4")
    time = xr.date_range("2000-01-01", periods=days, freq="D", calendar=calendar, use_cftime=True)
    time_name, lat_name, lon_name = names
    var_attrs = attrs if attrs is not None else {"units": "K", "standard_name": "air_temperature"}
    return xr.Dataset(
        {variable: ((time_name, lat_name, lon_name), data, var_attrs)},
        coords={
            time_name: (time_name, time, {"standard_name": "time", "axis": "T"}),
            lat_name: (lat_name, lat, {"standard_name": "latitude", "units": "degrees_north"}),
            lon_name: (lon_name, lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"title": "test"},
    )


# Expected values are exact arithmetic; float32 data carries ~7 significant digits, so
# rtol=1e-6 accepts float32 rounding and nothing else.
@pytest.mark.parametrize(
    ("variable", "units", "raw", "expected"),
    [
        ("tasmax", "K", 300.0, 26.85),
        ("tasmin", "degF", 50.0, 10.0),
        ("tas", "degC", 20.0, 20.0),
        ("pr", "kg m-2 s-1", 1.0e-4, 8.64),  # 1 kg m-2 of water = 1 mm; 86400 s/day
        ("pr", "mm/s", 1.0e-4, 8.64),
        ("pr", "m/day", 0.01, 10.0),
        ("pr", "mm/d", 5.0, 5.0),
        ("hurs", "1", 0.5, 50.0),
        ("hurs", "%", 50.0, 50.0),
        ("sfcWind", "m s-1", 3.0, 3.0),
    ],
)
def test_units_are_converted_and_recorded(
    variable: str, units: str, raw: float, expected: float
) -> None:
    values = np.full((4, LAT.size, LON.size), raw, dtype="f4")
    ds = make_dataset(values=values, variable=variable, attrs={"units": units})
    out = normalise(ds, source="test.nc")
    np.testing.assert_allclose(out[variable].values, expected, rtol=1e-6)
    assert out[variable].attrs["units"] == CANONICAL_UNITS[variable]
    if units not in ("degC", "%"):
        assert out[variable].attrs["original_units"] == units
        assert "converted from" in out[variable].attrs["history"]
    assert out[variable].dtype == np.float32  # no silent doubling of memory


def test_axes_and_variables_are_found_by_cf_attributes() -> None:
    ds = make_dataset(
        names=("t", "y", "x"),
        variable="t2m_daily_max",
        attrs={"units": "K", "standard_name": "air_temperature", "cell_methods": "time: maximum"},
    )
    ds["tmin_field"] = ds["t2m_daily_max"] - 5.0
    ds["tmin_field"].attrs = {
        "units": "K",
        "standard_name": "air_temperature",
        "cell_methods": "area: mean time: minimum",
    }
    ds["rain"] = (ds["t2m_daily_max"] * 0 + 1e-5).assign_attrs(
        units="kg m-2 s-1", standard_name="precipitation_flux"
    )
    out = normalise(ds, source="odd-names.nc")
    assert set(out.dims) == {"time", "lat", "lon"}
    assert sorted(out.data_vars) == ["pr", "tasmax", "tasmin"]
    np.testing.assert_allclose(out["tasmin"], out["tasmax"] - 5.0, atol=1e-4)  # float32 ~300
    assert out["lat"].attrs["units"] == "degrees_north"
    assert ds["t2m_daily_max"].attrs["units"] == "K"  # the caller's Dataset is untouched
    assert "history" not in ds.attrs


def test_axes_without_attributes_are_guessed_by_name() -> None:
    ds = make_dataset(names=("time", "nav_lat", "nav_lon"))
    for name in ("nav_lat", "nav_lon", "time"):
        ds[name].attrs = {}
    out = normalise(ds, source="nemo.nc")
    np.testing.assert_array_equal(out["lat"].values, LAT)
    np.testing.assert_array_equal(out["lon"].values, LON)


def test_longitudes_0_360_are_wrapped_and_sorted() -> None:
    lon = np.arange(0.0, 360.0, 30.0)  # 0, 30, ..., 330
    values = np.broadcast_to(lon, (4, LAT.size, lon.size)).astype("f4")
    ds = make_dataset(values=values, lon=lon, attrs={"units": "degC"})
    out = normalise(ds, source="global.nc")
    np.testing.assert_array_equal(out["lon"].values, np.arange(-180.0, 180.0, 30.0))
    # each value still sits at its own longitude: the value was the 0-360 longitude in degC
    np.testing.assert_allclose(out["tasmax"].isel(time=0, lat=0).values % 360, out["lon"] % 360)
    assert "wrapped" in out.attrs["history"]


def test_descending_latitude_becomes_ascending() -> None:
    lat = LAT[::-1]
    values = np.broadcast_to(lat[:, None], (4, lat.size, LON.size)).astype("f4") + 273.15
    out = normalise(make_dataset(values=values, lat=lat), source="desc.nc")
    np.testing.assert_array_equal(out["lat"].values, LAT)
    np.testing.assert_allclose(out["tasmax"].isel(time=0, lon=0).values, LAT, rtol=1e-6)


@pytest.mark.parametrize(
    ("calendar", "days_per_year"),
    [
        ("noleap", [365, 365]),
        ("360_day", [360, 360]),
        ("all_leap", [366, 366]),
        ("proleptic_gregorian", [365, 366]),  # 2003, 2004
        ("standard", [365, 366]),
    ],
)
def test_calendars_survive_a_file_and_horizon_selection(
    tmp_path, calendar: str, days_per_year: list[int]
) -> None:
    days = 366 * 6
    rng = np.random.default_rng(1)
    values = (280 + rng.random((days, 3, 3))).astype("f4")
    ds = make_dataset(values=values, lat=LAT[:3], lon=LON[:3], calendar=calendar, days=days)
    path = tmp_path / f"{calendar}.nc"
    ds.to_netcdf(path)
    out = normalise(open_source(path), source=str(path))
    assert out["time"].dt.calendar == calendar
    window = horizon_slice(out, Horizon("test", 2003, 2004))
    years = window["time"].dt.year.values
    assert [int((years == y).sum()) for y in (2003, 2004)] == days_per_year
    assert window.sizes["time"] == sum(days_per_year)


def test_bbox_subset_keeps_overlapping_cells_plus_one() -> None:
    out = normalise(make_dataset(), source="grid.nc", region=(121.2, 31.0, 121.9, 31.6))
    # cells of 0.5 deg overlapping the bbox: lat 31.0, 31.5; lon 121.0, 121.5, 122.0;
    # then one more cell on each side
    np.testing.assert_array_equal(out["lat"].values, [30.5, 31.0, 31.5, 32.0])
    np.testing.assert_array_equal(out["lon"].values, [120.5, 121.0, 121.5, 122.0, 122.5])
    assert "one-cell buffer" in out.attrs["history"]


def test_polygon_subset_masks_cells_beyond_a_one_cell_buffer() -> None:
    triangle = shapely.Polygon([(120.0, 30.0), (122.0, 30.0), (120.0, 32.0)])
    out = normalise(make_dataset(), source="grid.nc", region=triangle)
    np.testing.assert_array_equal(out["lat"].values, np.arange(29.5, 32.51, 0.5))
    np.testing.assert_array_equal(out["lon"].values, np.arange(119.5, 122.51, 0.5))
    mask = out["region_mask"]
    assert bool(mask.sel(lat=31.0, lon=121.0))  # inside the triangle
    assert bool(mask.sel(lat=30.5, lon=122.0))  # 0.35 deg outside: within the 0.5 buffer
    assert not bool(mask.sel(lat=31.5, lon=122.0))  # 1.06 deg outside
    assert not bool(mask.sel(lat=32.5, lon=122.5))  # about 1.8 deg away
    assert np.isnan(out["tasmax"].sel(lat=32.5, lon=122.5)).all()
    assert np.isfinite(out["tasmax"].where(mask)).sum() == 4 * int(mask.sum())
    assert out["tasmax"].attrs["missing_fraction"] == 0.0  # counted inside the mask only


def test_fill_values_become_nan_and_are_counted(tmp_path) -> None:
    values = np.full((4, LAT.size, LON.size), 300.0, dtype="f4")
    values[0] = 1.0e20
    ds = make_dataset(values=values)
    ds["tasmax"].attrs["missing_value"] = np.float32(1.0e20)
    out = normalise(ds, source="raw.nc")
    assert np.isnan(out["tasmax"].isel(time=0)).all()
    assert out["tasmax"].attrs["missing_fraction"] == pytest.approx(0.25)
    with pytest.raises(ClimateDataError, match=r"raw.nc: variable 'tasmax' has 25.0% missing"):
        normalise(ds, source="raw.nc", max_missing_fraction=0.1)


def test_zarr_store_opens_lazily_and_normalises(tmp_path) -> None:
    path = tmp_path / "store.zarr"
    make_dataset(lon=LON + 0.0, calendar="360_day").to_zarr(path, zarr_format=2)
    opened = open_source(path)
    assert opened["tasmax"].chunks is not None
    out = normalise(opened, source=str(path), variables=["tasmax"])
    assert out["time"].dt.calendar == "360_day"
    assert out["tasmax"].attrs["units"] == "degC"


class _ComputeCounter(Callback):
    """Count dask computations (one ``_start`` per compute call)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk) -> None:
        self.count += 1


def test_dask_input_stays_lazy() -> None:
    lon = np.arange(0.0, 360.0, 30.0)
    ds = make_dataset(lon=lon, values=np.zeros((4, LAT.size, lon.size), "f4")).chunk(time=2)
    with _ComputeCounter() as counter, dask.config.set(scheduler="synchronous"):
        out = normalise(ds, source="lazy.nc", region=(-40.0, 30.0, 40.0, 32.0), check_missing=False)
    assert counter.count == 0
    assert out["tasmax"].chunks is not None
    with _ComputeCounter() as counter:
        out = normalise(ds, source="lazy.nc")
    assert counter.count == 1  # only the missing-value reduction
    assert out["tasmax"].chunks is not None


def test_missing_variable_raises() -> None:
    with pytest.raises(ClimateDataError, match=r"a.nc: variable \['pr'\] not found.*'tasmax'"):
        normalise(make_dataset(), source="a.nc", variables=["pr"])


@pytest.mark.parametrize(
    ("units", "reason"),
    [("furlongs_per_fortnight", "UndefinedUnitError"), ("m/s", "DimensionalityError")],
)
def test_unknown_or_wrong_units_raise(units: str, reason: str) -> None:
    ds = make_dataset(attrs={"units": units})
    with pytest.raises(ClimateDataError, match=rf"b.nc: variable 'tasmax' has units '{units}'.*"):
        normalise(ds, source="b.nc")
    with pytest.raises(ClimateDataError, match=reason):
        normalise(ds, source="b.nc")


def test_missing_units_raise() -> None:
    with pytest.raises(ClimateDataError, match="c.nc: variable 'tasmax' has no units attribute"):
        normalise(make_dataset(attrs={"standard_name": "air_temperature"}), source="c.nc")


def test_non_monotonic_and_duplicated_coordinates_raise() -> None:
    lat = np.array([30.0, 30.5, 31.5, 31.0])
    with pytest.raises(
        ClimateDataError, match=r"d.nc: coordinate 'lat' is not monotonic at index 3"
    ):
        normalise(make_dataset(lat=lat), source="d.nc")
    lon = np.array([120.0, 120.5, 120.5, 121.0])
    with pytest.raises(
        ClimateDataError, match=r"coordinate 'lon' has a duplicated value at index 2"
    ):
        normalise(make_dataset(lon=lon), source="d.nc")
    ds = make_dataset()
    ds = ds.assign_coords(time=ds["time"].values[[0, 1, 1, 2]])
    with pytest.raises(
        ClimateDataError, match=r"coordinate 'time' has a duplicated value at index 2"
    ):
        normalise(ds, source="d.nc")


def test_not_netcdf_raises_naming_the_file(tmp_path) -> None:
    path = tmp_path / "tasmax_day.nc"
    path.write_text("<html>404 Not Found</html>")
    with pytest.raises(ClimateDataError, match=r"tasmax_day.nc: not a NetCDF file"):
        open_source(path)
    with pytest.raises(FileNotFoundError, match="absent.nc"):
        open_source(tmp_path / "absent.nc")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(ClimateDataError, match=r"empty.zarr: could not be opened as a Zarr"):
        open_source(tmp_path / "empty.zarr")


def test_region_outside_the_data_raises_with_both_extents() -> None:
    with pytest.raises(
        ClimateDataError,
        match=r"e.nc: region \(2.0, 48.0, 3.0, 49.0\).*outside the data.*lon 118 to 124, "
        r"lat 28 to 34",
    ):
        normalise(make_dataset(), source="e.nc", region=(2.0, 48.0, 3.0, 49.0))
