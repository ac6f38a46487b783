"""What a file holds: NEX-GDDP-CMIP6 names, CMIP6 DRS names, or its global attributes."""

from __future__ import annotations

import pytest

from resilience.climate.file_identity import identify_file, parse_drs_name
from resilience.climate.member import member_labels, model_matches
from resilience.climate.projection_file import ClimateDataError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "tasmax_day_ACCESS-CM2_ssp245_r1i1p1f1_gn_20150101-20491231.nc",
            ("tasmax", "ACCESS-CM2", "ssp245", "r1i1p1f1", "gn", 2015, 2049),
        ),
        (  # monthly-style date range on a daily file
            "pr_day_EC-Earth3-Veg-LR_historical_r3i1p1f1_gr_199501-201412.nc",
            ("pr", "EC-Earth3-Veg-LR", "historical", "r3i1p1f1", "gr", 1995, 2014),
        ),
        (  # a sub-experiment prefix is dropped from the member
            "tas_day_MIROC6_ssp585_s2014-r2i1p1f1_gn_2015-2100.nc",
            ("tas", "MIROC6", "ssp585", "r2i1p1f1", "gn", 2015, 2100),
        ),
        (  # NEX-GDDP-CMIP6, one year per file
            "tasmin_day_MRI-ESM2-0_ssp126_r1i1p1f1_gn_2050_v1.1.nc",
            ("tasmin", "MRI-ESM2-0", "ssp126", "r1i1p1f1", "gn", 2050, 2050),
        ),
    ],
)
def test_names_say_what_a_file_holds(tmp_path, name, expected):
    identity = identify_file(tmp_path / name)  # not opened: the file need not exist
    assert identity is not None
    found = (identity.variable, identity.model, identity.experiment, identity.member)
    assert found + (identity.grid, identity.first_year, identity.last_year) == expected


def test_files_that_cannot_serve_projections_are_skipped(tmp_path):
    for name in (
        "tas_Amon_MIROC6_ssp245_r1i1p1f1_gn_201501-210012.nc",  # monthly table
        "rsds_day_MIROC6_ssp245_r1i1p1f1_gn_20150101-21001231.nc",  # not a canonical variable
        "tasmax_day_MIROC6_piControl_r1i1p1f1_gn_18500101-18991231.nc",  # not a scenario
    ):
        assert identify_file(tmp_path / name) is None, name


def test_a_version_folder_above_a_drs_file_is_its_version(tmp_path):
    path = tmp_path / "v20191115" / "tasmax_day_M_ssp245_r1i1p1f1_gn_20150101-20151231.nc"
    assert parse_drs_name(path).version == (20191115,)


def test_a_reversed_date_range_is_refused(tmp_path):
    with pytest.raises(ClimateDataError, match="ends before it starts"):
        identify_file(tmp_path / "tasmax_day_M_ssp245_r1i1p1f1_gn_20500101-20151231.nc")


def test_a_file_whose_name_says_nothing_is_read_through_its_attributes(tmp_path, cmip6_file):
    path = cmip6_file(
        tmp_path / "download (3).nc",
        model="CanESM5",
        experiment="ssp370",
        member="r2i1p2f1",
        start=(2059, 12, 1),
        days=365,
        variable_name="air_temperature_maximum",  # found by standard_name and cell_methods
    )
    identity = identify_file(path)
    assert identity.named_by == "attributes" and identity.variable == "tasmax"
    assert (identity.model, identity.experiment, identity.member) == (
        "CanESM5",
        "ssp370",
        "r2i1p2f1",
    )
    assert (identity.first_year, identity.last_year) == (2059, 2060)  # from the time axis
    assert identify_file(path, read_header=False) is None


def test_a_file_that_says_nothing_at_all_is_an_error_naming_it(tmp_path, cmip6_file):
    path = cmip6_file(tmp_path / "observations.nc", global_attrs=False)
    with pytest.raises(ClimateDataError, match=r"observations\.nc.*'source_id'"):
        identify_file(path)
    garbage = tmp_path / "notes.nc"
    garbage.write_text("not netcdf")
    with pytest.raises(ClimateDataError, match="not a readable NetCDF"):
        identify_file(garbage)


def test_members_get_labels_only_when_a_model_has_several():
    labels = member_labels(
        [("MIROC6", "r1i1p1f1"), ("MIROC6", "r2i1p1f1"), ("CanESM5", "r1i1p2f1")]
    )
    assert labels == {
        ("MIROC6", "r1i1p1f1"): "MIROC6_r1i1p1f1",
        ("MIROC6", "r2i1p1f1"): "MIROC6_r2i1p1f1",
        ("CanESM5", "r1i1p2f1"): "CanESM5",
    }
    assert model_matches(["MIROC6"], "MIROC6", "r2i1p1f1")
    assert model_matches(["MIROC6_r2i1p1f1"], "MIROC6", "r2i1p1f1")
    assert not model_matches(["MIROC6_r1i1p1f1"], "MIROC6", "r2i1p1f1")
    assert model_matches(None, "any", "r1i1p1f1")
