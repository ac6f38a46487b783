"""Read the inputs of a surge report: a shipped station, a user's annual maxima or hourly CSV.

Every reader raises :class:`~hazard_models.layer.SchemaError` naming the file, the line
(1 = header) and the field. :func:`surge_report` reads the inputs and calls
:func:`resilience.coast.surge_report.build_surge_report`; ``resilience surge`` is its CLI
(:mod:`resilience.cli.surge`).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from resilience.coast.surge_models import GaugeRecord, PeaksSummary, SurgeOptions, SurgeReport

__all__ = [
    "Units",
    "hourly_record",
    "read_gauge_hourly",
    "read_gauge_maxima",
    "station_record",
    "surge_report",
]

Units = Literal["m", "cm", "mm"]
_TO_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_MIN_YEARS = 10
_SAMPLE_SOURCE = "synthetic sample (resilience.sample.tides, docs/sea_level.md)"


def _metres(units: str) -> float:
    from hazard_models.layer import SchemaError

    if units not in _TO_METRES:
        raise SchemaError(f"--units: expected one of {list(_TO_METRES)}, found {units!r}")
    return _TO_METRES[units]


def read_gauge_maxima(path: Path, *, column: str = "annual_max_m", units: Units = "m") -> pd.Series:
    """Read a user's annual maxima (columns ``year`` and ``column``) and return them in m.

    Raises
    ------
    SchemaError
        From :func:`resilience.coast.tide_io.read_gauge_csv` (file, line and column of a bad cell),
        for an unknown ``units``, or fewer than 10 values.
    """
    from hazard_models.layer import SchemaError
    from resilience.coast.tide_io import read_gauge_csv

    factor = _metres(units)
    series = read_gauge_csv(Path(path), column=column) * factor
    if series.size < _MIN_YEARS:
        raise SchemaError(
            f"{path}: field '{column}': expected at least {_MIN_YEARS} annual maxima, "
            f"found {series.size}"
        )
    return series


def read_gauge_hourly(
    path: Path, *, time_column: str = "time", column: str = "level_m", units: Units = "m"
) -> tuple[np.ndarray, np.ndarray]:
    """Read a user's hourly water levels (columns ``time_column`` and ``column``).

    Parameters
    ----------
    path : pathlib.Path
        CSV with one row per hour; times in ISO 8601 (e.g. ``2001-07-25T06:00``, local or
        UTC, but one convention for the whole file); empty or ``NA`` levels are gaps.
    time_column, column : str
        Names of the time and the level columns.
    units : {"m", "cm", "mm"}
        Units of the levels.

    Returns
    -------
    times : numpy.ndarray of datetime64[ns]
        As written (a time-zone suffix is converted to UTC and dropped).
    levels_m : numpy.ndarray of float
        Levels in m (NaN = gap).

    Raises
    ------
    SchemaError
        A missing column, a time or level that does not parse (file, line, field), or times
        that are not whole, strictly increasing hours (the first offending line).
    """
    import numpy as np
    import pandas as pd

    from hazard_models.layer import SchemaError
    from resilience.storage.csv_rows import parse_float, read_rows, where

    factor = _metres(units)
    _, rows = read_rows(Path(path), (time_column, column))
    lines = [line for line, _ in rows]
    texts = [row[time_column] for _, row in rows]
    levels = [
        parse_float(row[column], path, line, column, allow_missing=True) for line, row in rows
    ]
    times = pd.to_datetime(pd.Series(texts), format="ISO8601", errors="coerce", utc=True)
    bad = np.flatnonzero(times.isna().to_numpy())
    if bad.size:
        found = texts[bad[0]]
        raise SchemaError(
            f"{where(path, lines[bad[0]], time_column)}: expected an ISO time such as "
            f"2001-07-25T06:00, found {found!r}"
        )
    values = times.dt.tz_localize(None).to_numpy()
    step = np.diff(values) / np.timedelta64(1, "h")
    wrong = np.flatnonzero((step <= 0) | (step != np.round(step)))
    off_hour = np.flatnonzero(values != values.astype("datetime64[h]"))
    if wrong.size or off_hour.size:
        index = min([*(wrong + 1), *off_hour])
        raise SchemaError(
            f"{where(path, lines[index], time_column)}: expected whole hours in increasing "
            f"order, found {texts[index]!r}"
        )
    return values, np.asarray(levels, dtype=float) * factor


def hourly_record(
    path: Path,
    options: SurgeOptions,
    *,
    time_column: str = "time",
    column: str = "level_m",
    units: Units = "m",
    datum: str = "Wusong",
) -> GaugeRecord:
    """Read an hourly CSV, fit its declustered peaks over threshold, return a GaugeRecord.

    The columns, units and datum are those of :func:`read_gauge_hourly`. The POT settings
    (threshold quantile or metres, run length), ``detrend`` and the GPD estimator (``mle``,
    or ``lmoments`` when ``options.method`` is) come from ``options``; see
    :func:`hazard_models.coast.gauge_extremes.fit_hourly_peaks`.

    Raises
    ------
    SchemaError
        A bad file (see :func:`read_gauge_hourly`), too few storm peaks or a failed fit.
    """
    from hazard_models.coast.gauge_extremes import (
        annual_maxima_of_hourly,
        fit_hourly_peaks,
        refer_hourly_to_baseline,
    )
    from hazard_models.layer import SchemaError
    from resilience.coast.datum import canonical_datum
    from resilience.coast.surge_models import GaugeRecord

    times, levels = read_gauge_hourly(path, time_column=time_column, column=column, units=units)
    method: Literal["mle", "lmoments"] = "lmoments" if options.method == "lmoments" else "mle"
    try:
        fit = fit_hourly_peaks(
            times,
            levels,
            threshold_quantile=options.threshold_quantile,
            threshold_m=options.threshold_m,
            run_length_hours=options.decluster_hours,
            detrend=options.detrend,
            method=method,
        )
    except ValueError as error:
        raise SchemaError(f"{path}: {error}") from None
    referred, _ = refer_hourly_to_baseline(times, levels, detrend=options.detrend)
    maxima = annual_maxima_of_hourly(referred)
    quantile = options.threshold_quantile if options.threshold_m is None else None
    summary = _peaks_summary(fit, quantile, method)
    return GaugeRecord(
        station=Path(path).stem,
        station_name=Path(path).stem,
        datum=canonical_datum(datum),
        years=[int(y) for y in maxima.index],
        maxima_m=[float(v) for v in maxima],
        source=f"{path}:{column} (hourly)",
        peaks=summary,
    )


def _peaks_summary(
    fit: Any, quantile: float | None, method: Literal["mle", "lmoments"]
) -> PeaksSummary:
    """Return the report's summary of a :class:`hazard_models.coast.gauge_extremes.PeaksFit`."""
    from dataclasses import asdict

    from resilience.coast.surge_models import PeaksSummary

    fields = asdict(fit)
    fields["gpd_scale_m"], fields["gpd_shape"] = fields.pop("scale_m"), fields.pop("shape")
    loc, scale, shape = fit.gev
    return PeaksSummary(
        **fields,
        threshold_quantile=quantile,
        method=method,
        gev_loc_m=loc,
        gev_scale_m=scale,
        gev_shape=shape,
    )


