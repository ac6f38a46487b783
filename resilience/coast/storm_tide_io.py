"""Read a storm-tide event (hours, level) from a CSV for the overtopping flood model.

One row per time: ``time_h`` (hours, strictly increasing, any origin) and ``level_m`` (m,
any datum: the series is shifted to each return level, so only its shape matters). Errors
name the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hazard_models.coast.storm_tide import StormTideSeries

__all__ = ["STORM_TIDE_COLUMNS", "read_storm_tide"]

#: Columns of a storm-tide CSV.
STORM_TIDE_COLUMNS = ("time_h", "level_m")


def read_storm_tide(path: Path) -> StormTideSeries:
    """Return the storm-tide event of a CSV with columns ``time_h, level_m``.

    Parameters
    ----------
    path : pathlib.Path
        CSV file; other columns are ignored.

    Returns
    -------
    StormTideSeries
        Hours and levels (m), named after the file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        A missing column, a value that does not parse, time that does not increase, or
        fewer than 2 rows (file, line and field).
    """
    from hazard_models.coast.storm_tide import StormTideSeries
    from hazard_models.layer import SchemaError
    from resilience.storage.csv_rows import parse_float, read_rows, where

    path = Path(path)
    _, rows = read_rows(path, STORM_TIDE_COLUMNS)
    time: list[float] = []
    level: list[float] = []
    for line, row in rows:
        hours = parse_float(row["time_h"], path, line, "time_h")
        if time and hours <= time[-1]:
            message = f"expected time_h above the previous row's {time[-1]:g}, found {hours:g}"
            raise SchemaError(f"{where(path, line, 'time_h')}: {message}")
        time.append(hours)
        level.append(parse_float(row["level_m"], path, line, "level_m"))
    if len(time) < 2:
        raise SchemaError(f"{path}: expected at least 2 rows of time_h, level_m, found 1")
    return StormTideSeries(tuple(time), tuple(level), name=path.name)
