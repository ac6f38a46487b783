import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hazard_models.layer import SchemaError
from resilience.climate.ensemble import assemble_ensemble


def member(years, value, variables=("tasmax", "pr"), lat=(31.0, 31.1), calendar="noleap"):
    time = xr.date_range(
        f"{years[0]}-01-01", periods=365 * len(years), freq="D", calendar=calendar, use_cftime=True
    )
    data = {
        name: (
            ("time", "lat", "lon"),
            da.full((time.size, len(lat), 2), value, chunks=(365, -1, -1)),
            {"units": {"tasmax": "degC", "pr": "mm/day"}[name]},
        )
        for name in variables
    }
    return xr.Dataset(data, coords={"time": time, "lat": list(lat), "lon": [121.4, 121.5]})


def test_members_stack_with_missing_combinations_reported():
    members = {
        ("A", "historical"): member([1995, 1996], 30.0),
        ("A", "ssp585"): member([2081, 2082], 34.0),
        ("B", "historical"): member([1995, 1996], 31.0, variables=("tasmax",)),
    }
    ds = assemble_ensemble(members, variables=("tasmax", "pr"))
    assert ds["tasmax"].dims == ("model", "scenario", "time", "lat", "lon")
    assert ds["tasmax"].chunks is not None  # still lazy
    assert ds.sizes["time"] == 4 * 365  # union of historical and SSP years
    lines = ds.attrs["missing_combinations"].splitlines()
    assert "B ssp585: no data (all NaN)" in lines
    assert "B historical: missing pr (NaN)" in lines
    far = ds["tasmax"].sel(model="A", scenario="ssp585").isel(time=-1)
    assert float(far.mean()) == 34.0
    assert np.isnan(ds["tasmax"].sel(model="A", scenario="ssp585").isel(time=0)).all()
    assert np.isnan(ds["pr"].sel(model="B")).all()


def test_expected_models_and_scenarios_not_present_are_reported():
    ds = assemble_ensemble(
        {("A", "historical"): member([1995], 30.0)},
        variables=("tasmax",),
        models=("A", "C"),
        scenarios=("historical", "ssp245"),
    )
    assert ds.sizes["model"] == 2 and ds.sizes["scenario"] == 2
    assert "C historical: no data (all NaN)" in ds.attrs["missing_combinations"]


def test_grid_and_calendar_mismatches_are_errors():
    with pytest.raises(SchemaError, match="lat grid differs"):
        assemble_ensemble(
            {
                ("A", "historical"): member([1995], 30.0),
                ("B", "historical"): member([1995], 30.0, lat=(31.0, 31.2)),
            },
            variables=("tasmax",),
        )
    with pytest.raises(SchemaError, match="calendar '360_day' differs"):
        assemble_ensemble(
            {
                ("A", "historical"): member([1995], 30.0),
                ("B", "historical"): member([1995], 30.0, calendar="360_day"),
            },
            variables=("tasmax",),
        )
    with pytest.raises(SchemaError, match="at least one member"):
        assemble_ensemble({}, variables=("tasmax",))