def station_record(station: str, maxima_path: Path | None = None) -> GaugeRecord:
    """Return the record of a shipped station, from ``maxima_path`` or the synthetic sample.

    Raises
    ------
    SchemaError
        An unknown station (listing the known ones), or no maxima for it in the table.
    """
    from hazard_models.layer import SchemaError
    from resilience.coast.datum import canonical_datum
    from resilience.coast.surge_models import GaugeRecord
    from resilience.coast.tide_io import read_annual_maxima, read_tide_stations

    stations = read_tide_stations()
    if station not in set(stations["station"]):
        raise SchemaError(f"--station {station!r}: expected one of {list(stations['station'])}")
    row = stations.set_index("station").loc[station].to_dict()
    with tempfile.TemporaryDirectory() as scratch:
        if maxima_path is None:
            from resilience.sample.tides import write_sample_tide_gauges

            table = read_annual_maxima(write_sample_tide_gauges(Path(scratch)))
        else:
            table = read_annual_maxima(Path(maxima_path))
    source = _SAMPLE_SOURCE if maxima_path is None else str(maxima_path)
    rows = table[table["station"] == station]
    if rows.empty:
        raise SchemaError(f"{source}: station {station!r}: expected annual maxima, found none")
    design = row.get("design_level_1000yr_m")
    return GaugeRecord(
        station=station,
        station_name=str(row["station_name"]),
        datum=canonical_datum(str(row["datum"])),
        years=[int(y) for y in rows["year"]],
        maxima_m=[float(v) for v in rows["annual_max_m"]],
        subsidence_mm_per_year=row.get("subsidence_mm_per_year"),
        design_level_m=None if design is None or math.isnan(design) else float(design),
        source=source,
        synthetic=bool(rows["synthetic"].any()),
    )


