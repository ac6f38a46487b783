"""Issue 13, items 5 and 8 (pull side): files that look right but hold wrong or no values.

Each test writes small real CMIP6-style NetCDF files (DRS names, global attributes) in
tmp_path and pulls them into a projections store, as ``resilience pull --out`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.climate.projection_file import ClimateDataError
from resilience.climate.pull import catalog_from_source
from resilience.climate.store import pull_to_store

LAT = np.array([30.0, 31.0, 32.0])
LON = np.array([120.0, 121.0, 122.0, 123.0])
METHOD = {"tasmax": "time: maximum", "pr": "time: mean"}
STANDARD_NAME = {"tasmax": "air_temperature", "pr": "precipitation_flux"}


def write_file(
    folder: Path,
    values: np.ndarray,
    *,
    variable: str = "tasmax",
    units: str = "K",
    start_year: int = 1995,
    chunk_days: int | None = None,
) -> Path:
    """Write a noleap daily DRS-named file of ``values`` (time, lat, lon); return its path."""
    import netCDF4

    years = values.shape[0] // 365
    end = start_year + years - 1
    path = folder / f"{variable}_day_M_historical_r1i1p1f1_gn_{start_year}0101-{end}1231.nc"
    folder.mkdir(parents=True, exist_ok=True)
    with netCDF4.Dataset(path, "w") as nc:
        nc.setncatts(
            {"source_id": "M", "experiment_id": "historical", "variant_label": "r1i1p1f1",
             "frequency": "day", "variable_id": variable}
        )  # fmt: skip
        for name, size in (("time", values.shape[0]), ("lat", LAT.size), ("lon", LON.size)):
            nc.createDimension(name, size)
        time = nc.createVariable("time", "f8", ("time",))
        time.setncatts({"units": "days since 1850-01-01", "calendar": "noleap", "axis": "T"})
        time[:] = (start_year - 1850) * 365 + np.arange(values.shape[0]) + 0.5
        for name, axis, std, axis_units in (
            ("lat", LAT, "latitude", "degrees_north"),
            ("lon", LON, "longitude", "degrees_east"),
        ):
            coord = nc.createVariable(name, "f8", (name,))
            coord.setncatts({"standard_name": std, "units": axis_units})
            coord[:] = axis
        chunks = None if chunk_days is None else (chunk_days, LAT.size, LON.size)
        var = nc.createVariable(
            variable, "f4", ("time", "lat", "lon"), zlib=True, chunksizes=chunks,
            fill_value=np.float32(1e20),
        )  # fmt: skip
        var.setncatts(
            {"standard_name": STANDARD_NAME[variable], "cell_methods": METHOD[variable],
             "units": units}
        )  # fmt: skip
        var[:] = values.astype("f4")
    return path


def daily(years: int, mean: float, spread: float, seed: int = 0) -> np.ndarray:
    """Seeded daily values (days, 3, 4): ``mean`` plus a seasonal cycle of +-``spread``."""
    rng = np.random.default_rng(seed)
    days = np.arange(365 * years)
    season = spread * np.sin(2 * np.pi * days / 365.0)[:, None, None]
    return mean + season + rng.normal(0.0, 1.0, (days.size, LAT.size, LON.size))


def pull(folder: Path, tmp_path: Path, variable: str = "tasmax"):
    """Pull every file of ``folder`` into a store for the baseline horizon (1995-2014)."""
    catalog = catalog_from_source(str(folder / "*.nc"))
    return pull_to_store(
        catalog, tmp_path / "p.zarr", variables=[variable], horizons=["baseline"],
        cache_dir=tmp_path / "cache",
    )  # fmt: skip


@pytest.mark.fault("13.5", "degC labelled K is pulled as -250 degC")
def test_degc_labelled_kelvin_is_refused_naming_the_file(tmp_path):
    path = write_file(tmp_path / "in", daily(20, 27.0, 8.0), units="K")
    with pytest.raises(ClimateDataError, match=r"units say K but values 2\d.*: degC labelled K\?"):
        pull(tmp_path / "in", tmp_path)
    with pytest.raises(ClimateDataError, match=path.name):
        pull(tmp_path / "in", tmp_path)
    assert not (tmp_path / "p.zarr").exists()


@pytest.mark.fault("13.5", "kelvin labelled degC is pulled as 300 degC")
def test_kelvin_labelled_degc_is_refused(tmp_path):
    write_file(tmp_path / "in", daily(20, 300.0, 8.0), units="degC")
    with pytest.raises(ClimateDataError, match=r"tasmax: units say degC .*K labelled degC\?"):
        pull(tmp_path / "in", tmp_path)


@pytest.mark.fault("13.5", "mm/day labelled kg m-2 s-1 is pulled as 10^6 mm/day")
def test_precipitation_in_mm_per_day_labelled_a_flux_is_refused(tmp_path):
    rain = np.clip(daily(20, 5.0, 4.0), 0.0, None)
    write_file(tmp_path / "in", rain, variable="pr", units="kg m-2 s-1")
    with pytest.raises(ClimateDataError, match=r"pr: units say kg m-2 s-1 .*mm/day labelled"):
        pull(tmp_path / "in", tmp_path, variable="pr")


@pytest.mark.fault("13.5", "an all-NaN file drops its years while pull says 'none'")
def test_an_all_nan_file_is_reported_in_missing_combinations_and_printed(tmp_path):
    folder = tmp_path / "in"
    write_file(folder, daily(10, 300.0, 8.0), start_year=1995)  # plausible: pulled as it is
    empty = write_file(folder, np.full((3650, LAT.size, LON.size), np.nan), start_year=2005)
    written = pull(folder, tmp_path)
    assert written.missing_combinations == [
        f"M historical tasmax: years 2005-2014 hold no value (all NaN); file {empty.name}"
    ]
    store = tmp_path / "cli.zarr"
    result = CliRunner().invoke(
        app,
        ["pull", "--source", f"{folder}/*.nc", "--variables", "tasmax", "--horizons",
         "baseline", "--region", "global", "--out", str(store)],
        env={"RESILIENCE_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "missing combinations: 1" in result.output
    assert "2005-2014 hold no value" in result.output and "none" not in result.output


@pytest.mark.fault("13.5", "one all-NaN year inside a multi-year file vanishes from the store")
def test_one_year_without_values_inside_a_file_is_reported(tmp_path):
    values = daily(20, 300.0, 8.0)
    values[365 * 7 : 365 * 8] = np.nan  # 2002
    # One day a chunk, as CMOR writes CMIP6 files: each year's first and last day are
    # sampled (a file chunked in blocks of many days is sampled at three days only).
    path = write_file(tmp_path / "in", values, chunk_days=1)
    written = pull(tmp_path / "in", tmp_path)
    assert written.missing_combinations == [
        f"M historical tasmax: year 2002 holds no value (all NaN); file {path.name}"
    ]


@pytest.mark.fault("13.8", "a corrupt compressed chunk ends in 'NetCDF: HDF error', no file")
def test_a_corrupt_chunk_read_during_the_store_write_names_the_file(tmp_path):
    # One chunk a day: the flipped bytes spoil one mid-year day (day 3322 with this file),
    # which the sample of each year's first and last days does not read; the store write does.
    path = write_file(tmp_path / "in", daily(20, 300.0, 8.0), chunk_days=1)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))
    with pytest.raises(ClimateDataError, match=rf"{path.name}: variable 'tasmax': time steps"):
        pull(tmp_path / "in", tmp_path)
    with pytest.raises(ClimateDataError, match=r"NetCDF: HDF error\); expected readable data"):
        pull(tmp_path / "in", tmp_path)
    assert not (tmp_path / "p.zarr").exists()
