"""The pull_projections Prefect flow on a small local catalogue."""

import pytest
import xarray as xr

from resilience.climate.catalog import write_sample_catalog
from resilience.sample.projections import write_sample_projections

pytestmark = pytest.mark.slow


def test_pull_flow_writes_projections_and_caches_the_fetch(tmp_path, prefect_harness):
    from flows.pull import pull_projections_flow

    source = tmp_path / "projections"
    write_sample_projections(
        source,
        models=("SYNTH-ESM-A",),
        experiments={"historical": range(1995, 2015)},
        variables=("pr",),
    )
    catalog = write_sample_catalog(source)
    kwargs = dict(
        catalog_path=catalog,
        cache_dir=tmp_path / "cache",
        variables=["pr"],
        horizons=["baseline"],
        region="shanghai",
    )
    path = pull_projections_flow(out_dir=tmp_path / "out", **kwargs)
    ds = xr.open_dataset(path, use_cftime=True)
    assert ds["pr"].attrs["units"] == "mm/day" and ds.sizes["time"] == 20 * 365
    again = pull_projections_flow(out_dir=tmp_path / "out2", **kwargs)
    assert again.name == "projections.nc"
