"""open_projections and horizon_slice on small real NetCDF files written by the sample."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import dask
import dask.array as da
import netCDF4
import numpy as np
import pytest

from resilience.climate.projection_file import ClimateDataError
from resilience.climate.projections import horizon_slice, open_projections
from resilience.sample.projections import sample_file_name, write_sample_projections
from resilience.schema import AR6_HORIZONS, validate_projections

A, B = "SYNTH-ESM-A", "SYNTH-ESM-B"


@pytest.fixture(autouse=True)
def _synchronous_dask():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A: historical 1995-1997 and ssp585 2081-2082; B: historical only (ssp585 missing)."""
    out = tmp_path_factory.mktemp("projections")
    experiments = {"historical": [1995, 1996, 1997], "ssp585": [2081, 2082]}
    write_sample_projections(out, models=(A,), experiments=experiments)
    write_sample_projections(out, models=(B,), experiments={"historical": [1995, 1996, 1997]})
    return out


@pytest.fixture(scope="module")
def opened(sample: Path):
    return open_projections(sample, variables=["tasmax", "tasmin", "pr"])


def _raw(directory: Path, variable: str, model: str, experiment: str, year: int) -> np.ndarray:
    with netCDF4.Dataset(directory / sample_file_name(variable, model, experiment, year)) as nc:
        return np.asarray(nc.variables[variable][:], dtype="f8")


def test_contract_dims_coords_and_units(opened) -> None:
    assert validate_projections(opened) is opened
    assert opened["tasmax"].dims == ("model", "scenario", "time", "lat", "lon")
    assert opened["model"].values.tolist() == [A, B]
    assert opened["scenario"].values.tolist() == ["historical", "ssp585"]
    assert opened.sizes["time"] == 5 * 365  # union of 1995-1997 and 2081-2082, noleap
    assert opened["time"].dt.calendar == "noleap"
    assert (opened["lat"].size, opened["lon"].size) == (14, 14)
    assert [opened[v].attrs["units"] for v in ("tasmax", "tasmin", "pr")] == [
        "degC",
        "degC",
        "mm/day",
    ]
    assert opened["tasmax"].attrs["original_units"] == "K"
    assert opened["pr"].attrs["original_units"] == "kg m-2 s-1"
    assert "x 86400" in opened["pr"].attrs["history"]
    assert opened["tasmax"].attrs["standard_name"] == "air_temperature"
    assert opened.attrs["synthetic"] == "yes"


def test_data_are_lazy_one_chunk_per_file(opened) -> None:
    for name in ("tasmax", "tasmin", "pr"):
        assert isinstance(opened[name].data, da.Array)
    assert set(opened["tasmax"].chunks[2]) == {365}


def test_unit_conversion_matches_the_raw_files(sample: Path, opened) -> None:
    hist = opened.sel(model=A, scenario="historical")
    hist = hist.isel(time=hist["time"].dt.year.values == 1996)
    # float32 storage: K values near 300 carry ~3e-5 K rounding, hence atol 1e-4
    np.testing.assert_allclose(
        hist["tasmax"].values, _raw(sample, "tasmax", A, "historical", 1996) - 273.15, atol=1e-4
    )
    np.testing.assert_allclose(
        hist["pr"].values, _raw(sample, "pr", A, "historical", 1996) * 86400.0, rtol=1e-6
    )
    far = opened["tasmin"].sel(model=A, scenario="ssp585")
    far = far.isel(time=far["time"].dt.year.values == 2082)
    np.testing.assert_allclose(
        far.values, _raw(sample, "tasmin", A, "ssp585", 2082) - 273.15, atol=1e-4
    )


def test_missing_combinations_are_nan_and_reported(opened) -> None:
    report = opened.attrs["missing_combinations"].splitlines()
    assert report == [f"{B} ssp585 {v}: no files (all NaN)" for v in ("tasmax", "tasmin", "pr")]
    assert bool(opened["tasmax"].sel(model=B, scenario="ssp585").isnull().all())
    historical = opened["pr"].sel(model=A, scenario="historical")
    years = historical["time"].dt.year
    assert bool(historical.isel(time=(years >= 2081).values).isnull().all())
    assert not bool(historical.isel(time=(years <= 1997).values).isnull().any())


def test_missing_years_are_reported(sample: Path, tmp_path: Path) -> None:
    for year in (1995, 1996, 1997):
        for variable in ("tasmax", "pr"):
            if (variable, year) != ("pr", 1996):
                name = sample_file_name(variable, A, "historical", year)
                shutil.copy(sample / name, tmp_path / name)
    ds = open_projections(tmp_path, variables=["tasmax", "pr"])
    assert ds.attrs["missing_combinations"] == f"{A} historical pr: years 1996 missing (NaN)"
    pr = ds["pr"].sel(model=A, scenario="historical")
    assert bool(pr.isel(time=(pr["time"].dt.year == 1996).values).isnull().all())


def test_subsets_by_model_scenario_and_year(sample: Path) -> None:
    ds = open_projections(sample, variables=["pr"], models=[A], scenarios=["ssp585"], years=[2082])
    assert ds["model"].values.tolist() == [A] and ds["scenario"].values.tolist() == ["ssp585"]
    assert ds.sizes["time"] == 365 and ds.attrs["missing_combinations"] == ""
    assert "pr_day_SYNTH-ESM-A_ssp585_r1i1p1f1_gn_{year}.nc year=2082" in ds.attrs["source_files"]


