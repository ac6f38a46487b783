"""Factory fixture for small, CF-correct CMIP6-style daily NetCDF files written in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

#: A coarse global grid as CMIP6 models write it: 0-360 longitudes, descending latitudes.
GLOBAL_LAT = np.arange(75.0, -76.0, -30.0)  # 6 rows, 75 N to 75 S
GLOBAL_LON = np.arange(15.0, 360.0, 30.0)  # 12 columns, 15 E to 345 E
TIME_UNITS = "days since 1850-01-01"


def write_cmip6_file(
    path: Path,
    *,
    variable: str = "tasmax",
    model: str = "MODEL-A",
    experiment: str = "historical",
    member: str = "r1i1p1f1",
    start: tuple[int, int, int] = (1995, 1, 1),
    days: int = 365,
    step_days: float = 1.0,
    offset_k: float = 0.0,
    units: str = "K",
    calendar: str = "noleap",
    global_attrs: bool = True,
    variable_name: str | None = None,
    lat: np.ndarray = GLOBAL_LAT,
    lon: np.ndarray = GLOBAL_LON,
    seed: int = 0,
) -> Path:
    """Write one daily file of a temperature ``variable`` (tasmax, tasmin, tas); return its path.

    Values are ``300 K + offset_k`` plus a latitude gradient (-0.3 K per degree away from the
    equator) plus seeded noise (sd 4 K), or the same in ``units`` for ``degC``; ``time`` is
    mid-day in ``calendar`` from ``start``. ``global_attrs`` adds the CMIP6 identifiers
    (source_id, experiment_id, variant_label, frequency, grid_label).
    """
    import cftime
    import netCDF4

    path.parent.mkdir(parents=True, exist_ok=True)
    origin = cftime.date2num(cftime.datetime(*start, calendar=calendar), TIME_UNITS, calendar)
    rng = np.random.default_rng(seed)
    base = 300.0 + offset_k - 0.3 * np.abs(lat)[:, None] + np.zeros(lon.size)
    values = base[None] + 4.0 * rng.standard_normal((days, lat.size, lon.size))
    if units == "degC":
        values = values - 273.15
    with netCDF4.Dataset(path, "w") as nc:
        if global_attrs:
            nc.setncatts(
                {
                    "Conventions": "CF-1.7 CMIP-6.2",
                    "source_id": model,
                    "experiment_id": experiment,
                    "variant_label": member,
                    "frequency": "day",
                    "grid_label": "gn",
                    "variable_id": variable,
                }
            )
        for name, size in (("time", days), ("lat", lat.size), ("lon", lon.size)):
            nc.createDimension(name, size)
        time = nc.createVariable("time", "f8", ("time",))
        time.setncatts({"units": TIME_UNITS, "calendar": calendar, "axis": "T"})
        time.standard_name = "time"
        time[:] = origin + step_days * np.arange(days) + 0.5
        for name, axis, std, axis_units in (
            ("lat", lat, "latitude", "degrees_north"),
            ("lon", lon, "longitude", "degrees_east"),
        ):
            coord = nc.createVariable(name, "f8", (name,))
            coord.setncatts({"standard_name": std, "units": axis_units})
            coord[:] = axis
        var = nc.createVariable(variable_name or variable, "f4", ("time", "lat", "lon"), zlib=True)
        method = {"tasmax": "maximum", "tasmin": "minimum", "tas": "mean"}[variable]
        var.setncatts(
            {"standard_name": "air_temperature", "cell_methods": f"time: {method}", "units": units}
        )
        var[:] = values.astype("f4")
    return path


@pytest.fixture
def cmip6_file() -> Callable[..., Path]:
    """Return :func:`write_cmip6_file` (seeded, CF-correct, noleap, global by default)."""
    return write_cmip6_file
