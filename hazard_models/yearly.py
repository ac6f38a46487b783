"""Apply numpy kernels to each calendar year of daily data: the engine of the yearly indices.

:func:`apply_year_kernel` hands each block of whole years to a numpy kernel as
``(year, day, cell)`` slabs: a reshape (a view) for equal-length years, a NaN-padded copy
otherwise. Dask input stays lazy and is processed one block of whole years at a time (the
one-file-per-year chunks of ``resilience.climate.projections.open_projections`` already are), so
there is
no rechunking over time and no Python loop over cells, years or days; cell axes are merged
in memory order, so a time-first block is never copied. Float32 input stays float32
(thresholds are moved to the nearest float32 so that comparisons are exact); counts and
maxima are exact, and sums are accumulated in float64. The generic parts
(:func:`apply_year_kernel`, :func:`exceeds`, :func:`count_days`, :func:`yearly_max`,
:func:`yearly_sum`, :func:`yearly_mean`) serve ``heat_indices``, ``rain_indices`` and the
layer builders. Within one task of :func:`one_task_per_block` a block is cut into slabs once,
and kernels can share what they derive from it (:func:`shared`, :func:`block_max`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

import numpy as np
import xarray as xr

__all__ = [
    "Comparison",
    "YearKernel",
    "any_valid",
    "apply_year_kernel",
    "block_max",
    "block_min",
    "count_days",
    "exceeds",
    "one_task_per_block",
    "shared",
    "yearly_max",
    "yearly_mean",
    "yearly_sum",
]

Comparison = Literal[">", ">="]
#: ``kernel(slabs)`` or ``kernel(slabs, per_cell)``: slabs (year, day, cell), float32 or
#: float64, NaN-padded after the last day of short years; per_cell (cell,). Returns
#: (year, cell) float64.
YearKernel = Callable[..., np.ndarray]
T = TypeVar("T")


def _year_starts(daily: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Return the index of each year's first day and the year labels; check the time axis."""
    if not isinstance(daily, xr.DataArray) or "time" not in daily.dims:
        found = daily.dims if isinstance(daily, xr.DataArray) else type(daily).__name__
        raise ValueError(f"daily data: expected a DataArray with a 'time' dim, found {found}")
    years = np.asarray(daily["time"].dt.year.values)
    if years.size == 0 or np.any(np.diff(years) < 0):
        raise ValueError("time: expected a non-empty, ascending daily time axis")
    starts = np.flatnonzero(np.r_[True, np.diff(years) != 0])
    return starts, years[starts]


