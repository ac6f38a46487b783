"""Read the JTWC best tracks near Shanghai that ship in ``resilience/data/typhoon``.

The typhoon days and season to condition compound rain + high-water statistics on come from
these tracks (:func:`hazard_models.coast.compound.typhoon_days`, ``docs/surge.md`` section 7).
Errors name the file, the line (1 = header) and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TYPHOON_TRACKS_FILE", "read_typhoon_tracks", "shipped_typhoon_days"]

#: The shipped 6-hourly JTWC points within 300 km of Shanghai, 1945-2021 (PROVENANCE.md there).
TYPHOON_TRACKS_FILE = "jtwc_wp_tracks_within300km_shanghai_1945-2021.csv"


def read_typhoon_tracks(path: Path | None = None) -> pd.DataFrame:
    """Read JTWC best-track points near Shanghai (default: the shipped 1945-2021 subset).

    Parameters
    ----------
    path : pathlib.Path, optional
        A CSV with at least ``jtwc_sn``, ``storm_name``, ``time_utc`` (ISO time) and
        ``dist_to_shanghai_km`` (km).

    Returns
    -------
    pandas.DataFrame
        The file's columns (``resilience/data/typhoon/PROVENANCE.md``); ``jtwc_sn`` and
        ``storm_name`` as text, ``dist_to_shanghai_km`` as float, ``time_utc`` as parsed
        UTC times; ``attrs["source"]`` names the file. For
        :func:`hazard_models.coast.compound.typhoon_days`.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        A missing column, or a distance or time that does not parse (file, line, field).
    """
    import pandas as pd

    from hazard_models.coast.compound import TRACK_COLUMNS
    from hazard_models.layer import SchemaError
    from resilience.geodata.geography import data_path
    from resilience.storage.csv_rows import parse_float, read_rows, where

    source = Path(path) if path is not None else data_path("typhoon", TYPHOON_TRACKS_FILE)
    header, rows = read_rows(source, TRACK_COLUMNS)
    records = []
    for line, row in rows:
        record: dict[str, Any] = dict(row)
        field = "dist_to_shanghai_km"
        record[field] = parse_float(row[field], source, line, field)
        try:
            record["time_utc"] = pd.Timestamp(row["time_utc"]).tz_convert("UTC")
        except (ValueError, TypeError):
            message = (
                f"expected an ISO UTC time such as 2021-07-25T06:00Z, found {row['time_utc']!r}"
            )
            raise SchemaError(f"{where(source, line, 'time_utc')}: {message}") from None
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=header)
    frame.attrs["source"] = str(source)
    return frame


def shipped_typhoon_days(path: Path | None = None, *, radius_km: float = 300.0) -> pd.DataFrame:
    """Return the local (UTC+8) days with a storm centre within ``radius_km`` of Shanghai.

    :func:`read_typhoon_tracks` then :func:`hazard_models.coast.compound.typhoon_days`: one row per
    storm and day (``date``, ``jtwc_sn``, ``storm_name``, ``min_dist_km``).
    """
    from hazard_models.coast.compound import typhoon_days

    days = typhoon_days(read_typhoon_tracks(path), radius_km=radius_km)
    days.attrs["source"] = str(path) if path is not None else TYPHOON_TRACKS_FILE
    return days
