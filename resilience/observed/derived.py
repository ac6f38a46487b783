"""Write the files derived from the shipped observations (annual maxima, observed events).

They ship in ``resilience/data/observed`` so that ``resilience fit`` and ``resilience warn
verify`` can be shown on real data; they are regenerated, never edited by hand, by
``resilience/data/observed/make_observed_files.py`` (which reads the warning thresholds from
the shipped rule set), and ``tests/resilience/observed/test_derived.py`` fails if a shipped
file differs from what these functions write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from resilience.observed.events import EventCriterion, observed_events, write_observed_events
from resilience.observed.ghcn import annual_maxima, annual_maxima_csv, read_ghcn_monthly
from resilience.observed.hourly import read_hourly_station
from resilience.observed.shipped import (
    GHCN_STATIONS,
    HOURLY_FILE,
    OBSERVED_EVENTS_FILE,
    annual_maxima_file_name,
    observed_dir,
    observed_file,
)

__all__ = [
    "EVENT_AREA",
    "EVENT_PERIODS",
    "write_annual_maxima_files",
    "write_event_file",
]

#: The events converted: the 2013-09-13 storm (61.6 mm in one hour, the record's largest)
#: and the summer 2013 heat wave (51 days >= 35 degC at the station), Beijing time [start, end).
EVENT_PERIODS: dict[str, tuple[str, str]] = {
    "rainstorm": ("2013-09-12T00:00", "2013-09-15T00:00"),
    "high_temperature": ("2013-07-01T00:00", "2013-09-01T00:00"),
}
#: GB/T 2260 code the unnamed station is taken to represent: 310104 Xuhui, the urban centre
#: where the data set's US-consulate PM2.5 post stands. An ASSUMPTION (the source does not
#: name the weather station); pass another ``area`` to change it.
EVENT_AREA = "310104"


def write_annual_maxima_files(out_dir: Path | None = None) -> list[Path]:
    """Write ``ghcn_<id>_<slug>_annual_maxima.csv`` for every shipped GHCN station.

    Parameters
    ----------
    out_dir : Path, optional
        Folder to write into (default: ``resilience/data/observed``).

    Returns
    -------
    list of Path
        The files, in station order.
    """
    folder = Path(out_dir) if out_dir is not None else observed_dir()
    written = []
    for station in GHCN_STATIONS.values():
        maxima = annual_maxima(read_ghcn_monthly(observed_file(station.monthly_file)))
        written.append(annual_maxima_csv(maxima, folder / annual_maxima_file_name(station)))
    return written


def write_event_file(
    criteria: Mapping[str, Sequence[EventCriterion]],
    out_dir: Path | None = None,
    *,
    area: str = EVENT_AREA,
    source: str = "",
) -> Path:
    """Convert the hourly record into the observed-event CSV of ``warn verify``.

    Parameters
    ----------
    criteria : mapping of str to sequence of EventCriterion
        Per hazard of :data:`EVENT_PERIODS`, its criteria (from the rule set).
    out_dir : Path, optional
        Folder to write into (default: ``resilience/data/observed``).
    area : str
        GB/T 2260 code of every event (default :data:`EVENT_AREA`, an assumption).
    source : str
        Where the thresholds came from, written in the header comments.

    Returns
    -------
    Path
        ``<out_dir>/observed_events_shanghai_2013.csv``.
    """
    hourly = read_hourly_station()
    frames, notes = [], []
    for hazard, (start, end) in EVENT_PERIODS.items():
        events = observed_events(
            hourly, criteria[hazard], hazard=hazard, areas=[area], start=start, end=end
        )
        frames.append(events)
        undecided = events.attrs["undecided_hours"]
        notes.append(
            f"{hazard} {start}..{end}: {len(events)} rows; {len(undecided)} hours undecided "
            "(missing values; their level is a lower bound)"
        )
    folder = Path(out_dir) if out_dir is not None else observed_dir()
    comments = [
        f"Observed warning events from the hourly Shanghai record ({HOURLY_FILE}), UCI data "
        "set 394 (Liang et al. 2016), CC BY 4.0.",
        "Written by resilience/data/observed/make_observed_files.py; do not edit by hand.",
        f"Thresholds: {source or 'as given by the caller'}.",
        f"Area {area}: ASSUMPTION, the source does not name the weather station.",
        *notes,
    ]
    return write_observed_events(
        pd.concat(frames, ignore_index=True), folder / OBSERVED_EVENTS_FILE, comments=comments
    )