def _slabs(flat: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Return (time, cell) values as (year, day, cell): a view, or NaN-padded if years differ."""
    lengths = np.diff(np.r_[starts, flat.shape[0]])
    days = int(lengths.max())
    if np.all(lengths == days):
        return flat.reshape(starts.size, days, flat.shape[1])
    slabs = np.full((starts.size, days, flat.shape[1]), np.nan, dtype=flat.dtype)
    slabs[np.arange(days) < lengths[:, None]] = flat  # boolean assignment keeps time order
    return slabs


def _block_slabs(values: np.ndarray, local: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Return one block (..., time) as (year, day, cell) slabs and its cell axes, slowest first.

    Cells are independent, so their axes are merged in memory order (slowest first): for
    blocks that are time-first in memory (the files' layout, whatever the order of lat and
    lon) the (time, cell) array is then a view, not a transposing copy.
    """
    cells = sorted(range(values.ndim - 1), key=lambda axis: -abs(values.strides[axis]))
    moved = np.transpose(values, (values.ndim - 1, *cells))
    flat = moved.reshape(values.shape[-1], math.prod(moved.shape[1:]))
    return _slabs(flat, local), cells


def _reduce_block(
    values: np.ndarray,
    per_cell: np.ndarray | None = None,
    *,
    kernel: YearKernel,
    starts: np.ndarray | list[np.ndarray],
    block_id: tuple[int, ...] | None = None,
    prepared: tuple[np.ndarray, list[int]] | None = None,
) -> np.ndarray:
    """Apply ``kernel`` to one block (..., time) of whole years; return (..., year).

    ``prepared`` is the block's :func:`_block_slabs`, when the caller already has it.
    """
    local = np.asarray(starts[block_id[-1]] if block_id is not None else starts)
    slabs, cells = prepared if prepared is not None else _block_slabs(values, local)
    args = [slabs]
    if per_cell is not None:
        grid = np.broadcast_to(per_cell[..., 0], values.shape[:-1])
        args.append(np.transpose(grid, cells).reshape(-1))
    out = kernel(*args).reshape(local.size, *[values.shape[axis] for axis in cells])
    back = np.argsort(cells)  # from (year, *cells) to (*original cell axes, year)
    return np.transpose(out, (*(back + 1), 0))


def _reduce_dask(values: Any, per_cell: Any, kernel: YearKernel, starts: np.ndarray) -> Any:
    """Map :func:`_reduce_block` over dask blocks of whole years (rechunked only if needed)."""
    import dask.array as da

    array = da.asarray(values)
    axis = array.ndim - 1
    bounds = np.cumsum((0, *array.chunks[axis]))
    if not set(bounds[:-1].tolist()) <= set(starts.tolist()):  # a chunk splits a year
        array = array.rechunk({axis: tuple(np.diff(np.r_[starts, array.shape[axis]]).tolist())})
        bounds = np.cumsum((0, *array.chunks[axis]))
    local = [
        starts[(starts >= a) & (starts < b)] - a
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    arrays = [array]
    if per_cell is not None:
        arrays.append(da.asarray(per_cell).rechunk((*array.chunks[:axis], (1,))))
    plan = _PLAN.get()
    if plan is not None:
        call = _KernelCall(array, arrays[1] if per_cell is not None else None, kernel, local)
        fused = plan.take(call)
        if fused is not None:
            return fused
    return da.map_blocks(
        _reduce_block,
        *arrays,
        kernel=kernel,
        starts=local,
        chunks=(*array.chunks[:axis], tuple(len(s) for s in local)),
        dtype=np.float64,
        meta=np.empty((0,) * array.ndim, dtype=np.float64),
    )


@dataclass
class _KernelCall:
    """One yearly reduction as :func:`_reduce_dask` was asked for it."""

    array: Any  #: dask array (..., time), blocks of whole years
    per_cell: Any  #: dask array (..., 1) chunked like ``array``'s cells, or None
    kernel: YearKernel
    starts: list[np.ndarray]  #: each block's year starts

    def group(self) -> tuple:
        """Return the key of the calls that can share a task: the same blocks of days."""
        starts = tuple(tuple(s.tolist()) for s in self.starts)
        return (self.array.shape, self.array.chunks, starts)


@dataclass
class _KernelPlan:
    """The yearly reductions of :func:`one_task_per_block`: recorded, then served fused."""

    calls: list[_KernelCall] = field(default_factory=list)
    fused: list[Any] | None = None  #: per call, its slice of the fused array (replay)
    served: int = 0

    def take(self, call: _KernelCall) -> Any:
        """Record ``call`` (first pass; None) or return its fused result (second pass)."""
        if self.fused is None:
            self.calls.append(call)
            return None
        if self.served >= len(self.calls) or self.calls[self.served].array.name != call.array.name:
            raise RuntimeError("one_task_per_block: the second pass asked for other reductions")
        self.served += 1
        return self.fused[self.served - 1]

    def fuse(self) -> None:
        """Build one ``map_blocks`` per group of calls with the same blocks."""
        import dask.array as da

        fused: list[Any] = [None] * len(self.calls)
        groups: dict[tuple, list[int]] = {}
        for index, call in enumerate(self.calls):
            groups.setdefault(call.group(), []).append(index)
        for members in groups.values():
            inputs: dict[str, Any] = {}  # unique dask arrays by name, in first-use order
            specs = []
            for index in members:
                call = self.calls[index]
                slots = []
                for array in (call.array, call.per_cell):
                    if array is None:
                        slots.append(-1)
                        continue
                    inputs.setdefault(array.name, array)
                    slots.append(list(inputs).index(array.name))
                specs.append((slots[0], slots[1], call.kernel))
            first = self.calls[members[0]]
            axis = first.array.ndim - 1
            stacked = da.map_blocks(
                _fused_blocks,
                *inputs.values(),
                specs=specs,
                starts=first.starts,
                new_axis=0,
                chunks=(
                    (len(specs),),
                    *first.array.chunks[:axis],
                    tuple(len(s) for s in first.starts),
                ),
                dtype=np.float64,
                meta=np.empty((0,) * (first.array.ndim + 1), dtype=np.float64),
            )
            for position, index in enumerate(members):
                fused[index] = stacked[position]
        self.fused = fused


def _fused_blocks(
    *blocks: np.ndarray,
    specs: list[tuple[int, int, YearKernel]],
    starts: list[np.ndarray],
    block_id: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Run every kernel of ``specs`` on its block; stack the (..., year) results first.

    Each block is cut into slabs once for all of its kernels, and the kernels may share
    arrays derived from those slabs (:func:`shared`) for the duration of the task.
    """
    local = np.asarray(starts[block_id[-1]] if block_id is not None else starts[0])
    prepared: dict[int, tuple[np.ndarray, list[int]]] = {}
    caches: dict[int, tuple[np.ndarray, dict[Hashable, Any]]] = {}
    token = _SHARED.set(caches)
    try:
        out = []
        for value, cell, kernel in specs:
            if value not in prepared:
                prepared[value] = _block_slabs(blocks[value], local)
                slabs = prepared[value][0]
                caches[id(slabs)] = (slabs, {})
            per_cell = blocks[cell] if cell >= 0 else None
            out.append(
                _reduce_block(
                    blocks[value], per_cell, kernel=kernel, starts=local, prepared=prepared[value]
                )
            )
    finally:
        _SHARED.reset(token)
    return np.stack(out)


#: Within a :func:`_fused_blocks` task: for each of its slabs, by ``id``, the slabs and the
#: arrays that kernels derived from them (:func:`shared`); None outside such a task.
_SHARED: ContextVar[dict[int, tuple[np.ndarray, dict[Hashable, Any]]] | None] = ContextVar(
    "year_kernel_shared", default=None
)


def shared(slabs: np.ndarray, key: Hashable, make: Callable[[np.ndarray], T]) -> T:
    """Return ``make(slabs)``, computed once per block for all kernels of a fused task.

    Within a task of :func:`one_task_per_block` every kernel of a block gets the same slabs
    object; a kernel that needs an array that another kernel also derives from it (the
    wet-day amounts of SDII and R95pTOT, the block's maximum) asks for it here, under a
    ``key`` that names ``make`` and every option it depends on. For any other array (not
    the task's slabs object), or outside such a task, ``make(slabs)`` is simply returned.
    The result is shared: a kernel must not modify it. The seven kernels of the rain layer
    took 24.3 ms per 365 x 100 x 100 float32 block with sharing and 28.8 ms without (best
    of 40; medians 27.9 and 35.4 ms).
    """
    entry = (_SHARED.get() or {}).get(id(slabs))
    if entry is None or entry[0] is not slabs:
        return make(slabs)
    cache = entry[1]
    if key not in cache:
        cache[key] = make(slabs)
    return cache[key]


def block_max(slabs: np.ndarray) -> Any:
    """Return the largest value of ``slabs`` (NaN if any is NaN), once per fused block."""
    return shared(slabs, "max", np.max)


def block_min(slabs: np.ndarray) -> Any:
    """Return the smallest value of ``slabs`` (NaN if any is NaN), once per fused block."""
    return shared(slabs, "min", np.min)


#: The plan of the innermost :func:`one_task_per_block` call (None outside one).
_PLAN: ContextVar[_KernelPlan | None] = ContextVar("year_kernel_plan", default=None)


def one_task_per_block(build: Callable[[], T]) -> T:
    """Return ``build()`` with every yearly reduction of a block of days in one dask task.

    ``build`` computes several yearly indices of the same daily data (e.g. every indicator
    of a hazard layer). Each :func:`apply_year_kernel` on dask input would map its kernel
    over the blocks as its own task, so that a block of days stays in memory until the last
    of its indices has run, and dask's static order may run one index over all blocks
    first: memory then grows with the grid (docs/scaling.md). Here ``build`` runs twice:
    the first pass records every reduction (array, kernel, per-cell input), one
    ``map_blocks`` per set of arrays with the same blocks then runs all of their kernels on
    each block and stacks the results, and the second pass gets each reduction's slice of
    it. The numbers are those of the plain calls (the same kernels on the same blocks).
    Without dask input nothing is recorded and the first result is returned.

    Raises
    ------
    RuntimeError
        If the second pass asks for other reductions than the first (``build`` must be
        deterministic).
    """
    plan = _KernelPlan()
    token = _PLAN.set(plan)
    try:
        first = build()
        if not plan.calls:
            return first
        plan.fuse()
        second = build()
    finally:
        _PLAN.reset(token)
    if plan.served != len(plan.calls):
        raise RuntimeError("one_task_per_block: the second pass asked for fewer reductions")
    return second


def apply_year_kernel(
    daily: xr.DataArray, kernel: YearKernel, per_cell: xr.DataArray | None = None
) -> xr.DataArray:
    """Return ``kernel`` applied to each calendar year of daily data, lazily for dask input.

    Parameters
    ----------
    daily : xarray.DataArray
        Dims (..., time, ...), ``time`` ascending in any calendar.
    kernel : callable
        ``kernel(slabs[, per_cell]) -> (year, cell)`` (see ``YearKernel``); bind options with
        ``functools.partial``.
    per_cell : xarray.DataArray, optional
        A value per cell (dims of ``daily`` without ``time``, coordinates equal), passed to
        ``kernel`` flattened like the cells.

    Returns
    -------
    xarray.DataArray
        Float64, dims of ``daily`` with ``time`` replaced by ``year`` (last); no attributes.

    Raises
    ------
    ValueError
        If ``time`` is missing, empty or not ascending, or ``per_cell`` has ``time`` or
        coordinates that differ from ``daily``'s.
    """
    starts, labels = _year_starts(daily)
    others = [d for d in daily.dims if d != "time"]
    values = daily.transpose(*others, "time").data
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    extra = None
    if per_cell is not None:
        template = daily.isel(time=0, drop=True)
        if not set(per_cell.dims) <= set(others):
            raise ValueError(
                f"per-cell input: expected dims within {others}, found {per_cell.dims}"
            )
        try:
            per_cell = xr.align(template, per_cell, join="exact")[1]
        except ValueError as err:
            raise ValueError(
                f"per-cell input: coordinates differ from the daily data ({err})"
            ) from err
        extra = per_cell.broadcast_like(template).transpose(*others).data[..., None]
    if hasattr(values, "dask") or hasattr(extra, "dask"):
        out = _reduce_dask(values, extra, kernel, starts)
    else:
        out = _reduce_block(values, extra, kernel=kernel, starts=starts)
    coords = {k: c for k, c in daily.coords.items() if "time" not in c.dims and k != "time"}
    result = xr.DataArray(out, dims=(*others, "year"), coords=coords).assign_coords(year=labels)
    result.name = None  # xarray names it after a dask array's graph key otherwise
    return result


def any_valid(slabs: np.ndarray) -> np.ndarray:
    """Return (year, cell): True where the year has a non-NaN day (one fast pass if no NaN)."""
    if slabs.size and not np.isnan(block_max(slabs)):
        return np.ones((slabs.shape[0], slabs.shape[2]), dtype=bool)
    return ~np.isnan(slabs).all(axis=1)


def exceeds(slabs: np.ndarray, threshold: float, op: Comparison) -> np.ndarray:
    """Return ``slabs op threshold`` (a numpy bool array) as in exact arithmetic; NaN: False.

    Float32 data is compared in float32 with the threshold moved to the adjacent float32, which
    gives the same answer as comparing in float64 at half the memory traffic. Within a fused
    task the mask is made once per block (:func:`shared`): the day count, the heat-wave
    events and the longest heat wave at 35 degC all read it. Callers must not modify it.
    """
    key = ("exceeds", float(threshold), op)
    return shared(slabs, key, partial(_exceeds, threshold=threshold, op=op))


def _exceeds(slabs: np.ndarray, *, threshold: float, op: Comparison) -> np.ndarray:
    limit = slabs.dtype.type(threshold)  # float32 data: x >= t iff x >= (next float32 >= t)
    if op == ">=" and float(limit) < threshold:
        limit = np.nextafter(limit, slabs.dtype.type(np.inf))
    elif op == ">" and float(limit) > threshold:  # x > t iff x > (last float32 <= t)
        limit = np.nextafter(limit, slabs.dtype.type(-np.inf))
    return slabs >= limit if op == ">=" else slabs > limit


def _count_kernel(slabs: np.ndarray, *, threshold: float, op: Comparison) -> np.ndarray:
    counts = exceeds(slabs, threshold, op).sum(axis=1, dtype=np.int16)
    return np.where(any_valid(slabs), counts, np.nan)


def _max_kernel(slabs: np.ndarray) -> np.ndarray:
    return np.fmax.reduce(slabs, axis=1).astype(np.float64)  # fmax skips NaN; all-NaN -> NaN


def count_days(daily: xr.DataArray, threshold: float, op: Comparison = ">=") -> xr.DataArray:
    """Return the yearly number of days with ``daily op threshold`` (no attributes).

    Parameters
    ----------
    daily : xarray.DataArray
        Dims (..., time, ...), in the units of ``threshold``.
    threshold : float
        Threshold in the units of ``daily``.
    op : {">=", ">"}
        Comparison.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; NaN for a year without a valid day.
    """
    if op not in (">=", ">"):
        raise ValueError(f"op: expected '>=' or '>', found {op!r}")
    return apply_year_kernel(daily, partial(_count_kernel, threshold=float(threshold), op=op))


def _sum_kernel(slabs: np.ndarray, *, mean: bool) -> np.ndarray:
    if slabs.size and not np.isnan(block_max(slabs)):  # no missing day: a plain sum
        total, count = slabs.sum(axis=1, dtype=np.float64), slabs.shape[1]
    else:
        total = np.nansum(slabs, axis=1, dtype=np.float64)
        count = (~np.isnan(slabs)).sum(axis=1)
    if mean:
        return total / np.where(count > 0, count, np.nan)
    return np.where(count > 0, total, np.nan)


def yearly_max(daily: xr.DataArray) -> xr.DataArray:
    """Return the yearly maximum of daily data, skipping NaN (all-NaN year: NaN; no attrs)."""
    return apply_year_kernel(daily, _max_kernel)


def yearly_sum(daily: xr.DataArray) -> xr.DataArray:
    """Return the yearly sum of daily data in float64, skipping NaN (all-NaN: NaN; no attrs)."""
    return apply_year_kernel(daily, partial(_sum_kernel, mean=False))


def yearly_mean(daily: xr.DataArray) -> xr.DataArray:
    """Return the yearly mean of the valid days of daily data (all-NaN: NaN; no attrs)."""
    return apply_year_kernel(daily, partial(_sum_kernel, mean=True))
