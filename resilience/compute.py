"""Where dask computations run: the local scheduler, or a dask.distributed cluster.

``RESILIENCE_DASK_ADDRESS`` (settings ``dask_address``) switches from dask's local threaded
scheduler to a distributed cluster with no code change (design.md, "Scale").
:func:`compute_layer` computes a lazy layer in one pass wherever dask runs, so that only
this process opens the output file (docs/scaling.md, "What a cluster changes").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["compute_layer", "dask_scheduler", "release_memory"]


@contextmanager
def dask_scheduler(address: str | None, *, timeout_s: float = 10.0) -> Iterator[Any]:
    """Run the enclosed dask computations on ``address``, or locally when it is None.

    Parameters
    ----------
    address : str or None
        A dask.distributed scheduler address such as ``tcp://10.0.0.5:8786``.
    timeout_s : float
        How long to try to reach the scheduler, seconds.

    Yields
    ------
    distributed.Client or None
        The connected client (closed on exit), or None for the local scheduler.

    Raises
    ------
    OSError
        If the scheduler cannot be reached; the message names the address.
    """
    if not address:
        yield None
        return
    from distributed import Client

    try:
        client = Client(address, timeout=f"{timeout_s}s", set_as_default=True)
    except OSError as error:
        raise OSError(
            f"cannot reach the dask scheduler at {address} within {timeout_s:g} s "
            f"(settings dask_address): {error}"
        ) from error
    try:
        yield client
    finally:
        client.close()


def compute_layer(layer: xr.Dataset) -> xr.Dataset:
    """Return ``layer`` with every lazy variable computed in one pass on the active scheduler.

    Parameters
    ----------
    layer : xarray.Dataset
        A (lazy) hazard layer; its variables share the reads of their inputs, so they are
        computed together (one graph), never one by one.

    Returns
    -------
    xarray.Dataset
        The same layer, numpy-backed, attributes unchanged.

    Notes
    -----
    Writing a lazy Dataset to NetCDF under dask.distributed makes every worker open the
    output file in append mode under a cluster-wide lock, once per chunk: on a 2-worker
    LocalCluster that took longer than computing the layer (34 s against 22 s for a small
    heat layer, docs/scaling.md), and netCDF4 1.7.5 crashes a process that opens a file it
    already holds open (Unidata/netcdf4-python#1444). Computing first keeps the output file
    in this process. A layer is small next to its input (per cell, one value per scenario,
    horizon, quantile and return period instead of 365 days per year).
    """
    computed = layer.compute()
    release_memory()  # the dask threads' freed blocks, before the next step allocates its own
    return computed


def release_memory() -> bool:
    """Return freed heap memory of this process to the operating system (glibc only).

    glibc keeps memory freed by a thread in that thread's arena. The dask threads of a layer
    step free hundreds of MiB there, which the next step (the risk table, on the main
    thread) does not reuse, so each step's peak stacked on the last one's leftovers. On the
    moonshot run (bench/bench_refresh_scale.py) trimming after each layer lowered the
    refresh's peak from 1,867 to 1,567 MiB (docs/benchmarks.md).

    Returns
    -------
    bool
        True if memory was returned; False if none could be or the C library is not glibc.
    """
    import ctypes

    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to do
        return False
    return bool(trim(0))
