"""Write the SYNTHETIC daily "observed" reference for bias-adjusting the sample projections.

No real daily gridded observations of Shanghai for 1995-2014 ship with the project, so the
sample's reference is drawn by the same weather generator as the sample projections
(``resilience.sample.weather.generate_year``, model ``SYNTH-ESM-A``, historical) with its
own random stream and deliberate differences, so that the adjustment has work to do:

* Tmax 1.0 degC cooler (``REFERENCE_TASMAX_OFFSET_DEGC``),
* Tmin 0.5 degC cooler (``REFERENCE_TASMIN_OFFSET_DEGC``),
* rain 10 % wetter on every day (``REFERENCE_RAIN_FACTOR``).

These are invented, not measured model biases. The file is CF-1.8, noleap, canonical units
(degC, mm/day), stored to 0.01 degC and 0.01 mm so that 20 years of the 14 x 14 grid stay
under 5 MB, and carries ``synthetic = "yes"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from resilience.sample.projections import TIME_UNITS
from resilience.sample.weather import LAT, LON, generate_year
from resilience.storage.atomic import atomic_path

__all__ = [
    "REFERENCE_FILE_NAME",
    "REFERENCE_RAIN_FACTOR",
    "REFERENCE_SEED",
    "REFERENCE_TASMAX_OFFSET_DEGC",
    "REFERENCE_TASMIN_OFFSET_DEGC",
    "reference_fields",
    "write_sample_reference",
]

REFERENCE_FILE_NAME = "reference_day_SYNTH-OBS_1995-2014.nc"
#: Seed of the reference's weather; differs from the projections' default (20260101).
REFERENCE_SEED = 19952014
REFERENCE_TASMAX_OFFSET_DEGC = -1.0
REFERENCE_TASMIN_OFFSET_DEGC = -0.5
REFERENCE_RAIN_FACTOR = 1.10
_N_DAYS = 365
_ATTRS = {
    "tasmax": ("air_temperature", "Daily Maximum Near-Surface Air Temperature", "degC"),
    "tasmin": ("air_temperature", "Daily Minimum Near-Surface Air Temperature", "degC"),
    "pr": ("precipitation_flux", "Precipitation", "mm/day"),
}


def reference_fields(year: int, *, seed: int = REFERENCE_SEED) -> dict[str, np.ndarray]:
    """Return one year of the synthetic reference, dims (time, lat, lon), degC and mm/day.

    Parameters
    ----------
    year : int
        Calendar year (365 days, noleap).
    seed : int
        Seed of the weather stream.

    Returns
    -------
    dict of str to numpy.ndarray
        ``tasmax``, ``tasmin`` (degC) and ``pr`` (mm/day), float64, on ``LAT`` x ``LON``.
    """
    raw = generate_year("SYNTH-ESM-A", "historical", year, seed=seed)
    return {
        "tasmax": raw["tasmax"] - 273.15 + REFERENCE_TASMAX_OFFSET_DEGC,
        "tasmin": raw["tasmin"] - 273.15 + REFERENCE_TASMIN_OFFSET_DEGC,
        "pr": raw["pr"].astype("f8") * 86400.0 * REFERENCE_RAIN_FACTOR,
    }


def write_sample_reference(
    out_dir: Path, *, years: tuple[int, int] = (1995, 2014), seed: int = REFERENCE_SEED
) -> Path:
    """Write the synthetic reference as one CF NetCDF file and return its path.

    Parameters
    ----------
    out_dir : Path
        Directory; created if missing. The file is replaced atomically.
    years : tuple of int
        First and last year (default the AR6 baseline 1995-2014).
    seed : int
        Seed of the weather stream; the same seed gives identical values.

    Returns
    -------
    Path
        ``out_dir / REFERENCE_FILE_NAME`` (about 4 MB for 20 years).
    """
    import netCDF4

    all_years = list(range(years[0], years[1] + 1))
    path = Path(out_dir) / REFERENCE_FILE_NAME
    with atomic_path(path) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.setncatts(_global_attrs(years))
        _write_coords(nc, all_years)
        variables: dict[str, Any] = {name: _create(nc, name) for name in _ATTRS}
        for i, year in enumerate(all_years):
            fields = reference_fields(year, seed=seed)
            for name, var in variables.items():
                var[i * _N_DAYS : (i + 1) * _N_DAYS] = fields[name]
    return path


def _create(nc: object, name: str) -> object:
    """Create one packed variable: int16 with scale 0.01 (degC or mm/day)."""
    standard_name, long_name, units = _ATTRS[name]
    dtype = "i2" if name != "pr" else "i4"  # rain up to a few hundred mm needs > int16 / 100
    var = nc.createVariable(  # type: ignore[attr-defined]
        name,
        dtype,
        ("time", "lat", "lon"),
        zlib=True,
        complevel=4,
        shuffle=True,
        chunksizes=(_N_DAYS, LAT.size, LON.size),
        fill_value=np.iinfo(dtype).min,
    )
    var.setncatts(
        {
            "standard_name": standard_name,
            "long_name": f"{long_name} (SYNTHETIC reference)",
            "units": units,
            "scale_factor": np.float32(0.01),
            "add_offset": np.float32(0.0),
        }
    )
    return var


def _write_coords(nc: object, years: list[int]) -> None:
    """Create the noleap time axis (mid-day, with bounds), lat and lon."""
    size = len(years) * _N_DAYS
    for dim, n in (("time", size), ("lat", LAT.size), ("lon", LON.size), ("bnds", 2)):
        nc.createDimension(dim, n)  # type: ignore[attr-defined]
    start = (years[0] - 1850) * _N_DAYS + np.arange(size, dtype="f8")
    time = nc.createVariable("time", "f8", ("time",))  # type: ignore[attr-defined]
    time.setncatts(
        {
            "standard_name": "time",
            "units": TIME_UNITS,
            "calendar": "noleap",
            "axis": "T",
            "bounds": "time_bnds",
        }
    )
    time[:] = start + 0.5
    bounds = nc.createVariable("time_bnds", "f8", ("time", "bnds"))  # type: ignore[attr-defined]
    bounds[:] = np.stack([start, start + 1], 1)
    for name, values, std, units, axis in (
        ("lat", LAT, "latitude", "degrees_north", "Y"),
        ("lon", LON, "longitude", "degrees_east", "X"),
    ):
        coord = nc.createVariable(name, "f8", (name,))  # type: ignore[attr-defined]
        coord.setncatts({"standard_name": std, "units": units, "axis": axis})
        coord[:] = values


def _global_attrs(years: tuple[int, int]) -> dict[str, str]:
    """Return the global attributes, with the SYNTHETIC flag."""
    return {
        "Conventions": "CF-1.8",
        "title": f"SYNTHETIC daily reference for Shanghai, {years[0]}-{years[1]}",
        "institution": "resilience project (synthetic sample; not observations)",
        "source": "resilience synthetic weather generator (resilience.sample.reference)",
        "comment": (
            "SYNTHETIC stand-in for an observational product, for testing bias adjustment: "
            f"the sample generator with seed-independent weather, Tmax "
            f"{REFERENCE_TASMAX_OFFSET_DEGC:+.1f} degC, Tmin {REFERENCE_TASMIN_OFFSET_DEGC:+.1f}"
            f" degC and rain x {REFERENCE_RAIN_FACTOR:.2f} relative to SYNTH-ESM-A. "
            "See docs/bias_adjustment.md."
        ),
        "synthetic": "yes",
        "frequency": "day",
    }
