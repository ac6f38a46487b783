"""Where dask computations run: the local scheduler, or a dask.distributed cluster.

``RESILIENCE_DASK_ADDRESS`` (settings ``dask_address``) switches from dask's local threaded
scheduler to a distributed cluster with no code change (design.md, "Scale").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["dask_scheduler"]


@contextmanager
def dask_scheduler(address: str | None) -> Iterator[Any]:
    """Run the enclosed dask computations on ``address``, or locally when it is None.

    Parameters
    ----------
    address : str or None
        A dask.distributed scheduler address such as ``tcp://10.0.0.5:8786``.

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
        client = Client(address, timeout="10s", set_as_default=True)
    except OSError as error:
        raise OSError(f"cannot reach the dask scheduler at {address}: {error}") from error
    try:
        yield client
    finally:
        client.close()