def test_bbox_keeps_a_one_cell_buffer(sample: Path, opened) -> None:
    ds = open_projections(sample, variables=["tasmax"], bbox=(121.4, 31.1, 121.6, 31.3))
    # cells overlapping the box are 31.1..31.3 and 121.4..121.6; one more on each side
    np.testing.assert_allclose(ds["lat"], [31.0, 31.1, 31.2, 31.3, 31.4])
    np.testing.assert_allclose(ds["lon"], [121.3, 121.4, 121.5, 121.6, 121.7])
    expected = opened["tasmax"].sel(lat=ds["lat"], lon=ds["lon"], method="nearest")
    np.testing.assert_array_equal(ds["tasmax"].values, expected.values)
    with pytest.raises(ValueError, match="selects no cell"):
        open_projections(sample, variables=["tasmax"], bbox=(100.0, 10.0, 101.0, 11.0))
    with pytest.raises(ValueError, match="expected \\(lon_min, lat_min, lon_max, lat_max\\)"):
        open_projections(sample, variables=["tasmax"], bbox=(122.0, 31.0, 121.0, 31.5))


def test_descending_lat_and_0_360_lon_are_normalised(tmp_path: Path) -> None:
    """A hand-made file: lat descending, lon crossing 0 in [0, 360)."""
    lat, lon = np.array([31.5, 31.0, 30.5]), np.array([359.0, 359.5, 0.0, 0.5])
    values = np.arange(365 * 3 * 4, dtype="f4").reshape(365, 3, 4) + 250.0
    with netCDF4.Dataset(tmp_path / "tas_day_HAND-MADE_historical_r1i1p1f1_gn_2000.nc", "w") as nc:
        for name, size in (("time", 365), ("lat", 3), ("lon", 4)):
            nc.createDimension(name, size)
        time = nc.createVariable("time", "f8", ("time",))
        time.setncatts({"units": "days since 2000-01-01", "calendar": "noleap"})
        time[:] = np.arange(365) + 0.5
        nc.createVariable("lat", "f8", ("lat",))[:] = lat
        nc.createVariable("lon", "f8", ("lon",))[:] = lon
        var = nc.createVariable("tas", "f4", ("time", "lat", "lon"))
        var.units = "K"
        var[:] = values
    ds = open_projections(tmp_path, variables=["tas"])
    np.testing.assert_allclose(ds["lat"], [30.5, 31.0, 31.5])
    np.testing.assert_allclose(ds["lon"], [-1.0, -0.5, 0.0, 0.5])
    got = ds["tas"].isel(model=0, scenario=0).sel(lat=31.5, lon=-0.5).values
    np.testing.assert_allclose(got, values[:, 0, 1] - 273.15, atol=1e-4)
    assert ds["time"].values[0].year == 2000


def test_annual_maximum_computes_like_numpy(sample: Path, opened) -> None:
    annual = opened["tasmax"].sel(model=B, scenario="historical").groupby("time.year").max()
    raw = _raw(sample, "tasmax", B, "historical", 1997).max(axis=0) - 273.15
    np.testing.assert_allclose(annual.sel(year=1997).values, raw, atol=1e-4)


def test_provenance_hash_covers_every_file(sample: Path, opened) -> None:
    lines = sorted(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sample.glob("*.nc")
    )
    assert opened.attrs["inputs_sha256"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert len(opened.attrs["source_files"].splitlines()) == 9  # 3 variables x 3 model/exp
    assert (
        "tasmax_day_SYNTH-ESM-A_historical_r1i1p1f1_gn_{year}.nc year=1995-1997"
        in (opened.attrs["source_files"])
    )


def test_horizon_slice_selects_years_on_noleap(opened) -> None:
    baseline, far = AR6_HORIZONS[0], AR6_HORIZONS[3]
    base = horizon_slice(opened, baseline)
    assert base.sizes["time"] == 3 * 365
    assert set(base["time"].dt.year.values.tolist()) == {1995, 1996, 1997}
    assert set(horizon_slice(opened, far)["time"].dt.year.values.tolist()) == {2081, 2082}
    assert horizon_slice(opened, AR6_HORIZONS[1]).sizes["time"] == 0
    assert isinstance(base["tasmax"].data, da.Array)


def test_errors_name_what_was_looked_for(sample: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_projections(tmp_path / "nowhere", variables=["tasmax"])
    with pytest.raises(FileNotFoundError, match=r"variable \['hurs'\]; found variables \['pr'"):
        open_projections(sample, variables=["hurs"])
    with pytest.raises(FileNotFoundError, match=r"model \['NO-ESM'\]; found models \['SYNTH"):
        open_projections(sample, variables=["pr"], models=["NO-ESM"])
    with pytest.raises(FileNotFoundError, match=r"scenario \['ssp126'\]; found scenarios"):
        open_projections(sample, variables=["pr"], scenarios=["ssp126"])
    with pytest.raises(ValueError, match=r"variables: expected some of .* found \['rsds'\]"):
        open_projections(sample, variables=["rsds"])
    with pytest.raises(ValueError, match=r"scenarios: expected some of"):
        open_projections(sample, variables=["pr"], scenarios=["rcp85"])


def test_a_file_that_is_not_netcdf_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "pr_day_BAD-ESM_historical_r1i1p1f1_gn_2000.nc"
    bad.write_text("this is not NetCDF\n")
    with pytest.raises(ClimateDataError, match="pr_day_BAD-ESM_historical.*not a readable NetCDF"):
        open_projections(tmp_path, variables=["pr"])


def test_inconvertible_units_are_named(sample: Path, tmp_path: Path) -> None:
    name = sample_file_name("pr", A, "historical", 1995)
    shutil.copy(sample / name, tmp_path / name)
    with netCDF4.Dataset(tmp_path / name, "a") as nc:
        nc.variables["pr"].units = "W m-2"
    with pytest.raises(ClimateDataError, match=rf"{name}: variable 'pr' has units 'W m-2'"):
        open_projections(tmp_path, variables=["pr"])