def surge_report(
    *,
    station: str | None = None,
    gauge: Path | None = None,
    hourly: bool = False,
    maxima_path: Path | None = None,
    column: str = "annual_max_m",
    time_column: str = "time",
    units: Units = "m",
    datum: str = "Wusong",
    sea_level_path: Path | None = None,
    options: SurgeOptions | None = None,
) -> SurgeReport:
    """Read the inputs and build the report of a shipped station or of a user's gauge CSV.

    Parameters
    ----------
    station : str, optional
        A station of the shipped table (``wusongkou``, ``huangpu_park``). Its maxima come
        from ``maxima_path`` (a table as ``resilience.coast.tide_io.read_annual_maxima`` reads),
        by default the synthetic sample (the report says so).
    gauge : pathlib.Path, optional
        A user's CSV: ``year`` and ``column`` (annual maxima in ``units`` on ``datum``), or
        with ``hourly`` ``time_column`` and ``column`` (hourly levels).
    hourly : bool
        ``gauge`` holds hourly levels: peaks over threshold (``options``' POT settings).
    sea_level_path : pathlib.Path, optional
        A sea-level-rise table replacing the shipped AR6 global-mean table.
    options : SurgeOptions, optional
        See :class:`resilience.coast.surge_models.SurgeOptions`.

    Raises
    ------
    SchemaError
        Bad files (file, line and field), unknown station or datum, too few maxima or peaks.
    ValueError
        Neither or both of ``station`` and ``gauge``, or ``hourly`` without ``gauge``.
    """
    from resilience.coast.datum import canonical_datum
    from resilience.coast.surge_models import GaugeRecord, SurgeOptions
    from resilience.coast.surge_report import build_surge_report
    from resilience.coast.tide_io import read_sea_level_projections

    options = options or SurgeOptions()
    if (station is None) == (gauge is None):
        raise ValueError("give exactly one of --station and --gauge")
    if gauge is None:
        if hourly:
            raise ValueError("--hourly needs --gauge FILE.csv (an hourly record)")
        record = station_record(str(station), maxima_path)
    elif hourly:
        record = hourly_record(
            gauge, options, time_column=time_column, column=column, units=units, datum=datum
        )
    else:
        series = read_gauge_maxima(gauge, column=column, units=units)
        record = GaugeRecord(
            station=Path(gauge).stem,
            station_name=Path(gauge).stem,
            datum=canonical_datum(datum),
            years=[int(y) for y in series.index],
            maxima_m=series.tolist(),
            source=f"{gauge}:{column}",
        )
    return build_surge_report(record, read_sea_level_projections(sea_level_path), options=options)
