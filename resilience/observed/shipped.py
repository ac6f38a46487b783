"""Names and paths of the real observations shipped in ``resilience/data/observed``.

What each file is, where it came from and its licence: ``resilience/data/observed/PROVENANCE.md``.
The product reads these copies only, never the folder they were collected from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resilience.geodata.geography import data_path

__all__ = [
    "ERA5LAND_FILE",
    "GHCN_STATIONS",
    "HOURLY_FILE",
    "OBSERVED_EVENTS_FILE",
    "PSMSL_STATIONS",
    "GhcnStation",
    "annual_maxima_file_name",
    "observed_dir",
    "observed_file",
]

ERA5LAND_FILE = "era5land/era5land_shanghai_daily_2010_2025.nc"
HOURLY_FILE = "hourly/ShanghaiPM20100101_20151231.csv"
#: Observed warning events (``resilience warn verify --observed``) from the hourly record.
OBSERVED_EVENTS_FILE = "observed_events_shanghai_2013.csv"


@dataclass(frozen=True)
class GhcnStation:
    """A GHCN-Daily station whose monthly summaries ship with the product."""

    ghcn_id: str
    wmo_id: str
    slug: str
    name: str

    @property
    def monthly_file(self) -> str:
        """Return the monthly-summary file, relative to ``resilience/data/observed``."""
        return f"ghcn_monthly/{self.ghcn_id}-monthly-history.csv"


#: The four stations collected (names as given by the collection, see PROVENANCE.md here).
GHCN_STATIONS: dict[str, GhcnStation] = {
    s.wmo_id: s
    for s in (
        GhcnStation("CHM00058362", "58362", "baoshan", "Shanghai Baoshan"),
        GhcnStation("CHM00058367", "58367", "longhua", "Shanghai Longhua/Xujiahui"),
        GhcnStation("CHM00058457", "58457", "hangzhou", "Hangzhou"),
        GhcnStation("CHM00058238", "58238", "nanjing", "Nanjing"),
    )
}
#: PSMSL station id -> (name, RLR monthly file relative to ``resilience/data/observed``).
PSMSL_STATIONS: dict[int, tuple[str, str]] = {
    979: ("Lusi", "psmsl/979.rlrdata"),
    934: ("Kanmen", "psmsl/934.rlrdata"),
}


def annual_maxima_file_name(station: GhcnStation) -> str:
    """Return ``ghcn_<wmo id>_<slug>_annual_maxima.csv``, the derived file of a station."""
    return f"ghcn_{station.wmo_id}_{station.slug}_annual_maxima.csv"


def observed_file(name: str) -> Path:
    """Return the path of a shipped observed file (``name`` relative to the folder).

    The path is not checked for existence; the readers raise if it is missing.
    """
    return data_path("observed", *name.split("/"))


def observed_dir() -> Path:
    """Return the folder ``resilience/data/observed``."""
    return data_path("observed")
