"""Turn a dated station series into what a fit needs: block maxima, or declustered peaks.

``resilience fit FILE --date-column date`` reads a time series (one value per row, a date or
date parts per row), then either takes the maximum of each block (a year, or one season of
each year: DJF, MAM, JJA, SON) for a GEV/Gumbel fit, or, for a GPD, declusters the
exceedances of the threshold by the runs method and keeps each cluster's peak (Coles 2001,
sec. 5.3.2; as pyextremes' ``get_extremes(method="POT", r=...)``), with the runs estimate
of the extremal index. Blocks with fewer than 80 % of the usual number of observations are
left out and listed (a partial year's maximum is biased low).

The declustered series handed to the GPD fit keeps every observation, with the
exceedances that are not their cluster's peak set to the threshold (not above it), so that
the exceedance rate is clusters per observation and the return levels count clusters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from hazard_models.layer import SchemaError
from resilience.fitting.record import MIN_VALUES, StationRecord, read_station_record

__all__ = [
    "Block",
    "DatedSeries",
    "block_maxima",
    "decluster_peaks",
    "load_record",
    "read_dated_series",
]

Block = Literal["annual", "DJF", "MAM", "JJA", "SON"]
_SEASON_MONTHS = {"DJF": (12, 1, 2), "MAM": (3, 4, 5), "JJA": (6, 7, 8), "SON": (9, 10, 11)}
_COMPLETE = 0.8  # a block needs 80 % of the median block's observations


class DatedSeries(BaseModel):
    """Values of one column with their timestamps (numpy datetime64[s]), in file order."""

    path: Path
    column: str
    times: list[np.datetime64]
    values: list[float]

    model_config = {"arbitrary_types_allowed": True}


def read_dated_series(path: Path, *, column: str, date_column: str) -> DatedSeries:
    """Read a value column and its dates from a CSV; NA values are left out.

    Parameters
    ----------
    path : Path
        CSV file.
    column : str
        The value column (data units).
    date_column : str
        One column of ISO dates or date-times, or comma-separated parts
        "year,month,day[,hour]" (e.g. the hourly record's columns).

    Raises
    ------
    SchemaError
        A missing column, a date that does not parse (file, line and field), or fewer
        than 10 values.
    """
    import pandas as pd

    parts = [p.strip() for p in date_column.split(",") if p.strip()]
    table = pd.read_csv(path, na_values=["NA", ""], keep_default_na=True)
    missing = [c for c in [column, *parts] if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(table.columns)}"
        )
    if len(parts) == 1:
        times = pd.to_datetime(table[parts[0]], errors="coerce")
    else:
        names = ["year", "month", "day", "hour"][: len(parts)]
        times = pd.to_datetime(table[parts].set_axis(names, axis=1), errors="coerce")
    bad = np.flatnonzero(times.isna().to_numpy())
    if bad.size:
        line = int(bad[0]) + 2  # header is line 1
        raise SchemaError(f"{path}, line {line}, field '{date_column}': expected a date")
    values = pd.to_numeric(table[column], errors="coerce")
    text = np.flatnonzero(values.isna().to_numpy() & table[column].notna().to_numpy())
    if text.size:
        raise SchemaError(
            f"{path}, line {int(text[0]) + 2}, field '{column}': expected a number, found "
            f"{table[column].iloc[int(text[0])]!r}"
        )
    keep = values.notna().to_numpy()
    if keep.sum() < MIN_VALUES:
        raise SchemaError(f"{path}: field '{column}': expected at least {MIN_VALUES} values")
    order = np.argsort(times.to_numpy()[keep], kind="stable")
    return DatedSeries(
        path=path,
        column=column,
        times=list(times.to_numpy()[keep][order].astype("datetime64[s]")),
        values=values.to_numpy(dtype=float)[keep][order].tolist(),
    )


def block_maxima(series: DatedSeries, block: Block = "annual") -> tuple[StationRecord, dict]:
    """Return the maximum of each complete block as a record, and what was left out.

    A season's block is labelled by the year of its last month (December joins the next
    year's DJF). Returns the record of block maxima and diagnostics: ``block``, ``blocks``,
    ``first_block`` and ``blocks_dropped`` (incomplete, by year).

    Raises
    ------
    SchemaError
        If fewer than 10 complete blocks remain.
    """
    times = np.asarray(series.times, dtype="datetime64[s]")
    values = np.asarray(series.values, dtype=float)
    years = times.astype("datetime64[Y]").astype(int) + 1970
    months = times.astype("datetime64[M]").astype(int) % 12 + 1
    if block != "annual":
        inside = np.isin(months, _SEASON_MONTHS[block])
        years = np.where(months == 12, years + 1, years)[inside]
        values = values[inside]
    labels, counts = np.unique(years, return_counts=True)
    complete = counts >= _COMPLETE * np.median(counts)
    maxima = [float(values[years == y].max()) for y in labels[complete]]
    if len(maxima) < MIN_VALUES:
        raise SchemaError(
            f"{series.path}: field '{series.column}': expected at least {MIN_VALUES} complete "
            f"{block} blocks, found {len(maxima)}"
        )
    record = StationRecord(path=series.path, column=series.column, values=maxima)
    dropped = ",".join(str(int(y)) for y in labels[~complete]) or "none"
    first = int(labels[complete][0])
    return record, {
        "block": block,
        "blocks": len(maxima),
        "first_block": first,
        "blocks_dropped": dropped,
    }


def decluster_peaks(
    series: DatedSeries, *, threshold: float, run_length: int
) -> tuple[StationRecord, dict, float]:
    """Return the declustered series for a GPD fit, its diagnostics and observations/year.

    Runs declustering (:func:`hazard_models.extremes.threshold.decluster_runs`): a cluster
    ends after ``run_length`` observations at or below the threshold. Diagnostics:
    ``clusters``, ``exceedances_before_declustering``, ``extremal_index`` (n_c / n_u,
    Coles 2001, sec. 5.3.2) and ``run_length``; observations per year = valid observations
    / years spanned by the dates.
    """
    from hazard_models.extremes.threshold import decluster_runs

    values = np.asarray(series.values, dtype=float)
    clusters = decluster_runs(values, threshold, run_length)
    declustered = np.where(values > threshold, threshold, values)
    declustered[clusters.index] = clusters.maxima
    times = np.asarray(series.times, dtype="datetime64[s]")
    span_years = (times[-1] - times[0]).astype(float) / (365.2425 * 86400.0)
    per_year = values.size / span_years if span_years > 0 else float("nan")
    record = StationRecord(path=series.path, column=series.column, values=declustered.tolist())
    diagnostics = {
        "clusters": clusters.n_clusters,
        "exceedances_before_declustering": clusters.n_exceed,
        "extremal_index": clusters.extremal_index,
        "run_length": run_length,
    }
    return record, diagnostics, per_year


def load_record(
    path: Path,
    column: str,
    date_column: str | None,
    *,
    dist: str,
    threshold: float | None,
    block: Block,
    run_length: int,
    covariate: str | None,
    per_year: float,
) -> tuple[StationRecord, dict, float]:
    """Return the record to fit, extra diagnostics and the observations per year.

    Without ``date_column``: the column as it is (:func:`.record.read_station_record`). With
    it: block maxima of ``block`` for a GEV or Gumbel (``per_year`` passed through), or the
    runs-declustered series for a GPD (observations per year from the dates).

    Raises
    ------
    ValueError
        A covariate with dates, or a GPD without a threshold.
    SchemaError
        See :func:`.record.read_station_record`, :func:`read_dated_series` and
        :func:`block_maxima`.
    """
    if date_column is None:
        return read_station_record(path, column=column, covariate=covariate), {}, per_year
    if covariate is not None:
        raise ValueError("--covariate cannot be combined with --date-column")
    series = read_dated_series(path, column=column, date_column=date_column)
    if dist != "gpd":
        record, extra = block_maxima(series, block)
        return record, extra, per_year
    if threshold is None:
        raise ValueError("--dist gpd needs --threshold U (data units)")
    return decluster_peaks(series, threshold=threshold, run_length=run_length)
