"""A projections store chunked over several years per chunk feeds the layers as a yearly one.

docs/scaling.md recommends time-contiguous chunks of cells for large grids (quantile delta
mapping and percentiles need each cell's whole series). The reader then hands out blocks of
whole years that follow the stored chunks (``resilience.climate.store._read_chunks``), and
the heat layer must not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from hazard_models.heat.layer import build_heat_layer
from resilience.climate.store import open_projection_store


def _rechunked_copy(store: Path, target: Path, years_per_chunk: int) -> Path:
    """Copy ``store`` with ``years_per_chunk`` years of 365 days and 2 x 2 cells a chunk."""
    import zarr

    with xr.open_dataset(store, engine="zarr", consolidated=True, chunks=None) as ds:
        encoding = {}
        for name, var in ds.data_vars.items():
            kept = {k: v for k, v in var.encoding.items() if k not in ("preferred_chunks",)}
            encoding[name] = {**kept, "chunks": (1, 1, 365 * years_per_chunk, 2, 2)}
        ds.load().to_zarr(target, zarr_format=2, consolidated=False, encoding=encoding)
    zarr.consolidate_metadata(str(target))
    return target


def test_a_time_contiguous_store_gives_the_same_heat_layer(projection_store, horizons, tmp_path):
    blocks = _rechunked_copy(projection_store, tmp_path / "blocks.zarr", years_per_chunk=4)
    yearly, contiguous = open_projection_store(projection_store), open_projection_store(blocks)
    assert set(yearly["tasmax"].chunks[2]) == {365}
    # 20 years in stored chunks of 4 years: dask blocks of whole years along those chunks
    assert contiguous["tasmax"].chunks[2] == (1460,) * 5
    assert contiguous["tasmax"].chunks[3:] == ((2, 1), (2, 2))
    expected = build_heat_layer(yearly, horizons=horizons, scenarios=["ssp245"]).compute()
    found = build_heat_layer(contiguous, horizons=horizons, scenarios=["ssp245"]).compute()
    xr.testing.assert_allclose(expected, found, rtol=1e-12, atol=0)  # sums may regroup
    assert np.isfinite(found["txx"]).all()
