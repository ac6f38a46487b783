"""Issue 13 item 8: a damaged or malformed projection file is named, never a bare traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import netCDF4
import pytest

from resilience.climate.projection_file import ClimateDataError
from resilience.climate.store import open_projections_source
from resilience.sample.projections import write_sample_projections


@pytest.fixture(scope="module")
def three_years(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nex")
    write_sample_projections(
        folder,
        models=("SYNTH-ESM-A",),
        variables=("tasmax",),
        experiments={"historical": (1995, 1996, 1997)},
    )
    return folder


def _copy(source: Path, tmp_path: Path, rename=None) -> Path:
    target = tmp_path / "files"
    target.mkdir()
    for path in sorted(source.glob("*.nc")):
        shutil.copy(path, target / (rename(path.name) if rename else path.name))
    return target


def _corrupt_data(path: Path) -> None:
    """Flip 2,000 bytes in the middle of the file: inside the compressed data chunks."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(b ^ 0xFF for b in data[middle : middle + 2000])
    path.write_bytes(bytes(data))


@pytest.mark.fault("13.8", "a corrupt chunk ends in 'NetCDF: HDF error' without the file")
def test_a_corrupt_chunk_names_the_file(three_years, tmp_path):
    folder = _copy(three_years, tmp_path)
    bad = next(p for p in sorted(folder.glob("*.nc")) if "1996" in p.name)
    _corrupt_data(bad)
    ds = open_projections_source(folder, variables=("tasmax",))
    with pytest.raises(ClimateDataError, match=rf"{bad.name}: cannot read tasmax"):
        ds["tasmax"].load()


@pytest.mark.fault("13.8", "a file without time units ends in a traceback (NEX names)")
def test_missing_time_units_are_named_for_nex_files(three_years, tmp_path):
    folder = _copy(three_years, tmp_path)
    bad = next(p for p in sorted(folder.glob("*.nc")) if "1996" in p.name)
    with netCDF4.Dataset(bad, "a") as nc:
        nc.variables["time"].delncattr("units")
    with pytest.raises(ClimateDataError, match=rf"{bad.name}: time: no 'units' attribute"):
        open_projections_source(folder, variables=("tasmax",))


@pytest.mark.fault("13.8", "a file without time units ends in a traceback (DRS names)")
def test_missing_time_units_are_named_for_drs_files(three_years, tmp_path):
    def drs(name: str) -> str:
        year = name.removesuffix(".nc").rsplit("_", 1)[1]
        return name.replace(f"_{year}.nc", f"_{year}0101-{year}1231.nc")

    folder = _copy(three_years, tmp_path, rename=drs)
    bad = next(p for p in sorted(folder.glob("*.nc")) if "1996" in p.name)
    with netCDF4.Dataset(bad, "a") as nc:
        nc.variables["time"].delncattr("units")
    with pytest.raises(ClimateDataError, match=rf"{bad.name}.*time: values are not dates"):
        open_projections_source(folder, variables=("tasmax",))


@pytest.mark.fault("13.8", "one 360_day file among noleap files ends in a traceback")
def test_one_other_calendar_is_named(three_years, tmp_path):
    folder = _copy(three_years, tmp_path)
    bad = next(p for p in sorted(folder.glob("*.nc")) if "1996" in p.name)
    with netCDF4.Dataset(bad, "a") as nc:
        nc.variables["time"].setncattr("calendar", "360_day")
    # read in its own (360-day) calendar, its days are not those of 1996 any more: either
    # that or the calendar clash is named, with the file
    with pytest.raises(
        ClimateDataError, match=rf"{bad.name}: (calendar '360_day' differs|the name)"
    ):
        open_projections_source(folder, variables=("tasmax",))


@pytest.mark.fault("13.5", "a file named 2090 holding 2050 dates is silently used")
def test_a_file_whose_dates_contradict_its_name_is_refused(tmp_path):
    source = tmp_path / "written"
    write_sample_projections(
        source,
        models=("SYNTH-ESM-A",),
        variables=("tasmax",),
        experiments={"ssp245": (2050,)},
    )
    folder = tmp_path / "files"
    folder.mkdir()
    written = next(source.glob("*.nc"))
    mislabelled = folder / written.name.replace("_2050.nc", "_2090.nc")
    shutil.copy(written, mislabelled)
    with pytest.raises(ClimateDataError, match=r"the name says 2090 but the dates run from 2050"):
        open_projections_source(folder, variables=("tasmax",))
